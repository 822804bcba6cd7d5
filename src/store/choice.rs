//! Which store `AWS_MFA_PROC_KEYCHAIN` names, opened: the platform's keychain through
//! keyring-core ([`KeyringStore`]), or on Linux the kernel keyring ([`KernelStore`]).
//!
//! Invariant: on Linux, `auto` means the Secret Service, and the kernel keyring only
//! when no Secret Service is reachable at all (never when it is locked, slow to answer
//! or without a default keyring: those are errors with their fix); the fallback is
//! reported, never silent.

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
use std::sync::Arc;

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
use keyring_core::api::CredentialStore;

use super::Connected;
use super::backend::{Backend, KeyringStore, StoreError};
#[cfg(target_os = "linux")]
use super::kernel_store::KernelStore;

/// Opens the store `choice` names.
pub(crate) fn open(choice: &str) -> Result<Connected, StoreError> {
    platform::open(choice)
}

fn connected(store: KeyringStore) -> Connected {
    Connected {
        store: Box::new(store),
        fallback: None,
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::*;

    const CHOICES: &str = "auto, secret-service, keyutils";

    const START_SECRET_SERVICE: &str = "Start a Secret Service (gnome-keyring, KeePassXC) in this login session with DBUS_SESSION_BUS_ADDRESS set";

    pub(super) fn open(choice: &str) -> Result<Connected, StoreError> {
        match choice {
            "secret-service" => secret_service().map(connected).map_err(|ss| match ss {
                StoreError::Locked { .. }
                | StoreError::Timeout { .. }
                | StoreError::NoDefaultCollection => ss,
                _ => StoreError::Unreachable {
                    detail: format!("Secret Service: {ss}"),
                    fix: format!(
                        "{START_SECRET_SERVICE}, or set AWS_MFA_PROC_KEYCHAIN=keyutils (the kernel keyring: kept in memory, cleared at reboot)"
                    ),
                },
            }),
            "keyutils" => keyutils().map(|store| Connected {
                store: Box::new(store),
                fallback: None,
            }),
            "auto" => match secret_service() {
                Ok(store) => Ok(connected(store)),
                // Locked, slow (an unlock prompt nobody sees) or without a default
                // keyring: there is a Secret Service, which the person can fix. Long-term
                // keys must not drift into memory that a reboot clears.
                Err(
                    ss @ (StoreError::Locked { .. }
                    | StoreError::Timeout { .. }
                    | StoreError::NoDefaultCollection),
                ) => Err(ss),
                Err(ss) => match keyutils() {
                    Ok(store) => {
                        crate::debug!("no Secret Service ({ss}); using the kernel keyring");
                        Ok(Connected {
                            store: Box::new(store),
                            fallback: Some(format!("the Secret Service is unreachable: {ss}")),
                        })
                    }
                    Err(ku) => Err(StoreError::Unreachable {
                        detail: format!("Secret Service: {ss}; kernel keyring: {ku}"),
                        fix: START_SECRET_SERVICE.to_string(),
                    }),
                },
            },
            other => Err(StoreError::UnknownBackend(other.to_string(), CHOICES)),
        }
    }

    fn secret_service() -> Result<KeyringStore, StoreError> {
        KeyringStore::connect(Backend::SecretService, || {
            let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
            Ok(store)
        })
    }

    fn keyutils() -> Result<KernelStore, StoreError> {
        match crate::kernel::UserKeyring::open() {
            Some(ring) => Ok(KernelStore::new(Box::new(ring))),
            None => Err(StoreError::Unreachable {
                detail: "the kernel keyring (keyutils) is not available to this process".into(),
                fix: "Use a Secret Service (a container's seccomp profile may block keyctl)".into(),
            }),
        }
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;

    pub(super) fn open(choice: &str) -> Result<Connected, StoreError> {
        match choice {
            "auto" | "macos" => KeyringStore::connect(Backend::MacosKeychain, || {
                let store: Arc<CredentialStore> =
                    apple_native_keyring_store::keychain::Store::new()?;
                Ok(store)
            })
            .map(connected),
            other => Err(StoreError::UnknownBackend(other.to_string(), "auto, macos")),
        }
    }
}

#[cfg(target_os = "windows")]
mod platform {
    use super::*;

    pub(super) fn open(choice: &str) -> Result<Connected, StoreError> {
        match choice {
            "auto" | "windows" => KeyringStore::connect(Backend::WindowsCredentialManager, || {
                let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
                Ok(store)
            })
            .map(connected),
            other => Err(StoreError::UnknownBackend(
                other.to_string(),
                "auto, windows",
            )),
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod platform {
    use super::*;

    pub(super) fn open(_choice: &str) -> Result<Connected, StoreError> {
        Err(StoreError::Unreachable {
            detail: "this platform has no supported keychain".into(),
            fix: "Use Linux, macOS or Windows".into(),
        })
    }
}
