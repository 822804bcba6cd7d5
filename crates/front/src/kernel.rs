//! The Linux kernel's user keyring (`@u`), to read: the front door's only store.
//!
//! It holds the fast copies of session records in front of a keychain, and, with
//! `AWS_MFA_PROC_KEYCHAIN=keyutils`, the items of the keychain itself. The kernel
//! answers in microseconds where a Secret Service read costs a D-Bus connection and a
//! key exchange. Writing is the full program's (`aws_mfa_proc::kernel`): no code in
//! this crate adds, changes or drops a key.
//!
//! Invariants:
//! - reads never fail loudly: an unreachable keyring (no keyutils, blocked by seccomp),
//!   an expired or unreadable key is a miss; callers check what they read;
//! - [`MemoryKernel`] is the in-memory twin for unit tests; [`NoKernel`] always misses.

use zeroize::Zeroizing;

/// Why a key could not be written.
#[derive(Clone, Debug, thiserror::Error)]
pub enum KernelError {
    #[error(
        "the kernel keyring's per-user quota is full (kernel.keys.maxbytes, {0} bytes for your user; expired keys count until the kernel collects them). Run `aws-mfa-proc logout` for profiles you do not use, raise it (`sysctl kernel.keys.maxbytes=…` as root), or use a Secret Service"
    )]
    Quota(String),
    #[error("the kernel keyring refused: {0}")]
    Refused(String),
}

/// Reading keys in the user's kernel keyring, by description: all the front door does.
pub trait KernelRead: Send + Sync {
    fn read(&self, description: &str) -> Option<Zeroizing<Vec<u8>>>;
    /// The descriptions of the live keys in `@u` that start with `prefix`.
    fn descriptions(&self, prefix: &str) -> Vec<String>;
    /// How much of the user's quota is used, if the kernel says.
    fn quota(&self) -> Option<Quota> {
        None
    }
}

/// The user's kernel-keyring quota (`/proc/key-users`): keys and bytes, used and allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    pub keys: (u64, u64),
    pub bytes: (u64, u64),
}

impl Quota {
    /// Less room than one more session record needs (a role's can take ~3 KB).
    const ROOM: u64 = 4096;

    /// Why nothing more fits, if it does not.
    pub fn full(&self) -> Option<String> {
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
    pub fn parse(key_users: &str, uid: u32) -> Option<Quota> {
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
pub struct NoKernel;

impl KernelRead for NoKernel {
    fn read(&self, _: &str) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
    fn descriptions(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(target_os = "linux")]
pub use linux::UserKeyring;

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use linux_keyutils::{Key, KeyRing, KeyRingIdentifier, KeySerialId};

    /// The user keyring.
    pub struct UserKeyring {
        ring: KeyRing,
    }

    impl UserKeyring {
        /// `None` where the kernel keyring cannot be used (no keyutils, seccomp).
        pub fn open() -> Option<UserKeyring> {
            KeyRing::from_special_id(KeyRingIdentifier::User, false)
                .ok()
                .map(|ring| UserKeyring { ring })
        }

        /// The keyring, for the full program's writes.
        pub fn ring(&self) -> &KeyRing {
            &self.ring
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
}

/// A key of the twin: its value and timeout.
#[cfg(any(test, feature = "twins"))]
type MemoryKey = (Vec<u8>, Option<std::time::Duration>);

/// The in-memory twin.
#[cfg(any(test, feature = "twins"))]
#[derive(Default)]
pub struct MemoryKernel {
    pub keys: std::sync::Mutex<std::collections::BTreeMap<String, MemoryKey>>,
    pub quota: Option<Quota>,
}

#[cfg(any(test, feature = "twins"))]
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
