//! What is cached, under which name, when it is fresh, the fast kernel copy in front of
//! the keychain, and revocation.
//!
//! Item names (service `aws-mfa-proc`, see `docs/how-it-works.md`):
//! - `v1:keys:NAME`: long-term keys stored with `add NAME`;
//! - `v1:session:SOURCE:MFA_SERIAL`: the MFA session of one long-term identity and MFA
//!   device, shared by every profile that chains from it;
//! - `v1:role:SOURCE:MFA_SERIAL:ROLE_ARN`: a role assumed with that session.
//!
//! The fast tier the front door reads is the kernel keyring: a copy of each session
//! and role record, named `aws-mfa-proc:RUNTIME:IDENTITY:SESSION:ITEM`, each a short
//! digest: the runtime directory of the environment that made it, the long-term
//! identity and the MFA session (both within one keychain: backend choice and D-Bus
//! address), and the item. With the keyutils backend, the keychain's own items instead.
//!
//! Invariants:
//! - credentials with less than [`REFRESH_MARGIN`] left are never fresh;
//! - a session made from other long-term keys than the profile's current ones is not
//!   the profile's ([`belongs_to`]);
//! - only session and role records are copied to the kernel keyring, never long-term
//!   keys; each copy expires with its session; a copy that does not decode to a
//!   well-formed record is a miss; copies are never made on top of the keyutils backend
//!   (it is the same store);
//! - copies made in front of one keychain are never served for another;
//! - revocation reaches everything made from what is revoked: every role of a session,
//!   every session and role of long-term keys, in the keychain and as kernel copies
//!   made from any environment (runtime directory) in front of this keychain.

use chrono::{DateTime, Utc};

use crate::config::{KeySource, REFRESH_MARGIN, Target};
use crate::credentials::{LongTermKeys, SessionCredentials};
use crate::kernel::{KernelKeyring, NoKernel};
use crate::runtime::hex_digest;
use crate::store::kernel_store::PREFIX as STORE_PREFIX;
use crate::store::{Backend, Lookup, StoreError, Vault, record, unframe_single};
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
        Target::Role(r) => {
            let base = format!(
                "v1:role:{}:{}:{}",
                r.mfa.keys.id(),
                r.mfa.mfa_serial,
                r.role_arn
            );
            // Other settings make other credentials: their digest makes another item.
            let options = format!(
                "{:?}{:?}{:?}{:?}{:?}{}",
                r.external_id,
                r.session_name,
                r.source_identity,
                r.tags,
                r.transitive_tag_keys,
                r.duration.as_secs()
            );
            if options
                == format!(
                    "NoneNoneNone[][]{}",
                    crate::config::MAX_ROLE_DURATION.as_secs()
                )
            {
                base
            } else {
                format!("{base}:settings-{}", short(&options))
            }
        }
    }
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

fn short(text: &str) -> String {
    hex_digest(text.as_bytes())[..12].to_string()
}

/// The digests that name the long-term identity and the MFA session of a copy: both
/// within one keychain (the same key name in another keychain is another identity).
fn identity_parts(keychain: &str, source: &KeySource, mfa_serial: &str) -> [String; 2] {
    let source = format!("{keychain}\0{}", source.id());
    [short(&source), short(&format!("{source}\0{mfa_serial}"))]
}

const COPY_PREFIX: &str = "aws-mfa-proc:";

/// Where the front door finds records without the keychain.
enum Tier {
    /// Copies in front of the keychain, made from this runtime directory (a digest).
    Copies(String),
    /// The keyutils backend's own items.
    Store,
    Off,
}

