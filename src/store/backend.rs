//! The credential stores: one small trait ([`Keychain`]), and the platform's stores
//! behind it through keyring-core.
//!
//! Invariants:
//! - every call to a store runs under a deadline ([`within`]): a keychain that waits
//!   for a dialog or a dead D-Bus peer becomes an error naming the backend, never a hang;
//! - errors never format the data some keyring errors carry (it may be a secret);
//! - which store `AWS_MFA_PROC_KEYCHAIN` picks is `choice.rs`'s job.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use keyring_core::Error as KeyringError;
use keyring_core::api::CredentialStore;
use zeroize::Zeroizing;

use super::SERVICE;

pub(super) const DEADLINE: Duration = Duration::from_secs(5);

/// What one item holds.
pub(crate) enum Raw {
    Missing,
    Value(Zeroizing<Vec<u8>>),
    /// Several items match the name (e.g. made by another tool).
    Ambiguous,
}

/// A credential store, item by item.
pub(crate) trait Keychain: Send + Sync {
    fn backend(&self) -> Backend;
    /// The largest value one item holds; longer values are split.
    fn item_limit(&self) -> usize;
    fn get(&self, name: &str) -> Result<Raw, StoreError>;
    /// Stores `value`; a store that can (the kernel keyring) drops it after `ttl`.
    fn set(&self, name: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), StoreError>;
    /// `true` if it existed.
    fn delete(&self, name: &str) -> Result<bool, StoreError>;
    /// Every item name under [`SERVICE`], or `None` if this store cannot list.
    fn names(&self) -> Result<Option<Vec<String>>, StoreError>;
    /// Whether items can be stored now (no prompt, no write): checked before the
    /// person is asked for anything that would go here.
    fn check(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    #[cfg(target_os = "linux")]
    SecretService,
    #[cfg(target_os = "linux")]
    Keyutils,
    #[cfg(target_os = "macos")]
    MacosKeychain,
    #[cfg(target_os = "windows")]
    WindowsCredentialManager,
    #[cfg(test)]
    Memory,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            #[cfg(target_os = "linux")]
            Backend::SecretService => "Secret Service",
            #[cfg(target_os = "linux")]
            Backend::Keyutils => "kernel keyring",
            #[cfg(target_os = "macos")]
            Backend::MacosKeychain => "macOS Keychain",
            #[cfg(target_os = "windows")]
            Backend::WindowsCredentialManager => "Windows Credential Manager",
            #[cfg(test)]
            Backend::Memory => "in-memory store",
        }
    }

    fn item_limit(self) -> usize {
        match self {
            #[cfg(target_os = "windows")]
            Backend::WindowsCredentialManager => 2560,
            #[cfg(target_os = "linux")]
            Backend::Keyutils => 16 * 1024,
            #[cfg(any(not(windows), test))]
            _ => 64 * 1024,
        }
    }

    /// What to do when the backend refuses access.
    fn unlock_hint(self) -> &'static str {
        match self {
            #[cfg(target_os = "linux")]
            Backend::Keyutils => {
                "Check that this process may use keyctl (a container's seccomp profile may block it), or use a Secret Service"
            }
            #[cfg(target_os = "macos")]
            Backend::MacosKeychain => "Unlock the login keychain (Keychain Access) and retry",
            #[cfg(target_os = "windows")]
            Backend::WindowsCredentialManager => {
                "Run it as the Windows user who stored the keys (each user has a Credential Manager of their own), and retry"
            }
            #[cfg(any(target_os = "linux", test))]
            _ => UNLOCK_SECRET_SERVICE,
        }
    }

    /// The kernel keyring itself (Linux only): nothing is copied from it into it.
    pub(crate) fn is_kernel(self) -> bool {
        #[cfg(target_os = "linux")]
        return self == Backend::Keyutils;
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// Items survive a reboot.
    pub(crate) fn durable(self) -> bool {
        match self {
            #[cfg(target_os = "linux")]
            Backend::Keyutils => false,
            #[cfg(test)]
            Backend::Memory => false,
            _ => true,
        }
    }
}

/// How to unlock (or create) gnome-keyring's login keyring without a desktop: the
/// password on stdin of a replacing daemon, detached from the terminal.
#[cfg(target_os = "linux")]
const UNLOCK_HEADLESS: &str = "read -rsp 'Keyring password: ' PW && printf '%s' \"$PW\" | setsid -f gnome-keyring-daemon --replace --unlock --components=secrets >/dev/null 2>&1; unset PW";

