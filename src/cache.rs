//! What is cached, when it is fresh, the fast kernel copy in front of the keychain, and
//! revocation. Item names: [`names`].
//!
//! The fast tier the front door reads is the kernel keyring: a copy of each session
//! and role record, named `aws-mfa-proc:RUNTIME:IDENTITY:SESSION:ITEM`, each a short
//! digest: the runtime directory of the environment that made it, the long-term
//! identity and the MFA session (both within one keychain), and the item. With the
//! keyutils backend, the keychain's own items instead.
//!
//! Which keychain: its instance ID, 128 random bits made on first use and kept in the
//! keychain itself (item `v1:keychain-id`), so one keychain reached at two D-Bus
//! addresses (or by two backend choices) is one keychain, and two keychains are two.
//! The front door never connects to a keychain, so the kernel remembers the ID for the
//! way the keychain is reached (the key `aws-mfa-proc:keychain:REACHED`, REACHED a
//! digest of `AWS_MFA_PROC_KEYCHAIN` and the D-Bus address); it is written with every
//! copy and lasts as long as the longest one can. No remembered ID: a miss.
//!
//! Invariants:
//! - credentials with less than [`REFRESH_MARGIN`] left are never fresh;
//! - a session made from other long-term keys than the profile's current ones is not
//!   the profile's ([`belongs_to`]);
//! - only session and role records are copied to the kernel keyring, never long-term
//!   keys; each copy expires with its session; a copy that does not decode to a
//!   well-formed record is a miss; copies are never made on top of the keyutils backend
//!   (it is the same store), and no instance ID is kept there;
//! - copies are named after the keychain's instance ID, never after how it was
//!   reached: copies made in front of one keychain are not served for another, whatever
//!   address reaches either (but see `docs/how-it-works.md`: an address that reaches
//!   another keychain than before serves the old one's copies until one is written);
//! - revocation reaches everything made from what is revoked: every role of a session,
//!   every session and role of long-term keys, in the keychain and as kernel copies
//!   made from any environment (runtime directory) at any address of this keychain;
//!   and any copy of a revoked item's name, whatever keychain digests it carries
//!   (copies named by builds up to 0.1, from the D-Bus address, are found so).

mod names;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};

use crate::config::{KeySource, MAX_DURATION, REFRESH_MARGIN, Target};
use crate::credentials::{LongTermKeys, SessionCredentials};
use crate::kernel::{KernelKeyring, NoKernel};
use crate::store::kernel_store::PREFIX as STORE_PREFIX;
use crate::store::record::Checked;
use crate::store::{Backend, Lookup, StoreError, Vault, record, unframe_single};
use crate::system::Environment;
use names::short;
pub(crate) use names::{item, items, keys_item, session_item};

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

/// The digests that name the long-term identity and the MFA session of a copy: both
/// within one keychain (the same key name in another keychain is another identity).
fn identity_parts(instance: &str, source: &KeySource, mfa_serial: &str) -> [String; 2] {
    let source = format!("{instance}\0{}", source.id());
    [short(&source), short(&format!("{source}\0{mfa_serial}"))]
}

const COPY_PREFIX: &str = "aws-mfa-proc:";
/// The keychain item holding the keychain's instance ID.
const INSTANCE_ITEM: &str = "v1:keychain-id";
/// The kernel key remembering the instance ID of the keychain reached one way.
const REMEMBERED_PREFIX: &str = "aws-mfa-proc:keychain:";

/// A keychain's instance ID: 32 lower-case hex digits.
#[derive(serde::Serialize, serde::Deserialize)]
struct Instance {
    #[serde(rename = "Id")]
    id: String,
}

impl Checked for Instance {
    fn check(&self) -> Result<(), &'static str> {
        is_instance_id(&self.id)
            .then_some(())
            .ok_or("an instance ID is 32 hex digits")
    }
}

