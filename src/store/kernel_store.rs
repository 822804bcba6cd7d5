//! The keyutils backend: keychain items as keys in the user's kernel keyring, for
//! machines with no Secret Service (servers, WSL, containers).
//!
//! Invariants:
//! - an item `NAME` is the key `aws-mfa-proc:store:NAME`, written as every kernel key
//!   is written here (see [`crate::kernel`]): no process can rewrite it;
//! - items of sessions and roles carry a timeout at their expiry, so they free the
//!   kernel's per-user quota by themselves; long-term keys have none (they go at
//!   reboot: this backend is memory, and says so);
//! - a full quota is an error that names the quota and what to do.

/// The description prefix of every item of this store.
pub(crate) use aws_mfa_proc_front::copies::STORE_PREFIX as PREFIX;

#[cfg(target_os = "linux")]
pub(crate) use linux::KernelStore;

/// The store itself: the kernel keyring is Linux's.
#[cfg(target_os = "linux")]
mod linux {
    use super::PREFIX;
    use std::time::Duration;

    use zeroize::Zeroizing;

    use crate::kernel::KernelKeyring;
    use crate::store::backend::{Backend, Keychain, Raw, StoreError};

    pub(crate) struct KernelStore {
        kernel: Box<dyn KernelKeyring>,
    }

    impl KernelStore {
        pub(crate) fn new(kernel: Box<dyn KernelKeyring>) -> KernelStore {
            KernelStore { kernel }
        }
    }

    impl Keychain for KernelStore {
        fn backend(&self) -> Backend {
            Backend::Keyutils
        }

        fn item_limit(&self) -> usize {
            16 * 1024
        }

        fn get(&self, name: &str) -> Result<Raw, StoreError> {
            Ok(match self.kernel.read(&format!("{PREFIX}{name}")) {
                Some(value) => Raw::Value(Zeroizing::new(value.to_vec())),
                None => Raw::Missing,
            })
        }

        fn set(&self, name: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), StoreError> {
            self.kernel
                .write(&format!("{PREFIX}{name}"), value, ttl)
                .map_err(|e| StoreError::Failed {
                    backend: Backend::Keyutils,
                    detail: e.to_string(),
                })
        }

        fn delete(&self, name: &str) -> Result<bool, StoreError> {
            Ok(self.kernel.remove(&format!("{PREFIX}{name}")))
        }

        fn names(&self) -> Result<Option<Vec<String>>, StoreError> {
            Ok(Some(
                self.kernel
                    .descriptions(PREFIX)
                    .into_iter()
                    .map(|d| d[PREFIX.len()..].to_string())
                    .collect(),
            ))
        }
    }
}