#[cfg(any(target_os = "linux", test))]
const UNLOCK_SECRET_SERVICE: &str = "Unlock it in your desktop session, or without a desktop run: read -rsp 'Keyring password: ' PW && printf '%s' \"$PW\" | setsid -f gnome-keyring-daemon --replace --unlock --components=secrets >/dev/null 2>&1; unset PW (a wrong password leaves it locked without a word)";

#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error(
        "the Secret Service has no default keyring to store items in (a keyring daemon started without one, as on a machine without a desktop). Create one with a password of your choice: {UNLOCK_HEADLESS}; or set AWS_MFA_PROC_KEYCHAIN=keyutils (the kernel keyring: kept in memory, cleared at reboot)"
    )]
    #[cfg(target_os = "linux")]
    NoDefaultCollection,
    #[error("no keychain is reachable: {detail}. {fix}")]
    #[cfg(target_os = "linux")]
    Unreachable { detail: String, fix: String },
    #[error("the {} is locked or refused access ({detail}). {}", backend.name(), backend.unlock_hint())]
    Locked { backend: Backend, detail: String },
    #[error("the {} did not answer within {} s (waiting on an unlock prompt nobody can see?). {}", backend.name(), DEADLINE.as_secs(), backend.unlock_hint())]
    Timeout { backend: Backend },
    #[error("the {} failed: {detail}", backend.name())]
    Failed { backend: Backend, detail: String },
    #[error("AWS_MFA_PROC_KEYCHAIN is `{0}`, which this platform does not have; use one of: {1}")]
    UnknownBackend(String, &'static str),
}

/// Runs `op` on a worker thread; `None` if it has not finished within `deadline`.
fn within<R: Send + 'static>(
    deadline: Duration,
    op: impl FnOnce() -> R + Send + 'static,
) -> Option<R> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(op());
    });
    rx.recv_timeout(deadline).ok()
}

/// A keyring-core store.
pub(super) struct KeyringStore {
    store: Arc<CredentialStore>,
    backend: Backend,
    limit: usize,
}

impl KeyringStore {
    /// Opens a store under the deadline, so a dead bus cannot hang the caller.
    pub(super) fn connect(
        backend: Backend,
        open: impl FnOnce() -> keyring_core::Result<Arc<CredentialStore>> + Send + 'static,
    ) -> Result<KeyringStore, StoreError> {
        match within(DEADLINE, open) {
            Some(Ok(store)) => Ok(KeyringStore {
                store,
                backend,
                limit: backend.item_limit(),
            }),
            Some(Err(e)) => Err(describe(backend, e)),
            None => Err(StoreError::Timeout { backend }),
        }
    }

    /// One call to the store, under the deadline.
    fn call<R: Send + 'static>(
        &self,
        op: impl FnOnce(&CredentialStore) -> keyring_core::Result<R> + Send + 'static,
    ) -> Result<keyring_core::Result<R>, StoreError> {
        let store = self.store.clone();
        within(DEADLINE, move || op(&*store)).ok_or(StoreError::Timeout {
            backend: self.backend,
        })
    }
}