fn is_instance_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

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
    /// How the keychain is reached (the backend choice and the D-Bus address), as a
    /// digest: the name the kernel remembers its instance ID under.
    reached: String,
    /// The keychain's instance ID, once read from it (or made); `None` if it cannot
    /// say, or is the keyutils backend.
    instance: OnceLock<Option<String>>,
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
            reached: short(&format!("{choice}\0{bus}")),
            vault: Vault::open(choice),
            kernel: open_kernel(),
            tier,
            instance: OnceLock::new(),
        }
    }

    /// An in-memory keychain with `kernel` as the kernel keyring.
    #[cfg(test)]
    pub(crate) fn memory(kernel: Box<dyn KernelKeyring>) -> Cache {
        Cache {
            vault: Vault::memory(),
            kernel,
            tier: Tier::Copies("test".into()),
            reached: "test".into(),
            instance: OnceLock::new(),
        }
    }

    /// `aws-mfa-proc:RUNTIME:IDENTITY:SESSION:ITEM`, each a short digest.
    fn copy_name(&self, runtime: &str, instance: &str, target: &Target) -> String {
        let mfa = target.mfa();
        let [source, session] = identity_parts(instance, &mfa.keys, &mfa.mfa_serial);
        let item = short(&item(target));
        format!("{COPY_PREFIX}{runtime}:{source}:{session}:{item}")
    }

    /// The keychain's instance ID, read from it (made on first use) and remembered in
    /// the kernel for the way it was reached. `None` if the keychain cannot say (then
    /// no copy is made) or is the keyutils backend.
    fn instance(&self) -> Option<&str> {
        self.instance
            .get_or_init(|| {
                if self.vault.backend().is_ok_and(|b| b == Backend::Keyutils) {
                    return None;
                }
                let id = match self.vault.get_record::<Instance>(INSTANCE_ITEM) {
                    Ok(Lookup::Found(found)) => found.id,
                    Ok(_) => self.new_instance()?,
                    Err(e) => {
                        crate::debug!("no keychain instance ID, so no kernel copy: {e}");
                        return None;
                    }
                };
                let remembered = format!("{REMEMBERED_PREFIX}{}", self.reached);
                if let Err(e) = self
                    .kernel
                    .write(&remembered, id.as_bytes(), Some(MAX_DURATION))
                {
                    crate::debug!("the kernel keyring does not remember the keychain: {e}");
                }
                Some(id)
            })
            .as_deref()
    }

    /// A new instance ID, stored; then whatever the keychain holds, should another
    /// process have stored its own meanwhile.
    fn new_instance(&self) -> Option<String> {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes).ok()?;
        let made = Instance {
            id: crate::runtime::hex(&bytes),
        };
        if let Err(e) = self.vault.put_record(INSTANCE_ITEM, &made, None) {
            crate::debug!("no keychain instance ID, so no kernel copy: {e}");
            return None;
        }
        match self.vault.get_record::<Instance>(INSTANCE_ITEM) {
            Ok(Lookup::Found(found)) => Some(found.id),
            _ => Some(made.id),
        }
    }

    /// The instance ID copies are read under: the keychain's, if this process has
    /// already read it, else the one the kernel remembers for this way of reaching it.
    fn reading_instance(&self) -> Option<String> {
        if let Some(Some(id)) = self.instance.get() {
            return Some(id.clone());
        }
        let bytes = self
            .kernel
            .read(&format!("{REMEMBERED_PREFIX}{}", self.reached))?;
        let id = std::str::from_utf8(&bytes).ok()?;
        is_instance_id(id).then(|| id.to_string())
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
            Tier::Copies(namespace) => {
                let instance = self.reading_instance()?;
                self.kernel
                    .read(&self.copy_name(namespace, &instance, target))?
            }
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
            None => match self.stored(target, now)? {
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

    /// The keychain's record of `target`, under its name or, moved to it on the way,
    /// under the name an older build gave it.
    fn stored(
        &self,
        target: &Target,
        now: DateTime<Utc>,
    ) -> Result<Lookup<SessionCredentials>, StoreError> {
        let [name, older @ ..] = &items(target)[..] else {
            unreachable!("an item has a name")
        };
        let found = self.vault.get_record::<SessionCredentials>(name)?;
        for old in older {
            if !matches!(found, Lookup::Missing) {
                break;
            }
            if let Lookup::Found(s) = self.vault.get_record::<SessionCredentials>(old)? {
                let ttl = (s.expiration - now).to_std().ok();
                if self.vault.put_record(name, &s, ttl).is_ok() {
                    let _ = self.vault.delete(old);
                }
                return Ok(Lookup::Found(s));
            }
        }
        Ok(found)
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
        let Ok(ttl) = (credentials.expiration - now).to_std() else {
            return;
        };
        // None also for the keyutils backend, chosen by `auto` for want of a Secret
        // Service: it is the kernel keyring already.
        let Some(instance) = self.instance() else {
            return;
        };
        let name = self.copy_name(namespace, instance, target);
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
        let mut named = named.to_vec();
        named.push(session_item(source, mfa_serial));
        let items = self.items(&[format!("v1:role:{id}:{mfa_serial}:")], &named)?;
        let ours = self
            .instance()
            .map(|instance| identity_parts(instance, source, mfa_serial));
        self.forget_copies(&items, |parts| {
            ours.as_ref()
                .is_some_and(|[s, m]| parts[0] == s && parts[1] == m)
        });
        self.delete(items)
    }

    /// Forgets every session and role made from the long-term keys `source`.
    pub(crate) fn forget_keys(
        &self,
        source: &KeySource,
        named: &[String],
    ) -> Result<usize, StoreError> {
        let id = source.id();
        let prefixes = [format!("v1:session:{id}:"), format!("v1:role:{id}:")];
        let items = self.items(&prefixes, named)?;
        let ours = self
            .instance()
            .map(|instance| identity_parts(instance, source, "")[0].clone());
        self.forget_copies(&items, |parts| ours.as_deref() == Some(parts[0]));
        self.delete(items)
    }

    /// Removes the kernel copies, made from any runtime directory, whose [identity,
    /// session, item] digests match, or whose item is one of `items`.
    fn forget_copies(&self, items: &BTreeSet<String>, matches: impl Fn(&[&str]) -> bool) {
        let items: BTreeSet<String> = items.iter().map(|i| short(i)).collect();
        for description in self.kernel.descriptions(COPY_PREFIX) {
            if description.starts_with(STORE_PREFIX) {
                continue;
            }
            let parts: Vec<&str> = description.split(':').skip(2).collect();
            if parts.len() == 3 && (matches(&parts) || items.contains(parts[2])) {
                self.kernel.remove(&description);
            }
        }
    }

    /// The items `named`, and those the keychain lists under `prefixes` if it can.
    fn items(&self, prefixes: &[String], named: &[String]) -> Result<BTreeSet<String>, StoreError> {
        let mut items: BTreeSet<String> = named.iter().cloned().collect();
        for prefix in prefixes {
            if let Some(listed) = self.vault.names(prefix)? {
                items.extend(listed);
            }
        }
        Ok(items)
    }

    /// Deletes `items`; returns how many there were.
    fn delete(&self, items: BTreeSet<String>) -> Result<usize, StoreError> {
        let mut forgotten = 0;
        for item in items {
            if self.vault.delete(&item)? {
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }

    /// Why nothing more fits in the kernel keyring, if its quota is full, and whether
    /// that stops caching altogether (the keyutils backend) or only the fast copies.
    pub(crate) fn quota_full(&self) -> Option<(bool, String)> {
        let keyutils = matches!(self.tier, Tier::Store)
            || self.vault.backend().is_ok_and(|b| b == Backend::Keyutils);
        if matches!(self.tier, Tier::Off) && !keyutils {
            return None;
        }
        let full = self.kernel.quota()?.full()?;
        Some(if keyutils {
            (
                true,
                format!(
                    "the kernel keyring's quota is full, so no session can be cached and every call asks for a code: {full}"
                ),
            )
        } else {
            (
                false,
                format!(
                    "the kernel keyring's quota is full, so cache hits ask the keychain (~15 ms instead of ~1 ms): {full}"
                ),
            )
        })
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

    /// The copies in the kernel (not the remembered instance IDs).
    fn copies(kernel: &Shared) -> Vec<String> {
        let mut all = kernel.descriptions(COPY_PREFIX);
        all.retain(|d| !d.starts_with(REMEMBERED_PREFIX));
        all
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
        assert_eq!(copies(&kernel).len(), 6);
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

    /// Two caches in front of one keychain, reached two ways (two D-Bus addresses), in
    /// one namespace, and a front door at the first address that cannot reach any
    /// keychain at all.
    fn one_keychain_two_addresses() -> (Cache, Cache, Cache, Shared) {
        let (a, b, kernel) = two_namespaces();
        let (mut a, mut b) = (a, b);
        a.tier = Tier::Copies("same".into());
        b.tier = Tier::Copies("same".into());
        a.reached = "bus-a".into();
        b.reached = "bus-b".into();
        let mut front = Cache::memory(Box::new(kernel.clone()));
        front.vault = Vault::open("no-such-keychain".into());
        front.reached = "bus-a".into();
        front.tier = Tier::Copies("same".into());
        (a, b, front, kernel)
    }

    #[test]
    fn one_keychain_reached_at_two_addresses_shares_its_copies_and_revokes_them_from_either() {
        let (a, b, front, kernel) = one_keychain_two_addresses();
        let now = Utc::now();
        let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
        let admin = role(&alice, "arn:aws:iam::2:role/Admin");
        for t in [&alice, &admin] {
            a.store(t, &credentials(now), now).unwrap();
        }
        assert!(
            front.fresh_copy(&admin, now).is_some(),
            "served without a keychain"
        );
        assert!(b.cached(&admin, now).unwrap().is_some());
        assert_eq!(
            copies(&kernel).len(),
            2,
            "the other address made no copies of its own"
        );

        let Target::Session(s) = &alice else {
            unreachable!()
        };
        assert_eq!(b.forget_session(&s.keys, &s.mfa_serial, &[]).unwrap(), 2);
        assert!(copies(&kernel).is_empty(), "{:?}", copies(&kernel));
        assert!(front.fresh_copy(&alice, now).is_none());
        assert!(front.fresh_copy(&admin, now).is_none());
    }

    #[test]
    fn copies_named_by_older_builds_after_the_d_bus_address_are_revoked_too() {
        let (a, _, _, kernel) = one_keychain_two_addresses();
        let now = Utc::now();
        let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
        let admin = role(&alice, "arn:aws:iam::2:role/Admin");
        a.store(&alice, &credentials(now), now).unwrap();
        // As builds up to 0.1 named them: digests of the backend choice and bus address.
        let old = |t: &Target| {
            let [source, session] = identity_parts(
                "auto\0unix:path=/run/user/1000/bus",
                &t.mfa().keys,
                &t.mfa().mfa_serial,
            );
            format!(
                "{COPY_PREFIX}{}:{source}:{session}:{}",
                short("/run/user/1000"),
                short(&item(t))
            )
        };
        for t in [&alice, &admin] {
            kernel
                .write(&old(t), &record::encode(&credentials(now)), None)
                .unwrap();
        }
        a.forget_session(
            &alice.mfa().keys,
            "arn:aws:iam::1:mfa/alice",
            &[item(&admin)],
        )
        .unwrap();
        assert!(copies(&kernel).is_empty(), "{:?}", copies(&kernel));
    }

    #[test]
    fn a_role_item_under_the_name_an_older_build_gave_it_is_read_and_moved() {
        let cache = Cache::memory(Box::new(Shared::default()));
        let now = Utc::now();
        let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
        let Target::Role(mut tagged) = role(&alice, "arn:aws:iam::2:role/Admin") else {
            unreachable!()
        };
        tagged.external_id = Some("Ext-1".into());
        let tagged = Target::Role(tagged);
        let [new, old] = &items(&tagged)[..] else {
            panic!("{:?}", items(&tagged))
        };
        cache
            .vault
            .put_record(old, &credentials(now), None)
            .unwrap();
        assert!(cache.cached(&tagged, now).unwrap().is_some());
        assert!(matches!(
            cache.vault.get_record::<SessionCredentials>(new).unwrap(),
            Lookup::Found(_)
        ));
        assert!(matches!(
            cache.vault.get_record::<SessionCredentials>(old).unwrap(),
            Lookup::Missing
        ));
    }

    #[test]
    fn a_full_quota_is_reported_and_stops_caching_only_with_the_keyutils_backend() {
        let full = crate::kernel::Quota {
            keys: (20, 200),
            bytes: (19_990, 20_000),
        };
        let kernel = MemoryKernel {
            quota: Some(full),
            ..Default::default()
        };
        let mut cache = Cache::memory(Box::new(kernel));
        let (blocks, why) = cache.quota_full().unwrap();
        assert!(!blocks && why.contains("kernel.keys.maxbytes"), "{why}");
        cache.tier = Tier::Store;
        assert!(cache.quota_full().unwrap().0);
        cache.tier = Tier::Off;
        assert_eq!(
            cache.quota_full(),
            None,
            "copies off, and a keychain that is not the kernel"
        );
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
