//! The read side of the cache: where an environment's copies live, and a fresh record
//! read from the kernel keyring without the keychain. It is all the front door uses,
//! and it holds the kernel keyring as [`KernelRead`], so nothing it links writes a key.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::{KeySource, Target};
use crate::credentials::SessionCredentials;
use crate::frame::single as unframe_single;
use crate::kernel::{KernelRead, NoKernel};
use crate::names::{item, short};
use crate::record;
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
pub struct Placement {
    pub choice: String,
    pub tier: Tier,
    /// A digest of the backend choice and the D-Bus address.
    pub reached: String,
    /// The same, as builds up to 0.1 wrote it into a copy's name.
    pub legacy: String,
}

impl Placement {
    pub fn of(env: &dyn Environment) -> Placement {
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
pub struct Copies {
    pub kernel: Arc<dyn KernelRead>,
    pub tier: Tier,
    pub reached: String,
}

impl Copies {
    pub fn open(env: &dyn Environment) -> Copies {
        let place = Placement::of(env);
        Copies {
            kernel: open_reader(),
            tier: place.tier,
            reached: place.reached,
        }
    }

    /// The front door's only question: a fresh record of `target`'s credentials in the
    /// kernel keyring? Never connects to the keychain.
    pub fn fresh(&self, target: &Target, now: DateTime<Utc>) -> Option<SessionCredentials> {
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
pub fn remembered(kernel: &dyn KernelRead, reached: &str) -> Option<String> {
    let bytes = kernel.read(&format!("{REMEMBERED_PREFIX}{reached}"))?;
    let id = std::str::from_utf8(&bytes).ok()?;
    is_instance_id(id).then(|| id.to_string())
}

/// `aws-mfa-proc:RUNTIME:IDENTITY:SESSION:ITEM`, each a short digest.
pub fn copy_name(runtime: &str, instance: &str, target: &Target) -> String {
    let mfa = target.mfa();
    let [source, session] = identity_parts(instance, &mfa.keys, &mfa.mfa_serial);
    let item = short(&item(target));
    format!("{COPY_PREFIX}{runtime}:{source}:{session}:{item}")
}

/// `target`'s record in the kernel keyring, as `tier` keeps it, fresh or not.
pub fn read_copy(
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

/// At least `margin` ([`Target::margin`]) left at `now`.
pub fn fresh_at(
    session: &SessionCredentials,
    now: DateTime<Utc>,
    margin: std::time::Duration,
) -> bool {
    session
        .remaining(now)
        .to_std()
        .is_ok_and(|left| left >= margin)
}

/// A cached session made from other keys than the profile's current ones is not ours.
pub fn belongs_to(session: &SessionCredentials, keys: &KeySource) -> bool {
    match keys {
        KeySource::SharedProfile { keys, .. } => session.source_access_key_id == keys.access_key_id,
        KeySource::Keychain(_) | KeySource::SignIn { .. } => true,
    }
}

/// The digests that name the long-term identity and the MFA session of a copy: both
/// within one keychain (the same key name in another keychain is another identity).
pub fn identity_parts(instance: &str, source: &KeySource, mfa_serial: &str) -> [String; 2] {
    let source = format!("{instance}\0{}", source.id());
    [short(&source), short(&format!("{source}\0{mfa_serial}"))]
}

/// The prefix of every kernel key this program makes.
pub const COPY_PREFIX: &str = "aws-mfa-proc:";
/// The keyutils backend's items: the keychain itself, in the kernel keyring.
pub const STORE_PREFIX: &str = "aws-mfa-proc:store:";
/// The kernel key remembering the instance ID of the keychain reached one way.
pub const REMEMBERED_PREFIX: &str = "aws-mfa-proc:keychain:";

pub fn is_instance_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Where the front door finds records without the keychain.
#[derive(Clone)]
pub enum Tier {
    /// Copies in front of the keychain, made from this runtime directory (a digest).
    Copies(String),
    /// The keyutils backend's own items.
    Store,
    Off,
}
