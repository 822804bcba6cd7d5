//! What is cached, under which name, when it is fresh, and the fast kernel copy in
//! front of the keychain.
//!
//! Item names (service `aws-mfa-proc`, see `docs/how-it-works.md`):
//! - `v1:keys:NAME`: long-term keys stored with `add NAME`;
//! - `v1:session:SOURCE:MFA_SERIAL`: the MFA session of one long-term identity and MFA
//!   device, shared by every profile that chains from it;
//! - `v1:role:SOURCE:MFA_SERIAL:ROLE_ARN`: a role assumed with that session.
//!
//! Invariants:
//! - credentials with less than [`REFRESH_MARGIN`] left are never fresh;
//! - a session made from other long-term keys than the profile's current ones is not
//!   the profile's ([`belongs_to`]);
//! - only session and role records are copied to the kernel keyring, never long-term
//!   keys; each copy expires with its session; a copy that does not decode to a
//!   well-formed record is a miss;
//! - copies made in front of one keychain are never served for another (the
//!   namespace in their description).

use chrono::{DateTime, Utc};

use crate::config::{KeySource, REFRESH_MARGIN, Target};
use crate::credentials::{LongTermKeys, SessionCredentials};
use crate::kernel::{KernelKeyring, NoKernel};
use crate::runtime::hex_digest;
use crate::store::{Lookup, StoreError, Vault, record};
use crate::system::Environment;

/// Item name of the long-term keys stored with `aws-mfa-proc add NAME`.
pub(crate) fn keys_item(name: &str) -> String {
    format!("v1:keys:{name}")
}

/// Item name of the MFA session of one long-term identity and MFA device.
pub(crate) fn session_item(source: &KeySource, mfa_serial: &str) -> String {
    format!("v1:session:{}:{mfa_serial}", source.id())
}

/// The keychain item that caches what `target` asks for.
pub(crate) fn item(target: &Target) -> String {
    match target {
        Target::Session(s) => session_item(&s.keys, &s.mfa_serial),
        Target::Role(r) => format!(
            "v1:role:{}:{}:{}",
            r.mfa.keys.id(),
            r.mfa.mfa_serial,
            r.role_arn
        ),
    }
}

/// The prefixes of every item made from the MFA session `session_item`: the session
/// itself, and the roles assumed with it.
pub(crate) fn made_from_session(source: &KeySource, mfa_serial: &str) -> Vec<String> {
    vec![
        session_item(source, mfa_serial),
        format!("v1:role:{}:{mfa_serial}:", source.id()),
    ]
}

/// The prefixes of every item made from the long-term keys `source`.
pub(crate) fn made_from_keys(source: &KeySource) -> Vec<String> {
    vec![
        format!("v1:session:{}:", source.id()),
        format!("v1:role:{}:", source.id()),
    ]
}

/// At least [`REFRESH_MARGIN`] left at `now`.
pub(crate) fn fresh_at(session: &SessionCredentials, now: DateTime<Utc>) -> bool {
    session
        .remaining(now)
        .to_std()
        .is_ok_and(|left| left >= REFRESH_MARGIN)
}

/// A cached session made from other keys than the profile's current ones is not ours.
fn belongs_to(session: &SessionCredentials, keys: &KeySource) -> bool {
    match keys {
        KeySource::SharedProfile { keys, .. } => session.source_access_key_id == keys.access_key_id,
        KeySource::Keychain(_) => true,
    }
}

/// The keychain, with the kernel copies in front of it.
pub(crate) struct Cache {
    pub vault: Vault,
    kernel: Box<dyn KernelKeyring>,
    /// Which keychain the copies stand in front of.
    namespace: String,
}

impl Cache {
    /// The keychain `AWS_MFA_PROC_KEYCHAIN` names (default: the platform's), with the
    /// kernel copies in front unless `AWS_MFA_PROC_KERNEL_CACHE=off`. Connects nothing.
    pub(crate) fn open(env: &dyn Environment) -> Cache {
        let choice = env
            .var("AWS_MFA_PROC_KEYCHAIN")
            .unwrap_or_else(|| "auto".into());
        let off = env
            .var("AWS_MFA_PROC_KERNEL_CACHE")
            .is_some_and(|v| v.eq_ignore_ascii_case("off"));
        let kernel: Box<dyn KernelKeyring> = if off {
            Box::new(NoKernel)
        } else {
            open_kernel()
        };
        let bus = env.var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default();
        let runtime = env.var("XDG_RUNTIME_DIR").unwrap_or_default();
        let namespace =
            hex_digest(format!("{choice}\0{bus}\0{runtime}").as_bytes())[..12].to_string();
        Cache {
            vault: Vault::open(choice),
            kernel,
            namespace,
        }
    }

