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
//! - credentials with less than their target's margin left are never fresh
//!   ([`REFRESH_MARGIN`]; [`SIGNIN_MARGIN`](crate::config::SIGNIN_MARGIN) for Sign-In
//!   sessions, which last 15 minutes);
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
//!   made from any environment (runtime directory) at any address of this keychain,
//!   and the copies builds up to 0.1 made at this address (named after it); never a
//!   copy in front of another keychain, though it holds an item of the same name.

mod kept;

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};

#[cfg(doc)]
use crate::config::REFRESH_MARGIN;
use crate::config::{KeySource, MAX_DURATION, Target};
use crate::credentials::Checked;
use crate::credentials::{LongTermKeys, SessionCredentials};
use crate::kernel::{KernelKeyring, NoKernel};
use crate::signin::stored::SignInToken;
use crate::store::kernel_store::PREFIX as STORE_PREFIX;
use crate::store::{Backend, Lookup, StoreError, Vault, record};
use crate::system::Environment;
#[cfg(test)]
use aws_mfa_proc_front::copies::Copies;
pub(crate) use aws_mfa_proc_front::copies::fresh_at;
use aws_mfa_proc_front::copies::{
    COPY_PREFIX, Placement, REMEMBERED_PREFIX, Tier, belongs_to, copy_name, identity_parts,
    is_instance_id, read_copy, remembered,
};
#[cfg(test)]
use aws_mfa_proc_front::names::short;
pub(crate) use aws_mfa_proc_front::names::{item, items, keys_item, session_item, signin_item};

/// The keychain item holding the keychain's instance ID.
const INSTANCE_ITEM: &str = "v1:keychain-id";
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

/// The keychain, with the kernel copies in front of it.
pub(crate) struct Cache {
    vault: Vault,
    /// The user's kernel keyring: the tier, and where revocation looks for copies.
    kernel: Arc<dyn KernelKeyring>,
    tier: Tier,
    /// How the keychain is reached (the backend choice and the D-Bus address), as a
    /// digest: the name the kernel remembers its instance ID under.
    reached: String,
    /// The keychain's instance ID, once read from it (or made); `None` if it cannot
    /// say, or is the keyutils backend.
    instance: OnceLock<Option<String>>,
    /// The note of which keychain holds each profile's long-term keys ([`kept`]).
    note: Option<std::path::PathBuf>,
    /// How builds up to 0.1 named the keychain in a copy's name (the backend choice and
    /// the D-Bus address): revocation finds their copies made at this address.
    legacy: String,
}

impl Cache {
    /// The keychain `AWS_MFA_PROC_KEYCHAIN` names (default: the platform's), with the
    /// kernel copies in front unless `AWS_MFA_PROC_KERNEL_CACHE=off`. Connects nothing.
    pub(crate) fn open(env: &dyn Environment) -> Cache {
        let place = Placement::of(env);
        Cache {
            reached: place.reached,
            legacy: place.legacy,
            vault: Vault::open(place.choice),
            kernel: open_kernel(),
            tier: place.tier,
            instance: OnceLock::new(),
            note: kept::path(env),
        }
    }

    /// The read side alone, over the same kernel keyring (the front door's, in tests).
    #[cfg(test)]
    pub(crate) fn copies(&self) -> Copies {
        Copies {
            kernel: self.kernel.clone(),
            tier: self.tier.clone(),
            reached: self.reached.clone(),
        }
    }

    /// An in-memory keychain with `kernel` as the kernel keyring.
    #[cfg(test)]
    pub(crate) fn memory(kernel: Box<dyn KernelKeyring>) -> Cache {
        Cache {
            vault: Vault::memory(),
            kernel: Arc::from(kernel),
            tier: Tier::Copies("test".into()),
            reached: "test".into(),
            instance: OnceLock::new(),
            note: None,
            legacy: "test".into(),
        }
    }

    /// Puts what is not a record where `target`'s credentials are cached.
    #[cfg(test)]
    pub(crate) fn damage(&self, target: &Target) {
        self.vault.put_raw(&item(target), b"garbage");
    }

