//! The read side of the cache: where an environment's copies live, and a fresh record
//! read from the kernel keyring without the keychain. It is all the front door uses,
//! and it holds the kernel keyring as [`KernelRead`], so nothing it links writes a key.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::names::{item, short};
use super::{
    COPY_PREFIX, REMEMBERED_PREFIX, Tier, belongs_to, fresh_at, identity_parts, is_instance_id,
};
use crate::config::Target;
use crate::credentials::SessionCredentials;
use crate::kernel::{KernelRead, NoKernel};
use crate::store::kernel_store::PREFIX as STORE_PREFIX;
use crate::store::{record, unframe_single};
use crate::system::Environment;

/// The kernel keyring, to read only: the front door links no write.
#[cfg(target_os = "linux")]
fn open_reader() -> Arc<dyn KernelRead> {
    match crate::kernel::UserKeyring::open() {
        Some(ring) => Arc::new(ring),
        None => Arc::new(NoKernel),
    }
}

#[cfg(not(target_os = "linux"))]
fn open_reader() -> Arc<dyn KernelRead> {
    Arc::new(NoKernel)
}

/// Where copies live for an environment, and how its keychain is reached.
pub(super) struct Placement {
    pub(super) choice: String,
    pub(super) tier: Tier,
    /// A digest of the backend choice and the D-Bus address.
    pub(super) reached: String,
    /// The same, as builds up to 0.1 wrote it into a copy's name.
    pub(super) legacy: String,
}

impl Placement {
    pub(super) fn of(env: &dyn Environment) -> Placement {
        let choice = env
            .var("AWS_MFA_PROC_KEYCHAIN")
            .unwrap_or_else(|| "auto".into());
        let off = env
            .var("AWS_MFA_PROC_KERNEL_CACHE")
            .is_some_and(|v| v.eq_ignore_ascii_case("off"));
        let runtime = env.var("XDG_RUNTIME_DIR").unwrap_or_default();
        let tier = if choice == "keyutils" {
            Tier::Store
        } else if off {
            Tier::Off
        } else {
            Tier::Copies(short(&runtime))
        };
        // The address the bus is reached at, whatever form names it (zbus falls back to
        // $XDG_RUNTIME_DIR/bus; a `,guid=` only identifies the daemon's run).
        let bus = env
            .var("DBUS_SESSION_BUS_ADDRESS")
            .unwrap_or_else(|| format!("unix:path={runtime}/bus"));
        let bus = bus.split(",guid=").next().unwrap_or_default();
        Placement {
            reached: short(&format!("{choice}\0{bus}")),
            legacy: format!("{choice}\0{bus}"),
            choice,
            tier,
        }
    }
}

/// The read side of the cache, without the keychain: all the front door needs. It
/// holds the kernel keyring as [`KernelRead`], so nothing it links can write a key.
pub(crate) struct Copies {
    pub(super) kernel: Arc<dyn KernelRead>,
    pub(super) tier: Tier,
    pub(super) reached: String,
}

impl Copies {
    pub(crate) fn open(env: &dyn Environment) -> Copies {
        let place = Placement::of(env);
        Copies {
            kernel: open_reader(),
            tier: place.tier,
            reached: place.reached,
        }
    }

    /// The front door's only question: a fresh record of `target`'s credentials in the
    /// kernel keyring? Never connects to the keychain.
    pub(crate) fn fresh(&self, target: &Target, now: DateTime<Utc>) -> Option<SessionCredentials> {
        read_copy(
            &*self.kernel,
            &self.tier,
            || remembered(&*self.kernel, &self.reached),
            target,
        )
        .filter(|s| belongs_to(s, &target.mfa().keys) && fresh_at(s, now, target.margin()))
    }
}

/// The instance ID the kernel remembers for the keychain reached as `reached`.
pub(super) fn remembered(kernel: &dyn KernelRead, reached: &str) -> Option<String> {
    let bytes = kernel.read(&format!("{REMEMBERED_PREFIX}{reached}"))?;
    let id = std::str::from_utf8(&bytes).ok()?;
    is_instance_id(id).then(|| id.to_string())
}

/// `aws-mfa-proc:RUNTIME:IDENTITY:SESSION:ITEM`, each a short digest.
pub(super) fn copy_name(runtime: &str, instance: &str, target: &Target) -> String {
    let mfa = target.mfa();
    let [source, session] = identity_parts(instance, &mfa.keys, &mfa.mfa_serial);
    let item = short(&item(target));
    format!("{COPY_PREFIX}{runtime}:{source}:{session}:{item}")
}

/// `target`'s record in the kernel keyring, as `tier` keeps it, fresh or not.
pub(super) fn read_copy(
    kernel: &dyn KernelRead,
    tier: &Tier,
    instance: impl FnOnce() -> Option<String>,
    target: &Target,
) -> Option<SessionCredentials> {
    let bytes = match tier {
        Tier::Copies(namespace) => kernel.read(&copy_name(namespace, &instance()?, target))?,
        Tier::Store => {
            let head = kernel.read(&format!("{STORE_PREFIX}{}", item(target)))?;
            zeroize::Zeroizing::new(unframe_single(&head)?.to_vec())
        }
        Tier::Off => return None,
    };
    record::decode(&bytes).ok()
}
