//! The Linux kernel's user keyring (`@u`), as a small trait: the write side here, the
//! read side (all the front door links) in `aws_mfa_proc_front::kernel`.
//!
//! It holds the fast copies of session records in front of a keychain (see
//! [`crate::cache`]), and, with `AWS_MFA_PROC_KEYCHAIN=keyutils`, the items of the
//! keychain itself ([`crate::store`]). The kernel answers in microseconds where a
//! Secret Service read costs a D-Bus connection and a key exchange.
//!
//! Invariants:
//! - a key is made where this process possesses it (its process keyring), given its
//!   timeout, linked into `@u`, and only then given its final permissions: view, read
//!   and search for the possessor and the user, nothing else. So its timeout and
//!   permissions are set whether or not this process possesses `@u` (`keyctl session
//!   -`, systemd's `KeyringMode=private`), and no process can rewrite it afterwards:
//!   a new value is a new key, linked over the old one;
//! - every copy of a session carries a kernel timeout at the session's expiry;
//! - reads never fail loudly: see the read side;
//! - [`MemoryKernel`] is the in-memory twin for unit tests; [`NoKernel`] always misses.

use std::time::Duration;

#[cfg(target_os = "linux")]
pub(crate) use aws_mfa_proc_front::kernel::UserKeyring;
pub(crate) use aws_mfa_proc_front::kernel::{KernelError, KernelRead, NoKernel};
#[cfg(test)]
pub(crate) use aws_mfa_proc_front::kernel::{MemoryKernel, Quota};

/// Keys in the user's kernel keyring, by description, read and written.
pub(crate) trait KernelKeyring: KernelRead {
    /// Writes a new key over any old one; `ttl` `None` means no timeout.
    fn write(
        &self,
        description: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<(), KernelError>;
    /// Unlinks the key; `true` if there was one.
    fn remove(&self, description: &str) -> bool;
}

impl KernelKeyring for NoKernel {
    fn write(&self, _: &str, _: &[u8], _: Option<Duration>) -> Result<(), KernelError> {
        Err(KernelError::Refused("no kernel keyring".into()))
    }
    fn remove(&self, _: &str) -> bool {
        false
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use linux_keyutils::{
        KeyError, KeyPermissions, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission,
    };

    /// View, read and search for the possessor and the user; no write, no setattr.
    fn final_perms() -> KeyPermissions {
        let see = || Permission::VIEW | Permission::READ | Permission::SEARCH;
        KeyPermissionsBuilder::builder()
            .posessor(see())
            .user(see())
            .build()
    }

    fn refused(e: KeyError) -> KernelError {
        match e {
            KeyError::QuotaExceeded => KernelError::Quota(
                std::fs::read_to_string("/proc/sys/kernel/keys/maxbytes")
                    .map(|s| s.trim().to_string())
                    .unwrap_or_else(|_| "20000".into()),
            ),
            other => KernelError::Refused(format!("{other:?}")),
        }
    }

    impl KernelKeyring for UserKeyring {
        fn write(
            &self,
            description: &str,
            value: &[u8],
            ttl: Option<Duration>,
        ) -> Result<(), KernelError> {
            let scratch =
                KeyRing::from_special_id(KeyRingIdentifier::Process, true).map_err(refused)?;
            let key = scratch.add_key(description, value).map_err(refused)?;
            let finished = (|| {
                if let Some(ttl) = ttl {
                    key.set_timeout(ttl.as_secs().max(1) as usize)?;
                }
                // Replaces a key of the same description, whatever its permissions.
                self.ring().link_key(key)?;
                key.set_perms(final_perms())
            })();
            let _ = scratch.unlink_key(key);
            if let Err(e) = finished {
                let _ = self.ring().unlink_key(key);
                return Err(refused(e));
            }
            Ok(())
        }
        fn remove(&self, description: &str) -> bool {
            match self.ring().search(description) {
                Ok(key) => self.ring().unlink_key(key).is_ok(),
                Err(_) => false,
            }
        }
    }
}

#[cfg(test)]
impl KernelKeyring for MemoryKernel {
    fn write(
        &self,
        description: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<(), KernelError> {
        let mut keys = self.keys.lock().unwrap();
        keys.insert(description.to_string(), (value.to_vec(), ttl));
        Ok(())
    }
    fn remove(&self, description: &str) -> bool {
        self.keys.lock().unwrap().remove(description).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_is_full_when_a_session_record_no_longer_fits() {
        let key_users =
            "    0:    39 38/38 35/1000000 853/25000000\n 1001:     3 3/3 3/200 19880/20000\n";
        let root = Quota::parse(key_users, 0).unwrap();
        assert_eq!(
            root,
            Quota {
                keys: (35, 1_000_000),
                bytes: (853, 25_000_000)
            }
        );
        assert_eq!(root.full(), None);
        let user = Quota::parse(key_users, 1001).unwrap();
        let full = user.full().unwrap();
        assert!(
            full.contains("19880 of 20000 bytes") && full.contains("kernel.keys.maxbytes"),
            "{full}"
        );
        assert_eq!(Quota::parse(key_users, 100), None);
    }
}