/// The keychain, with the kernel copies in front of it.
pub(crate) struct Cache {
    pub vault: Vault,
    /// The user's kernel keyring: the tier, and where revocation looks for copies.
    kernel: Box<dyn KernelKeyring>,
    tier: Tier,
    /// Which keychain this is: the backend choice and the D-Bus address.
    keychain: String,
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
        let bus = bus.split(",guid=").next().unwrap_or_default().to_string();
        Cache {
            keychain: format!("{choice}\0{bus}"),
            vault: Vault::open(choice),
            kernel: open_kernel(),
            tier,
        }
    }

    /// An in-memory keychain with `kernel` as the kernel keyring.
    #[cfg(test)]
    pub(crate) fn memory(kernel: Box<dyn KernelKeyring>) -> Cache {
        Cache {
            vault: Vault::memory(),
            kernel,
            tier: Tier::Copies("test".into()),
            keychain: "test".into(),
        }
    }

    /// `aws-mfa-proc:RUNTIME:IDENTITY:SESSION:ITEM`, each a short digest.
    fn copy_name(&self, runtime: &str, target: &Target) -> String {
        let mfa = target.mfa();
        let [source, session] = identity_parts(&self.keychain, &mfa.keys, &mfa.mfa_serial);
        let item = short(&item(target));
        format!("{COPY_PREFIX}{runtime}:{source}:{session}:{item}")
    }

    /// The front door's only question: a fresh record of `target`'s credentials in the
    /// kernel keyring? Never connects to the keychain.
    pub(crate) fn fresh_copy(
        &self,
        target: &Target,
        now: DateTime<Utc>,
    ) -> Option<SessionCredentials> {
        self.copy(target)
            .filter(|s| belongs_to(s, &target.mfa().keys) && fresh_at(s, now))
    }

    fn copy(&self, target: &Target) -> Option<SessionCredentials> {
        let bytes = match &self.tier {
            Tier::Copies(namespace) => self.kernel.read(&self.copy_name(namespace, target))?,
            Tier::Store => {
                let head = self
                    .kernel
                    .read(&format!("{STORE_PREFIX}{}", item(target)))?;
                zeroize::Zeroizing::new(unframe_single(&head)?.to_vec())
            }
            Tier::Off => return None,
        };
        record::decode(&bytes).ok()
    }

    /// `target`'s cached credentials, fresh or not: the kernel copy if there is one,
    /// else the keychain's (which is then copied).
    pub(crate) fn cached(
        &self,
        target: &Target,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionCredentials>, StoreError> {
        let found = match self.copy(target) {
            Some(copy) => Some(copy),
            None => match self.vault.get_record::<SessionCredentials>(&item(target))? {
                Lookup::Found(s) => {
                    self.put_copy(target, &s, now);
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
        self.put_copy(target, credentials, now);
        let ttl = (credentials.expiration - now).to_std().ok();
        self.vault.put_record(&item(target), credentials, ttl)
    }

    fn put_copy(&self, target: &Target, credentials: &SessionCredentials, now: DateTime<Utc>) {
        let Tier::Copies(namespace) = &self.tier else {
            return;
        };
        // The keyutils backend, chosen by `auto` for want of a Secret Service, is the
        // kernel keyring already.
        if self.vault.backend().is_ok_and(|b| b == Backend::Keyutils) {
            return;
        }
        let Ok(ttl) = (credentials.expiration - now).to_std() else {
            return;
        };
        let name = self.copy_name(namespace, target);
        if let Err(e) = self
            .kernel
            .write(&name, &record::encode(credentials), Some(ttl))
        {
            crate::debug!("no kernel copy of `{}`: {e}", target.profile());
        }
    }

    /// Forgets the MFA session of `source` and `mfa_serial`, every role assumed with it,
    /// and the items `named` (found from the config, for keychains that cannot list);
    /// returns how many items the keychain had.
    pub(crate) fn forget_session(
        &self,
        source: &KeySource,
        mfa_serial: &str,
        named: &[String],
    ) -> Result<usize, StoreError> {
        let id = source.id();
        let [source_part, session_part] = identity_parts(&self.keychain, source, mfa_serial);
        self.forget_copies(|parts| parts[0] == source_part && parts[1] == session_part);
        let mut named = named.to_vec();
        named.push(session_item(source, mfa_serial));
        self.forget_items(&[format!("v1:role:{id}:{mfa_serial}:")], &named)
    }

    /// Forgets every session and role made from the long-term keys `source`.
    pub(crate) fn forget_keys(
        &self,
        source: &KeySource,
        named: &[String],
    ) -> Result<usize, StoreError> {
        let id = source.id();
        let [source_part, _] = identity_parts(&self.keychain, source, "");
        self.forget_copies(|parts| parts[0] == source_part);
        self.forget_items(
            &[format!("v1:session:{id}:"), format!("v1:role:{id}:")],
            named,
        )
    }

    /// Removes the kernel copies, made from any runtime directory, whose [identity,
    /// session, item] digests match.
    fn forget_copies(&self, matches: impl Fn(&[&str]) -> bool) {
        for description in self.kernel.descriptions(COPY_PREFIX) {
            if description.starts_with(STORE_PREFIX) {
                continue;
            }
            let parts: Vec<&str> = description.split(':').skip(2).collect();
            if parts.len() == 3 && matches(&parts) {
                self.kernel.remove(&description);
            }
        }
    }

    fn forget_items(&self, prefixes: &[String], named: &[String]) -> Result<usize, StoreError> {
        let mut items: std::collections::BTreeSet<String> = named.iter().cloned().collect();
        for prefix in prefixes {
            if let Some(listed) = self.vault.names(prefix)? {
                items.extend(listed);
            }
        }
        let mut forgotten = 0;
        for item in items {
            if self.vault.delete(&item)? {
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }

    /// Whether cache hits will be fast: what serves them, or why the keychain must.
    pub(crate) fn probe_kernel(&self) -> Result<String, String> {
        let slow = "every cache hit asks the keychain (a Secret Service read costs ~15 ms; a kernel copy ~1 ms)";
        match &self.tier {
            Tier::Store => Ok("cache hits are read from the kernel keyring (the keyutils keychain) by the front door".into()),
            Tier::Off => Err(format!("AWS_MFA_PROC_KERNEL_CACHE=off: {slow}")),
            Tier::Copies(_) => {
                let probe = format!("{COPY_PREFIX}probe:{}", std::process::id());
                let written = self
                    .kernel
                    .write(&probe, b"probe", Some(std::time::Duration::from_secs(10)));
                let read = self.kernel.read(&probe).is_some_and(|v| v.as_slice() == b"probe");
                self.kernel.remove(&probe);
                match (written, read) {
                    (Ok(()), true) => Ok("cache hits are served from kernel-keyring copies by the front door".into()),
                    (Err(e), _) => Err(format!("{e}: {slow}")),
                    (Ok(()), false) => Err(format!("the kernel keyring does not give back what was put there: {slow}")),
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_DURATION, RoleSettings, Settings};
    use crate::kernel::MemoryKernel;
    use crate::secret::Secret;
    use std::sync::Arc;

    /// The twin kernel, shared between caches as the real one is between processes.
    #[derive(Clone, Default)]
    struct Shared(Arc<MemoryKernel>);
    impl KernelKeyring for Shared {
        fn read(&self, d: &str) -> Option<zeroize::Zeroizing<Vec<u8>>> {
            self.0.read(d)
        }
        fn write(
            &self,
            d: &str,
            v: &[u8],
            t: Option<std::time::Duration>,
        ) -> Result<(), crate::kernel::KernelError> {
            self.0.write(d, v, t)
        }
        fn remove(&self, d: &str) -> bool {
            self.0.remove(d)
        }
        fn descriptions(&self, p: &str) -> Vec<String> {
            self.0.descriptions(p)
        }
    }

    fn session(profile: &str, keys: &str, serial: &str) -> Target {
        Target::Session(Settings {
            profile: profile.into(),
            mfa_serial: serial.into(),
            region: "eu-west-1".into(),
            profile_region: None,
            duration: DEFAULT_DURATION,
            keys: KeySource::Keychain(keys.into()),
            endpoint: None,
            iam_endpoint: None,
            codes: Default::default(),
        })
    }

    fn role(of: &Target, arn: &str) -> Target {
        Target::Role(RoleSettings {
            profile: "production".into(),
            role_arn: arn.into(),
            duration: std::time::Duration::from_secs(3600),
            region: "eu-west-1".into(),
            profile_region: None,
            endpoint: None,
            external_id: None,
            session_name: None,
            source_identity: None,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            mfa: of.mfa().clone(),
        })
    }

    fn credentials(now: DateTime<Utc>) -> SessionCredentials {
        SessionCredentials {
            access_key_id: "ASIAEXAMPLE00001".into(),
            secret_access_key: Secret::new("secret".into()),
            session_token: Secret::new("token".into()),
            expiration: now + chrono::Duration::hours(1),
            source_access_key_id: "AKIAEXAMPLE00001".into(),
        }
    }

    /// Two caches in front of one keychain and one kernel, in different namespaces
    /// (as two environments of one user are).
    fn two_namespaces() -> (Cache, Cache, Shared) {
        let kernel = Shared::default();
        let mut a = Cache::memory(Box::new(kernel.clone()));
        let mut b = Cache::memory(Box::new(kernel.clone()));
        a.tier = Tier::Copies("aaaa".into());
        b.tier = Tier::Copies("bbbb".into());
        // One keychain: b reads what a wrote.
        (a.vault, b.vault) = Vault::memory_pair();
        (a, b, kernel)
    }

    #[test]
    fn forgetting_a_session_reaches_its_roles_and_every_namespace_and_nothing_else() {
        let (a, b, kernel) = two_namespaces();
        let now = Utc::now();
        let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
        let alice2 = session("mfa2", "mfa", "arn:aws:iam::1:mfa/alice2");
        let admin = role(&alice, "arn:aws:iam::2:role/Admin");
        for t in [&alice, &alice2, &admin] {
            a.store(t, &credentials(now), now).unwrap();
            b.store(t, &credentials(now), now).unwrap();
        }
        assert_eq!(kernel.descriptions(COPY_PREFIX).len(), 6);
        let Target::Session(s) = &alice else {
            unreachable!()
        };
        assert_eq!(a.forget_session(&s.keys, &s.mfa_serial, &[]).unwrap(), 2);
        for cache in [&a, &b] {
            assert!(cache.fresh_copy(&alice, now).is_none());
            assert!(cache.fresh_copy(&admin, now).is_none());
            assert!(
                cache.fresh_copy(&alice2, now).is_some(),
                "another device's session"
            );
        }
        assert!(b.cached(&admin, now).unwrap().is_none());
    }

    #[test]
    fn forgetting_long_term_keys_reaches_every_session_and_role_made_from_them() {
        let (a, b, _) = two_namespaces();
        let now = Utc::now();
        let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
        let other = session("other", "other", "arn:aws:iam::1:mfa/alice");
        let admin = role(&alice, "arn:aws:iam::2:role/Admin");
        for t in [&alice, &other, &admin] {
            b.store(t, &credentials(now), now).unwrap();
        }
        a.forget_keys(&KeySource::Keychain("mfa".into()), &[])
            .unwrap();
        assert!(b.cached(&alice, now).unwrap().is_none());
        assert!(b.cached(&admin, now).unwrap().is_none());
        assert!(b.cached(&other, now).unwrap().is_some());
    }

    #[test]
    fn with_the_keyutils_backend_there_are_no_copies_and_the_front_door_reads_the_store() {
        let kernel = Shared::default();
        let mut cache = Cache::memory(Box::new(kernel.clone()));
        cache.tier = Tier::Store;
        cache.vault = Vault::with_store(Box::new(crate::store::kernel_store::KernelStore::new(
            Box::new(kernel.clone()),
        )));
        let now = Utc::now();
        let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
        cache.store(&alice, &credentials(now), now).unwrap();
        let keys = kernel.0.keys.lock().unwrap().clone();
        assert_eq!(keys.len(), 1, "one item, no copy: {:?}", keys.keys());
        let (description, (_, ttl)) = keys.iter().next().unwrap();
        assert!(description.starts_with(STORE_PREFIX));
        assert!(ttl.is_some(), "a session item expires");
        assert!(cache.fresh_copy(&alice, now).is_some());
    }
}