    /// An in-memory keychain with `kernel` in front.
    #[cfg(test)]
    pub(crate) fn memory(kernel: Box<dyn KernelKeyring>) -> Cache {
        Cache {
            vault: Vault::memory(),
            kernel,
            namespace: "test".into(),
        }
    }

    fn description(&self, item: &str) -> String {
        format!("aws-mfa-proc:{}:{item}", self.namespace)
    }

    /// The front door's only question: a fresh kernel copy of `target`'s credentials?
    /// Never connects to the keychain.
    pub(crate) fn fresh_copy(
        &self,
        target: &Target,
        now: DateTime<Utc>,
    ) -> Option<SessionCredentials> {
        self.copy(&item(target))
            .filter(|s| belongs_to(s, &target.mfa().keys) && fresh_at(s, now))
    }

    fn copy(&self, item: &str) -> Option<SessionCredentials> {
        record::decode(&self.kernel.read(&self.description(item))?).ok()
    }

    /// `target`'s cached credentials, fresh or not: the kernel copy if there is one,
    /// else the keychain's (which is then copied).
    pub(crate) fn cached(
        &self,
        target: &Target,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionCredentials>, StoreError> {
        let item = item(target);
        let found = match self.copy(&item) {
            Some(copy) => Some(copy),
            None => match self.vault.get_record::<SessionCredentials>(&item)? {
                Lookup::Found(s) => {
                    self.put_copy(&item, &s, now);
                    Some(s)
                }
                Lookup::Missing => None,
                Lookup::Unreadable(damage) => {
                    crate::debug!(
                        "cached item of `{}` is unusable: {damage}",
                        target.profile()
                    );
                    None
                }
            },
        };
        Ok(found.filter(|s| belongs_to(s, &target.mfa().keys)))
    }

    /// Caches `target`'s new credentials, in the kernel first: if the keychain then
    /// fails, the next call still finds them and asks for no code.
    pub(crate) fn store(
        &self,
        target: &Target,
        credentials: &SessionCredentials,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let item = item(target);
        self.put_copy(&item, credentials, now);
        self.vault.put_record(&item, credentials)
    }

    fn put_copy(&self, item: &str, credentials: &SessionCredentials, now: DateTime<Utc>) {
        let ttl = (credentials.expiration - now).to_std().unwrap_or_default();
        self.kernel
            .write(&self.description(item), &record::encode(credentials), ttl);
    }

    /// Forgets the cached item `item`, its copy included; `true` if the keychain had it.
    pub(crate) fn forget(&self, item: &str) -> Result<bool, StoreError> {
        self.kernel.forget(&self.description(item));
        self.vault.delete(item)
    }

    /// Forgets every cached item whose name starts with one of `prefixes`, and the items
    /// `named` (found from the config, for keychains that cannot list their items).
    /// Returns how many the keychain had.
    pub(crate) fn forget_all(
        &self,
        prefixes: &[String],
        named: &[String],
    ) -> Result<usize, StoreError> {
        let mut items: std::collections::BTreeSet<String> = named.iter().cloned().collect();
        for prefix in prefixes {
            if let Some(listed) = self.vault.names(prefix)? {
                items.extend(listed);
            }
        }
        let mut forgotten = 0;
        for item in items {
            if self.forget(&item)? {
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }

    /// The long-term keys stored under `name`.
    pub(crate) fn keys(&self, name: &str) -> Result<Lookup<LongTermKeys>, StoreError> {
        self.vault.get_record(&keys_item(name))
    }
}

#[cfg(target_os = "linux")]
fn open_kernel() -> Box<dyn KernelKeyring> {
    match crate::kernel::UserKeyring::open() {
        Some(ring) => Box::new(ring),
        None => Box::new(NoKernel),
    }
}

#[cfg(not(target_os = "linux"))]
fn open_kernel() -> Box<dyn KernelKeyring> {
    Box::new(NoKernel)
}