impl Keychain for KeyringStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn check(&self) -> Result<(), StoreError> {
        #[cfg(target_os = "linux")]
        if self.backend == Backend::SecretService {
            return default_collection();
        }
        Ok(())
    }

    fn item_limit(&self) -> usize {
        self.limit
    }

    fn get(&self, name: &str) -> Result<Raw, StoreError> {
        let name = name.to_string();
        match self.call(move |s| s.build(SERVICE, &name, None)?.get_secret())? {
            Ok(bytes) => Ok(Raw::Value(Zeroizing::new(bytes))),
            Err(KeyringError::NoEntry) => Ok(Raw::Missing),
            Err(KeyringError::Ambiguous(_)) => Ok(Raw::Ambiguous),
            Err(e) => Err(describe(self.backend, e)),
        }
    }

    fn set(&self, name: &str, value: &[u8], _ttl: Option<Duration>) -> Result<(), StoreError> {
        if value.len() > self.limit {
            return Err(StoreError::Failed {
                backend: self.backend,
                detail: format!("an item of {} bytes is over its limit", value.len()),
            });
        }
        let (name, value) = (name.to_string(), Zeroizing::new(value.to_vec()));
        self.call(move |s| {
            let entry = s.build(SERVICE, &name, None)?;
            match entry.set_secret(&value) {
                // Duplicates (e.g. made by another tool): replace them all with one item.
                Err(KeyringError::Ambiguous(entries)) => {
                    for duplicate in entries {
                        duplicate.delete_credential()?;
                    }
                    entry.set_secret(&value)
                }
                other => other,
            }
        })?
        .map_err(|e| describe(self.backend, e))
    }

    fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_string();
        match self.call(move |s| s.build(SERVICE, &name, None)?.delete_credential())? {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(e) => Err(describe(self.backend, e)),
        }
    }

    fn names(&self) -> Result<Option<Vec<String>>, StoreError> {
        let found = self.call(|s| {
            let spec = std::collections::HashMap::from([("service", SERVICE)]);
            s.search(&spec).map(|entries| {
                entries
                    .iter()
                    .filter_map(|e| e.get_specifiers())
                    .filter(|(service, _)| service == SERVICE)
                    .map(|(_, name)| name)
                    .collect::<Vec<_>>()
            })
        })?;
        match found {
            Ok(names) => Ok(Some(names)),
            Err(KeyringError::NotSupportedByStore(_)) => Ok(None),
            Err(e) => Err(describe(self.backend, e)),
        }
    }
}

/// Maps a keyring error without ever formatting the data some variants carry.
fn describe(backend: Backend, e: KeyringError) -> StoreError {
    match e {
        #[cfg(target_os = "linux")]
        KeyringError::NoStorageAccess(inner)
            if matches!(
                inner.downcast_ref::<secret_service::Error>(),
                Some(secret_service::Error::NoResult)
            ) =>
        {
            StoreError::NoDefaultCollection
        }
        KeyringError::NoStorageAccess(inner) => StoreError::Locked {
            backend,
            detail: inner.to_string(),
        },
        KeyringError::PlatformFailure(inner) => StoreError::Failed {
            backend,
            detail: inner.to_string(),
        },
        KeyringError::TooLong(what, max) => StoreError::Failed {
            backend,
            detail: format!("{what} is longer than {max}"),
        },
        other => StoreError::Failed {
            backend,
            detail: match other {
                KeyringError::BadEncoding(_) => "bad encoding",
                KeyringError::BadDataFormat(..) => "bad data format",
                KeyringError::BadStoreFormat(_) => "bad store format",
                KeyringError::Invalid(..) => "invalid argument",
                KeyringError::NoDefaultStore => "no store",
                KeyringError::NotSupportedByStore(_) => "not supported by the store",
                _ => "unexpected error",
            }
            .to_string(),
        },
    }
}

/// An empty in-memory store (keyring-core's mock) whose items hold at most `limit` bytes.
#[cfg(test)]
pub(crate) fn memory(limit: usize) -> Box<dyn Keychain> {
    memory_on(
        keyring_core::mock::Store::new().expect("the mock store always builds"),
        limit,
    )
}

/// An in-memory store over `store`, which other handles may share.
#[cfg(test)]
pub(crate) fn memory_on(store: Arc<CredentialStore>, limit: usize) -> Box<dyn Keychain> {
    Box::new(KeyringStore {
        store,
        backend: Backend::Memory,
        limit,
    })
}

/// The Secret Service's default collection exists and is unlocked; read only (a
/// plain session, `ReadAlias default`, its `Locked` property): never a prompt.
#[cfg(target_os = "linux")]
fn default_collection() -> Result<(), StoreError> {
    use secret_service::{EncryptionType, Error as Ss, blocking::SecretService};
    let state = within(DEADLINE, || {
        let service = SecretService::connect(EncryptionType::Plain)?;
        let locked = service.get_default_collection()?.is_locked()?;
        Ok::<bool, Ss>(locked)
    })
    .ok_or(StoreError::Timeout {
        backend: Backend::SecretService,
    })?;
    match state {
        Ok(false) => Ok(()),
        Ok(true) => Err(StoreError::Locked {
            backend: Backend::SecretService,
            detail: "the default keyring is locked".into(),
        }),
        Err(Ss::NoResult) => Err(StoreError::NoDefaultCollection),
        Err(e) => Err(StoreError::Failed {
            backend: Backend::SecretService,
            detail: e.to_string(),
        }),
    }
}