    /// The keychain's instance ID, read from it (made on first use) and remembered in
    /// the kernel for the way it was reached. `None` if the keychain cannot say (then
    /// no copy is made) or is the keyutils backend.
    fn instance(&self) -> Option<&str> {
        self.instance
            .get_or_init(|| {
                if self.vault.backend().is_ok_and(Backend::is_kernel) {
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
        remembered(&*self.kernel, &self.reached)
    }

    fn copy(&self, target: &Target) -> Option<SessionCredentials> {
        read_copy(
            &*self.kernel,
            &self.tier,
            || self.reading_instance(),
            target,
        )
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
        let name = copy_name(namespace, instance, target);
        if let Err(e) = self
            .kernel
            .write(&name, &record::encode(credentials), Some(ttl))
        {
            crate::debug!("no kernel copy of `{}`: {e}", target.profile());
        }
    }

    /// Forgets the MFA session of `source` and `mfa_serial`, every role assumed with it,
    /// and what `targets` cache (found from the config, for keychains that cannot
    /// list); returns how many items the keychain had.
    pub(crate) fn forget_session(
        &self,
        source: &KeySource,
        mfa_serial: &str,
        targets: &[Target],
    ) -> Result<usize, StoreError> {
        let id = source.id();
        let mut named = vec![session_item(source, mfa_serial)];
        named.extend(targets.iter().flat_map(items));
        let items = self.items(&[format!("v1:role:{id}:{mfa_serial}:")], &named)?;
        let ours: Vec<[String; 2]> = self
            .instance()
            .into_iter()
            .chain([self.legacy.as_str()])
            .map(|keychain| identity_parts(keychain, source, mfa_serial))
            .collect();
        self.forget_copies(|parts| ours.iter().any(|[s, m]| parts[0] == s && parts[1] == m));
        self.delete(items)
    }

    /// Forgets every session and role made from the long-term keys `source`, and what
    /// `targets` cache (found from the config, for keychains that cannot list).
    pub(crate) fn forget_keys(
        &self,
        source: &KeySource,
        targets: &[Target],
    ) -> Result<usize, StoreError> {
        let id = source.id();
        let prefixes = [format!("v1:session:{id}:"), format!("v1:role:{id}:")];
        let named: Vec<String> = targets.iter().flat_map(items).collect();
        let items = self.items(&prefixes, &named)?;
        let ours: Vec<String> = self
            .instance()
            .into_iter()
            .chain([self.legacy.as_str()])
            .map(|keychain| identity_parts(keychain, source, "")[0].clone())
            .collect();
        self.forget_copies(|parts| ours.iter().any(|s| parts[0] == s));
        self.delete(items)
    }

    /// Removes the kernel copies, made from any runtime directory, whose [identity,
    /// session, item] digests `match`.
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
        let keyutils =
            matches!(self.tier, Tier::Store) || self.vault.backend().is_ok_and(Backend::is_kernel);
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
        let slow = "every cache hit asks the keychain (a Secret Service read costs ~15 ms; a copy in the kernel keyring ~1 ms)";
        match &self.tier {
            Tier::Store => Ok("cache hits are read from the kernel keyring (the keyutils keychain) by the small aws-mfa-proc binary, without the SDK".into()),
            Tier::Off => Err(format!("AWS_MFA_PROC_KERNEL_CACHE=off: {slow}")),
            Tier::Copies(_) => {
                let probe = format!("{COPY_PREFIX}probe:{}", std::process::id());
                let written = self
                    .kernel
                    .write(&probe, b"probe", Some(std::time::Duration::from_secs(10)));
                let read = self.kernel.read(&probe).is_some_and(|v| v.as_slice() == b"probe");
                self.kernel.remove(&probe);
                match (written, read) {
                    (Ok(()), true) => Ok("cache hits are served from copies in the kernel keyring by the small aws-mfa-proc binary, without the SDK".into()),
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

    /// Stores `keys` as profile `name`'s long-term keys, and notes which keychain holds
    /// them.
    pub(crate) fn store_keys(&self, name: &str, keys: &LongTermKeys) -> Result<(), StoreError> {
        self.vault.put_record(&keys_item(name), keys, None)?;
        if let (Some(note), Ok(backend)) = (&self.note, self.vault.backend()) {
            kept::note(note, name, Some(backend.name()));
        }
        Ok(())
    }

    /// Deletes profile `name`'s long-term keys (not what was made from them: see
    /// [`Cache::forget_keys`]); whether there were any.
    pub(crate) fn delete_keys(&self, name: &str) -> Result<bool, StoreError> {
        let existed = self.vault.delete(&keys_item(name))?;
        if let Some(note) = &self.note {
            kept::note(note, name, None);
        }
        Ok(existed)
    }

    /// Where profile `name`'s keys were stored, when that is another keychain than the
    /// one reached now: (that keychain, the note that says so).
    pub(crate) fn keys_elsewhere(&self, name: &str) -> Option<(String, String)> {
        let note = self.note.as_ref()?;
        let kept = kept::kept_in(note, name)?;
        let here = self.vault.backend().ok().map(|b| b.name());
        (here != Some(kept.as_str())).then(|| (kept, note.display().to_string()))
    }

    /// The sign-in (refresh token, key) of the sign-in profile `profile`.
    pub(crate) fn sign_in(&self, profile: &str) -> Result<Lookup<SignInToken>, StoreError> {
        self.vault.get_record(&signin_item(profile))
    }

    /// Stores `token` as the sign-in of `profile`; returns where it went (the item).
    pub(crate) fn store_sign_in(
        &self,
        profile: &str,
        token: &SignInToken,
    ) -> Result<String, StoreError> {
        let item = signin_item(profile);
        self.vault.put_record(&item, token, None)?;
        Ok(item)
    }

    /// Deletes the sign-in of `profile` (its sessions stay: see
    /// [`Cache::forget_session`]); whether there was one.
    pub(crate) fn forget_sign_in(&self, profile: &str) -> Result<bool, StoreError> {
        self.vault.delete(&signin_item(profile))
    }

    /// Whether the keychain can store items now, without asking anyone.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        self.vault.check()
    }

    /// The keychain's backend (connecting to it if need be).
    pub(crate) fn backend(&self) -> Result<Backend, StoreError> {
        self.vault.backend()
    }

    /// The keychain's backend, and why it was chosen when it was not the first choice.
    pub(crate) fn describe(&self) -> String {
        self.vault.describe()
    }
}

#[cfg(target_os = "linux")]
fn open_kernel() -> Arc<dyn KernelKeyring> {
    match crate::kernel::UserKeyring::open() {
        Some(ring) => Arc::new(ring),
        None => Arc::new(NoKernel),
    }
}

#[cfg(not(target_os = "linux"))]
fn open_kernel() -> Arc<dyn KernelKeyring> {
    Arc::new(NoKernel)
}

#[cfg(test)]
mod tests;
