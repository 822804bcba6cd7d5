//! The Linux kernel's user keyring (`@u`), as a small trait.
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
//! - reads never fail loudly: an unreachable keyring (no keyutils, blocked by seccomp),
//!   an expired or unreadable key is a miss; callers check what they read;
//! - [`MemoryKernel`] is the in-memory twin for unit tests; [`NoKernel`] always misses.

use std::time::Duration;

use zeroize::Zeroizing;

/// Why a key could not be written.
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum KernelError {
    #[error(
        "the kernel keyring's per-user quota is full (kernel.keys.maxbytes, {0} bytes for your user; expired keys count until the kernel collects them). Run `aws-mfa-proc logout` for profiles you do not use, raise it (`sysctl kernel.keys.maxbytes=…` as root), or use a Secret Service"
    )]
    Quota(String),
    #[error("the kernel keyring refused: {0}")]
    Refused(String),
}

/// Reading keys in the user's kernel keyring, by description: all the front door does.
pub(crate) trait KernelRead: Send + Sync {
    fn read(&self, description: &str) -> Option<Zeroizing<Vec<u8>>>;
    /// The descriptions of the live keys in `@u` that start with `prefix`.
    fn descriptions(&self, prefix: &str) -> Vec<String>;
    /// How much of the user's quota is used, if the kernel says.
    fn quota(&self) -> Option<Quota> {
        None
    }
}

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

/// The user's kernel-keyring quota (`/proc/key-users`): keys and bytes, used and allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Quota {
    pub keys: (u64, u64),
    pub bytes: (u64, u64),
}

impl Quota {
    /// Less room than one more session record needs (a role's can take ~3 KB).
    const ROOM: u64 = 4096;

    /// Why nothing more fits, if it does not.
    pub(crate) fn full(&self) -> Option<String> {
        let (keys, max_keys) = self.keys;
        let (bytes, max_bytes) = self.bytes;
        let full = max_bytes.saturating_sub(bytes) < Self::ROOM || keys + 2 > max_keys;
        full.then(|| {
            format!(
                "{bytes} of {max_bytes} bytes and {keys} of {max_keys} keys used; {}",
                KernelError::Quota(max_bytes.to_string())
            )
        })
    }

    /// A line of `/proc/key-users` for `uid`: `UID: USAGE NKEYS/NIKEYS QNKEYS/MAXKEYS
    /// QNBYTES/MAXBYTES`.
    #[cfg(target_os = "linux")]
    pub(crate) fn parse(key_users: &str, uid: u32) -> Option<Quota> {
        let line = key_users
            .lines()
            .find(|l| l.trim_start().split(':').next() == Some(&*uid.to_string()))?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let pair = |field: &str| -> Option<(u64, u64)> {
            let (used, max) = field.split_once('/')?;
            Some((used.parse().ok()?, max.parse().ok()?))
        };
        Some(Quota {
            keys: pair(fields.get(3)?)?,
            bytes: pair(fields.get(4)?)?,
        })
    }
}

/// No kernel keyring (turned off, or not Linux).
pub(crate) struct NoKernel;

impl KernelRead for NoKernel {
    fn read(&self, _: &str) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
    fn descriptions(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
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
pub(crate) use linux::UserKeyring;

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use linux_keyutils::{
        Key, KeyError, KeyPermissions, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier,
        KeySerialId, Permission,
    };

    /// The user keyring.
    pub(crate) struct UserKeyring {
        ring: KeyRing,
    }

    impl UserKeyring {
        /// `None` where the kernel keyring cannot be used (no keyutils, seccomp).
        pub(crate) fn open() -> Option<UserKeyring> {
            KeyRing::from_special_id(KeyRingIdentifier::User, false)
                .ok()
                .map(|ring| UserKeyring { ring })
        }
    }

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

    impl KernelRead for UserKeyring {
        fn read(&self, description: &str) -> Option<Zeroizing<Vec<u8>>> {
            let key = self.ring.search(description).ok()?;
            key.read_to_vec().ok().map(Zeroizing::new)
        }
        fn descriptions(&self, prefix: &str) -> Vec<String> {
            let user = Key::from_id(KeySerialId::new(KeyRingIdentifier::User as i32));
            let Ok(ids) = user.read_to_vec() else {
                return Vec::new();
            };
            ids.chunks_exact(4)
                .filter_map(|id| {
                    let key = Key::from_id(KeySerialId::new(i32::from_ne_bytes([
                        id[0], id[1], id[2], id[3],
                    ])));
                    // The crate's describe panics on descriptions over ~490 bytes
                    // (other programs' keys may have them): such a key is not ours.
                    let metadata = std::panic::catch_unwind(|| key.metadata()).ok()?.ok()?;
                    let description = metadata.get_description();
                    description
                        .starts_with(prefix)
                        .then(|| description.to_string())
                })
                .collect()
        }
        fn quota(&self) -> Option<Quota> {
            let uid = rustix::process::getuid().as_raw();
            Quota::parse(&std::fs::read_to_string("/proc/key-users").ok()?, uid)
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
                self.ring.link_key(key)?;
                key.set_perms(final_perms())
            })();
            let _ = scratch.unlink_key(key);
            if let Err(e) = finished {
                let _ = self.ring.unlink_key(key);
                return Err(refused(e));
            }
            Ok(())
        }
        fn remove(&self, description: &str) -> bool {
            match self.ring.search(description) {
                Ok(key) => self.ring.unlink_key(key).is_ok(),
                Err(_) => false,
            }
        }
    }
}

/// A key of the twin: its value and timeout.
#[cfg(test)]
type MemoryKey = (Vec<u8>, Option<Duration>);

/// The in-memory twin.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct MemoryKernel {
    pub keys: std::sync::Mutex<std::collections::BTreeMap<String, MemoryKey>>,
    pub quota: Option<Quota>,
}

#[cfg(test)]
impl KernelRead for MemoryKernel {
    fn read(&self, description: &str) -> Option<Zeroizing<Vec<u8>>> {
        let keys = self.keys.lock().unwrap();
        keys.get(description)
            .map(|(v, _)| Zeroizing::new(v.clone()))
    }
    fn descriptions(&self, prefix: &str) -> Vec<String> {
        let keys = self.keys.lock().unwrap();
        keys.keys()
            .filter(|d| d.starts_with(prefix))
            .cloned()
            .collect()
    }
    fn quota(&self) -> Option<Quota> {
        self.quota
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
