//! The Linux kernel keyring, as a small trait: read, write with a timeout, forget.
//!
//! It holds the fast copies of session records in front of the keychain (see
//! [`crate::cache`]). The kernel answers in microseconds where a Secret Service read
//! costs a D-Bus connection and a key exchange.
//!
//! Invariants:
//! - every key written carries a kernel timeout: none outlives the session it copies;
//! - every failure is a miss (no keyutils, blocked by seccomp, quota, evicted): the
//!   keychain behind stays the store of record;
//! - [`MemoryKernel`] is the in-memory twin for unit tests; [`NoKernel`] always misses.

use std::time::Duration;

use zeroize::Zeroizing;

/// Keys in the user's kernel keyring, by description.
pub(crate) trait KernelKeyring {
    fn read(&self, description: &str) -> Option<Zeroizing<Vec<u8>>>;
    /// Best effort; a failure leaves no key behind.
    fn write(&self, description: &str, value: &[u8], ttl: Duration);
    fn forget(&self, description: &str);
}

/// No kernel keyring (turned off, or not Linux).
pub(crate) struct NoKernel;

impl KernelKeyring for NoKernel {
    fn read(&self, _: &str) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
    fn write(&self, _: &str, _: &[u8], _: Duration) {}
    fn forget(&self, _: &str) {}
}

/// The user keyring (`@u`).
#[cfg(target_os = "linux")]
pub(crate) struct UserKeyring {
    ring: linux_keyutils::KeyRing,
}

#[cfg(target_os = "linux")]
impl UserKeyring {
    pub(crate) fn open() -> Option<UserKeyring> {
        use linux_keyutils::{KeyRing, KeyRingIdentifier};
        KeyRing::from_special_id(KeyRingIdentifier::User, false)
            .ok()
            .map(|ring| UserKeyring { ring })
    }
}

#[cfg(target_os = "linux")]
impl KernelKeyring for UserKeyring {
    fn read(&self, description: &str) -> Option<Zeroizing<Vec<u8>>> {
        let key = self.ring.search(description).ok()?;
        key.read_to_vec().ok().map(Zeroizing::new)
    }

    fn write(&self, description: &str, value: &[u8], ttl: Duration) {
        use linux_keyutils::{KeyPermissionsBuilder, Permission};
        if ttl.as_secs() == 0 {
            return self.forget(description);
        }
        let Ok(key) = self.ring.add_key(description, value) else {
            return;
        };
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        if key.set_perms(perms).is_err() || key.set_timeout(ttl.as_secs() as usize).is_err() {
            let _ = key.invalidate();
        }
    }

    fn forget(&self, description: &str) {
        if let Ok(key) = self.ring.search(description) {
            let _ = key.invalidate();
        }
    }
}

/// The in-memory twin: keys with their expiry, on no clock but their own ttl.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct MemoryKernel {
    pub keys: std::cell::RefCell<std::collections::BTreeMap<String, (Vec<u8>, Duration)>>,
}

#[cfg(test)]
impl KernelKeyring for MemoryKernel {
    fn read(&self, description: &str) -> Option<Zeroizing<Vec<u8>>> {
        self.keys
            .borrow()
            .get(description)
            .map(|(v, _)| Zeroizing::new(v.clone()))
    }
    fn write(&self, description: &str, value: &[u8], ttl: Duration) {
        if ttl.is_zero() {
            return self.forget(description);
        }
        self.keys
            .borrow_mut()
            .insert(description.to_string(), (value.to_vec(), ttl));
    }
    fn forget(&self, description: &str) {
        self.keys.borrow_mut().remove(description);
    }
}
