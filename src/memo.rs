//! A fast copy of cached sessions in the Linux kernel keyring, in front of the keychain.
//!
//! A Secret Service read costs a D-Bus connection, a Diffie-Hellman session and a
//! search (~8 ms); the AWS CLI pays that on every command. The kernel keyring answers
//! in microseconds. So every session or role record read from, or written to, the
//! keychain is also put in the user's kernel keyring (`@u`) with a kernel timeout at
//! its expiry, and read from there first.
//!
//! Invariants:
//! - only short-lived session and role records go here, never long-term keys;
//! - the keychain stays the store of record: a miss here, for any reason (no keyutils,
//!   blocked by seccomp, expired, evicted, reboot), falls through to it;
//! - the kernel removes each copy at the session's expiry; `logout` removes it at once;
//! - readable by the user's own processes only, as an unlocked keychain is.
//!   `AWS_MFA_PROC_KERNEL_CACHE=off` turns the tier off.

use std::time::Duration;

use zeroize::Zeroizing;

#[cfg(target_os = "linux")]
pub struct Memo {
    ring: Option<linux_keyutils::KeyRing>,
    namespace: String,
}

#[cfg(target_os = "linux")]
impl Memo {
    /// `keychain` names the keychain this tier stands in front of (the backend choice and
    /// its D-Bus address): copies made for one keychain are never served for another.
    pub fn open(keychain: &str) -> Memo {
        use linux_keyutils::{KeyRing, KeyRingIdentifier};
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(keychain.as_bytes());
        Memo {
            ring: KeyRing::from_special_id(KeyRingIdentifier::User, false).ok(),
            namespace: digest[..6].iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    pub fn off() -> Memo {
        Memo {
            ring: None,
            namespace: String::new(),
        }
    }

    pub fn get(&self, name: &str) -> Option<Zeroizing<Vec<u8>>> {
        let key = self.ring.as_ref()?.search(&self.description(name)).ok()?;
        key.read_to_vec().ok().map(Zeroizing::new)
    }

    pub fn put(&self, name: &str, value: &[u8], ttl: Duration) {
        use linux_keyutils::{KeyPermissionsBuilder, Permission};
        let Some(ring) = &self.ring else { return };
        if ttl.as_secs() == 0 {
            return self.forget(name);
        }
        let Ok(key) = ring.add_key(&self.description(name), value) else {
            return;
        };
        // @u is not "possessed" by every process of the user (e.g. under a new session
        // keyring), so the user, not just the possessor, needs to find and read it.
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        if key.set_perms(perms).is_err() || key.set_timeout(ttl.as_secs() as usize).is_err() {
            let _ = key.invalidate();
        }
    }

    pub fn forget(&self, name: &str) {
        if let Some(key) = self
            .ring
            .as_ref()
            .and_then(|r| r.search(&self.description(name)).ok())
        {
            let _ = key.invalidate();
        }
    }

    fn description(&self, name: &str) -> String {
        format!("aws-mfa-proc:{}:{name}", self.namespace)
    }
}

/// Elsewhere the keychain is already fast, or has no such tier: a stand-in that misses.
#[cfg(not(target_os = "linux"))]
pub struct Memo;

#[cfg(not(target_os = "linux"))]
impl Memo {
    pub fn open(_keychain: &str) -> Memo {
        Memo
    }
    pub fn off() -> Memo {
        Memo
    }
    pub fn get(&self, _name: &str) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
    pub fn put(&self, _name: &str, _value: &[u8], _ttl: Duration) {}
    pub fn forget(&self, _name: &str) {}
}
