//! The keychain: versioned, framed items in the OS credential store.
//!
//! Invariants:
//! - every item lives under service `aws-mfa-proc` with a versioned name (`v1:…`), and
//!   every value is a versioned JSON record; anything else reads as [`Lookup::Unreadable`];
//! - a value longer than the backend's item limit (Windows: 2,560 bytes) is split over
//!   `NAME`, `NAME#1`, …; the head is written last and carries the SHA-256 of the whole
//!   value, so a write cut off half-way, or a tampered part, never reads as valid;
//! - every backend call runs under a deadline: a keychain that waits for a dialog or a
//!   dead D-Bus peer becomes an error naming the backend, never a hang;
//! - there is no plaintext fallback: if no keychain is reachable, that is the error.

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use keyring_core::Error as KeyringError;
use keyring_core::api::CredentialStore;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::config::Environment;
use crate::credentials::SessionCredentials;
use crate::memo::Memo;

pub const SERVICE: &str = "aws-mfa-proc";
const RECORD_VERSION: u32 = 1;
const FRAME_MAGIC: &str = "amp1";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Item name of the long-term keys stored with `aws-mfa-proc add NAME`.
pub fn keys_item(name: &str) -> String {
    format!("v1:keys:{name}")
}

/// Item name of the MFA session of one long-term identity and MFA device.
pub fn session_item(key_source_id: &str, mfa_serial: &str) -> String {
    format!("v1:session:{key_source_id}:{mfa_serial}")
}

/// Item name of a role assumed with that MFA session.
pub fn role_item(key_source_id: &str, mfa_serial: &str, role_arn: &str) -> String {
    format!("v1:role:{key_source_id}:{mfa_serial}:{role_arn}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    SecretService,
    Keyutils,
    MacosKeychain,
    WindowsCredentialManager,
    Memory,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::SecretService => "Secret Service",
            Backend::Keyutils => "kernel keyring (keyutils)",
            Backend::MacosKeychain => "macOS Keychain",
            Backend::WindowsCredentialManager => "Windows Credential Manager",
            Backend::Memory => "in-memory store",
        }
    }

    /// The largest value one item holds; longer values are split.
    fn item_limit(self) -> usize {
        match self {
            Backend::WindowsCredentialManager => 2560,
            Backend::Keyutils => 16 * 1024,
            _ => 64 * 1024,
        }
    }

    /// What to do when the backend refuses access.
    fn unlock_hint(self) -> &'static str {
        match self {
            Backend::Keyutils => {
                "Run inside a session keyring (`keyctl session - …`), or use a Secret Service"
            }
            Backend::MacosKeychain => "Unlock the login keychain (Keychain Access) and retry",
            _ => {
                "Unlock it (log in to the desktop session, or run `gnome-keyring-daemon --unlock`) and retry"
            }
        }
    }

    /// Items survive a reboot.
    pub fn durable(self) -> bool {
        !matches!(self, Backend::Keyutils | Backend::Memory)
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no keychain is reachable: {detail}. {fix}")]
    Unreachable { detail: String, fix: String },
    #[error("the {} is locked or refused access ({detail}). {}", backend.name(), backend.unlock_hint())]
    Locked { backend: Backend, detail: String },
    #[error("the {} did not answer within {} s (a hidden unlock dialog?). Unlock the keychain and retry", backend.name(), timeout.as_secs())]
    Timeout { backend: Backend, timeout: Duration },
    #[error("the {} failed: {detail}", backend.name())]
    Failed { backend: Backend, detail: String },
    #[error("AWS_MFA_PROC_KEYCHAIN is `{0}`, which this platform does not have; use one of: {1}")]
    UnknownBackend(String, &'static str),
}

/// The result of reading a record.
pub enum Lookup<T> {
    Found(T),
    Missing,
    /// Present but not a record this version can use: corrupt, torn, or from a newer one.
    Unreadable(String),
}

/// A keychain with deadlines, framing and versioned records on top of a keyring-core
/// store, connected on first use, with the kernel-keyring [`Memo`] in front for sessions.
pub struct Vault {
    connected: OnceLock<Result<Connected, StoreError>>,
    choice: String,
    memo: Memo,
}

/// A connected keyring-core store and its backend.
pub struct Connected {
    store: Arc<CredentialStore>,
    backend: Backend,
    timeout: Duration,
    /// Why this backend and not the platform's first choice, if so.
    fallback: Option<String>,
}

impl Vault {
    /// A vault on an already open store, without the kernel-keyring tier.
    pub fn new(store: Arc<CredentialStore>, backend: Backend) -> Vault {
        Vault {
            connected: OnceLock::from(Ok(Connected::new(store, backend))),
            choice: String::new(),
            memo: Memo::off(),
        }
    }

    /// An empty in-memory vault, for tests.
    pub fn memory() -> Vault {
        Vault::new(
            keyring_core::mock::Store::new().expect("the mock store always builds"),
            Backend::Memory,
        )
    }

    /// The platform's keychain, or the one `AWS_MFA_PROC_KEYCHAIN` names. Nothing is
    /// connected until an item is needed that the kernel-keyring tier does not have.
    pub fn open(env: &dyn Environment) -> Vault {
        let choice = env
            .var("AWS_MFA_PROC_KEYCHAIN")
            .unwrap_or_else(|| "auto".into());
        // Also in front of the keyutils backend: that one lives in the session keyring
        // and is read through a worker thread; the copy serves the front door.
        let memo_off = env
            .var("AWS_MFA_PROC_KERNEL_CACHE")
            .is_some_and(|v| v.eq_ignore_ascii_case("off"));
        let memo = if memo_off {
            Memo::off()
        } else {
            let bus = env.var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default();
            let runtime = env.var("XDG_RUNTIME_DIR").unwrap_or_default();
            Memo::open(&format!("{choice}\0{bus}\0{runtime}"))
        };
        Vault {
            connected: OnceLock::new(),
            choice,
            memo,
        }
    }

    fn connected(&self) -> Result<&Connected, StoreError> {
        self.connected
            .get_or_init(|| {
                let connected = platform::open(&self.choice);
                if let Ok(c) = &connected {
                    crate::debug!("keychain: {}", c.backend.name());
                }
                connected
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The backend in use (connecting to it if need be).
    pub fn backend(&self) -> Result<Backend, StoreError> {
        self.connected().map(|c| c.backend)
    }

    /// The backend's name, and why it was chosen when it was not the first choice.
    pub fn describe(&self) -> String {
        match self.connected() {
            Ok(Connected {
                backend,
                fallback: Some(why),
                ..
            }) => format!("{} (used because {why})", backend.name()),
            Ok(c) => c.backend.name().to_string(),
            Err(e) => format!("keychain ({e})"),
        }
    }

    /// A session or role record: the kernel-keyring copy if there is one, else the
    /// keychain's (which is then copied there).
    pub fn get_session(&self, name: &str) -> Result<Lookup<SessionCredentials>, StoreError> {
        if let Some(s) = self.session_copy(name) {
            return Ok(Lookup::Found(s));
        }
        let found = self.get_record::<SessionCredentials>(name)?;
        if let Lookup::Found(s) = &found {
            self.memo_put(name, s);
        }
        Ok(found)
    }

    /// The kernel-keyring copy of a session or role record, if there is a readable one.
    /// Never connects to the keychain.
    pub fn session_copy(&self, name: &str) -> Option<SessionCredentials> {
        match decode(&self.memo.get(name)?) {
            Lookup::Found(s) => Some(s),
            _ => None,
        }
    }

    /// Stores a session or role record, in the kernel keyring first: if the keychain
    /// then fails, the next call still finds the session and asks for no code.
    pub fn put_session(&self, name: &str, session: &SessionCredentials) -> Result<(), StoreError> {
        self.memo_put(name, session);
        self.put_record(name, session)
    }

    fn memo_put(&self, name: &str, session: &SessionCredentials) {
        let ttl = (session.expiration - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        self.memo.put(name, &encode(session), ttl);
    }

    pub fn get_record<T: DeserializeOwned>(&self, name: &str) -> Result<Lookup<T>, StoreError> {
        Ok(match self.get(name)? {
            Some(bytes) => decode(&bytes),
            None => Lookup::Missing,
        })
    }

    pub fn put_record<T: Serialize>(&self, name: &str, record: &T) -> Result<(), StoreError> {
        self.put(name, &encode(record))
    }

    /// The whole value stored under `name`, checked against its frame.
    pub fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let Some(head) = self.get_item(name)? else {
            return Ok(None);
        };
        let Some((parts, digest, first)) = parse_head(&head) else {
            return Ok(Some(Zeroizing::new(b"\0unframed".to_vec())));
        };
        let mut value = Zeroizing::new(first.to_vec());
        for i in 1..parts {
            match self.get_item(&part_name(name, i))? {
                Some(part) => value.extend_from_slice(&part),
                None => return Ok(Some(Zeroizing::new(b"\0torn".to_vec()))),
            }
        }
        if hex(&Sha256::digest(&value[..])) != digest {
            return Ok(Some(Zeroizing::new(b"\0torn".to_vec())));
        }
        Ok(Some(value))
    }

    /// Stores `value` under `name`: parts first, head last.
    pub fn put(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let digest = hex(&Sha256::digest(value));
        let limit = self.connected()?.backend.item_limit();
        let header_len = FRAME_MAGIC.len() + digest.len() + 16;
        let first_len = value.len().min(limit - header_len);
        let rest: Vec<&[u8]> = value[first_len..].chunks(limit).collect();
        for (i, part) in rest.iter().enumerate() {
            self.set_item(&part_name(name, i + 1), part)?;
        }
        let mut head =
            Zeroizing::new(format!("{FRAME_MAGIC} {} {digest}\n", rest.len() + 1).into_bytes());
        head.extend_from_slice(&value[..first_len]);
        self.set_item(name, &head)?;
        // Parts beyond the new count belong to an older, longer value.
        let mut stale = rest.len() + 1;
        while self.delete_item(&part_name(name, stale))? {
            stale += 1;
        }
        Ok(())
    }

    /// Deletes `name` and its parts; `true` if it existed.
    pub fn delete(&self, name: &str) -> Result<bool, StoreError> {
        self.memo.forget(name);
        let existed = self.delete_item(name)?;
        let mut i = 1;
        while self.delete_item(&part_name(name, i))? {
            i += 1;
        }
        Ok(existed)
    }

    fn get_item(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        self.connected()?.get_item(name)
    }

    fn set_item(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.connected()?.set_item(name, value)
    }

    fn delete_item(&self, name: &str) -> Result<bool, StoreError> {
        self.connected()?.delete_item(name)
    }
}

impl Connected {
    fn new(store: Arc<CredentialStore>, backend: Backend) -> Connected {
        Connected {
            store,
            backend,
            timeout: DEFAULT_TIMEOUT,
            fallback: None,
        }
    }

    fn get_item(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let name = name.to_string();
        match self.bounded(move |s| s.build(SERVICE, &name, None)?.get_secret())? {
            Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(KeyringError::Ambiguous(_)) => Ok(Some(Zeroizing::new(b"\0ambiguous".to_vec()))),
            Err(e) => Err(self.error(e)),
        }
    }

    fn set_item(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let (name, value) = (name.to_string(), Zeroizing::new(value.to_vec()));
        let result = self.bounded(move |s| {
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
        })?;
        result.map_err(|e| self.error(e))
    }

    fn delete_item(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_string();
        match self.bounded(move |s| s.build(SERVICE, &name, None)?.delete_credential())? {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Runs one backend call on a worker thread and gives up after the deadline.
    fn bounded<R: Send + 'static>(
        &self,
        op: impl FnOnce(&CredentialStore) -> R + Send + 'static,
    ) -> Result<R, StoreError> {
        let store = self.store.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(op(&*store));
        });
        rx.recv_timeout(self.timeout)
            .map_err(|_| StoreError::Timeout {
                backend: self.backend,
                timeout: self.timeout,
            })
    }

    fn error(&self, e: KeyringError) -> StoreError {
        describe(self.backend, e)
    }
}

/// A versioned record from bytes; anything else is [`Lookup::Unreadable`].
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Lookup<T> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        #[serde(rename = "Version")]
        version: u32,
    }
    match serde_json::from_slice::<Versioned>(bytes) {
        Ok(v) if v.version == RECORD_VERSION => {}
        Ok(v) => return Lookup::Unreadable(format!("record version {}", v.version)),
        Err(_) => return Lookup::Unreadable("not a record".into()),
    }
    match serde_json::from_slice::<T>(bytes) {
        Ok(record) => Lookup::Found(record),
        Err(e) => Lookup::Unreadable(format!("bad record: {:?}", e.classify())),
    }
}

/// A record's bytes, with its version.
fn encode<T: Serialize>(record: &T) -> Zeroizing<Vec<u8>> {
    let mut value = serde_json::to_value(record).expect("records serialize");
    value["Version"] = RECORD_VERSION.into();
    let bytes = Zeroizing::new(serde_json::to_vec(&value).expect("records serialize"));
    zeroize_json(&mut value);
    bytes
}

/// Maps a keyring error without ever formatting the data some variants carry.
fn describe(backend: Backend, e: KeyringError) -> StoreError {
    match e {
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
            detail: variant_name(&other).to_string(),
        },
    }
}

fn variant_name(e: &KeyringError) -> &'static str {
    match e {
        KeyringError::BadEncoding(_) => "bad encoding",
        KeyringError::BadDataFormat(..) => "bad data format",
        KeyringError::BadStoreFormat(_) => "bad store format",
        KeyringError::Invalid(..) => "invalid argument",
        KeyringError::NoDefaultStore => "no store",
        KeyringError::NotSupportedByStore(_) => "not supported by the store",
        _ => "unexpected error",
    }
}

fn part_name(name: &str, i: usize) -> String {
    format!("{name}#{i}")
}

/// `amp1 PARTS SHA256\n` then the first part of the value.
fn parse_head(head: &[u8]) -> Option<(usize, &str, &[u8])> {
    let newline = head.iter().position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&head[..newline]).ok()?;
    let mut fields = header.split(' ');
    if fields.next()? != FRAME_MAGIC {
        return None;
    }
    let parts: usize = fields.next()?.parse().ok()?;
    let digest = fields.next()?;
    (1..=64)
        .contains(&parts)
        .then_some((parts, digest, &head[newline + 1..]))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn zeroize_json(value: &mut serde_json::Value) {
    use zeroize::Zeroize;
    match value {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Object(map) => map.values_mut().for_each(zeroize_json),
        serde_json::Value::Array(items) => items.iter_mut().for_each(zeroize_json),
        _ => {}
    }
}

/// Opens a backend under the deadline, so a dead bus cannot hang the caller.
#[allow(dead_code)]
fn connect(
    backend: Backend,
    open: impl FnOnce() -> keyring_core::Result<Arc<CredentialStore>> + Send + 'static,
) -> Result<Connected, StoreError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(open());
    });
    match rx.recv_timeout(DEFAULT_TIMEOUT) {
        Ok(Ok(store)) => Ok(Connected::new(store, backend)),
        Ok(Err(e)) => Err(describe(backend, e)),
        Err(_) => Err(StoreError::Timeout {
            backend,
            timeout: DEFAULT_TIMEOUT,
        }),
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::*;

    pub const CHOICES: &str = "auto, secret-service, keyutils";

    const START_SECRET_SERVICE: &str = "Start a Secret Service (gnome-keyring, KeePassXC) in this login session with DBUS_SESSION_BUS_ADDRESS set";

    pub fn open(choice: &str) -> Result<Connected, StoreError> {
        match choice {
            "secret-service" => secret_service().map_err(|ss| match ss {
                StoreError::Locked { .. } => ss,
                _ => StoreError::Unreachable {
                    detail: format!("Secret Service: {ss}"),
                    fix: format!("{START_SECRET_SERVICE}, or set AWS_MFA_PROC_KEYCHAIN=keyutils"),
                },
            }),
            "keyutils" => keyutils(),
            "auto" => secret_service().or_else(|ss| match ss {
                StoreError::Locked { .. } => Err(ss),
                _ => keyutils()
                    .map(|mut connected| {
                        crate::debug!("no Secret Service ({ss}); using the kernel keyring");
                        connected.fallback = Some(format!("the Secret Service is unreachable: {ss}"));
                        connected
                    })
                    .map_err(|ku| StoreError::Unreachable {
                    detail: format!("Secret Service: {ss}; kernel keyring: {ku}"),
                    fix: format!("{START_SECRET_SERVICE}, or run inside a session keyring (`keyctl session - …`) with AWS_MFA_PROC_KEYCHAIN=keyutils"),
                }),
            }),
            other => Err(StoreError::UnknownBackend(other.to_string(), platform::CHOICES)),
        }
    }

    fn secret_service() -> Result<Connected, StoreError> {
        connect(Backend::SecretService, || {
            let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
            Ok(store)
        })
    }

    fn keyutils() -> Result<Connected, StoreError> {
        let connected = connect(Backend::Keyutils, || {
            let store: Arc<CredentialStore> = linux_keyutils_keyring_store::Store::new()?;
            Ok(store)
        })?;
        // The store only fails when used: probe it once so the choice is made now.
        connected.get_item("v1:probe")?;
        Ok(connected)
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;

    pub const CHOICES: &str = "auto, macos";

    pub fn open(choice: &str) -> Result<Connected, StoreError> {
        match choice {
            "auto" | "macos" => connect(Backend::MacosKeychain, || {
                let store: Arc<CredentialStore> =
                    apple_native_keyring_store::keychain::Store::new()?;
                Ok(store)
            }),
            other => Err(StoreError::UnknownBackend(
                other.to_string(),
                platform::CHOICES,
            )),
        }
    }
}

#[cfg(target_os = "windows")]
mod platform {
    use super::*;

    pub const CHOICES: &str = "auto, windows";

    pub fn open(choice: &str) -> Result<Connected, StoreError> {
        match choice {
            "auto" | "windows" => connect(Backend::WindowsCredentialManager, || {
                let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
                Ok(store)
            }),
            other => Err(StoreError::UnknownBackend(
                other.to_string(),
                platform::CHOICES,
            )),
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod platform {
    use super::*;

    pub const CHOICES: &str = "none";

    pub fn open(_choice: &str) -> Result<Connected, StoreError> {
        Err(StoreError::Unreachable {
            detail: "this platform has no supported keychain".into(),
            fix: "Use Linux, macOS or Windows".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_vault() -> Vault {
        Vault::new(
            keyring_core::mock::Store::new().unwrap(),
            Backend::WindowsCredentialManager,
        )
    }

    #[test]
    fn a_value_over_the_item_limit_round_trips_in_parts() {
        let vault = small_vault();
        let value: Vec<u8> = (0..6000u32).map(|i| b'a' + (i % 26) as u8).collect();
        vault.put("v1:session:x", &value).unwrap();
        assert_eq!(&vault.get("v1:session:x").unwrap().unwrap()[..], &value[..]);
        for part in ["v1:session:x", "v1:session:x#1", "v1:session:x#2"] {
            let raw = vault.get_item(part).unwrap().unwrap();
            assert!(raw.len() <= 2560, "{part} holds {} bytes", raw.len());
        }
    }

    #[test]
    fn a_torn_write_never_reads_as_valid() {
        let vault = small_vault();
        let old: Vec<u8> = vec![b'o'; 6000];
        vault.put("v1:k", &old).unwrap();
        // A new value's second part landed, then the writer died before the head.
        vault.set_item("v1:k#1", &[b'n'; 2560]).unwrap();
        assert_eq!(&vault.get("v1:k").unwrap().unwrap()[..], b"\0torn");
    }

    #[test]
    fn a_shorter_value_removes_the_old_parts() {
        let vault = small_vault();
        vault.put("v1:k", &[b'x'; 6000]).unwrap();
        vault.put("v1:k", b"short").unwrap();
        assert_eq!(&vault.get("v1:k").unwrap().unwrap()[..], b"short");
        assert!(vault.get_item("v1:k#1").unwrap().is_none());
    }

    #[test]
    fn records_carry_a_version_and_other_versions_are_unreadable() {
        let vault = Vault::memory();
        vault
            .put_record("v1:r", &serde_json::json!({"A": 1}))
            .unwrap();
        assert!(matches!(
            vault.get_record::<serde_json::Value>("v1:r").unwrap(),
            Lookup::Found(v) if v["Version"] == 1
        ));
        vault.put("v1:r", br#"{"Version":2,"A":1}"#).unwrap();
        assert!(matches!(
            vault.get_record::<serde_json::Value>("v1:r").unwrap(),
            Lookup::Unreadable(_)
        ));
        vault.set_item("v1:r", b"garbage").unwrap();
        assert!(matches!(
            vault.get_record::<serde_json::Value>("v1:r").unwrap(),
            Lookup::Unreadable(_)
        ));
    }

    mod fuzz {
        use super::*;
        use crate::credentials::{LongTermKeys, SessionCredentials};
        use proptest::prelude::*;

        proptest! {
            /// Any bytes in a keychain item decode to a record, a miss or "unreadable":
            /// never a panic.
            #[test]
            fn any_stored_bytes_decode_or_read_as_unreadable(
                head in prop_oneof![
                    any::<Vec<u8>>(),
                    (1usize..4, any::<Vec<u8>>()).prop_map(|(n, b)| {
                        let mut v = format!("amp1 {n} {}\n", hex(&Sha256::digest(&b))).into_bytes();
                        v.extend(b);
                        v
                    }),
                    "\\PC{0,200}".prop_map(|s| format!("amp1 1 x\n{{\"Version\":1,{s}}}").into_bytes()),
                ],
                part in any::<Vec<u8>>(),
            ) {
                let vault = small_vault();
                vault.set_item("v1:x", &head).unwrap();
                vault.set_item("v1:x#1", &part).unwrap();
                let _ = vault.get_record::<SessionCredentials>("v1:x").unwrap();
                let _ = vault.get_record::<LongTermKeys>("v1:x").unwrap();
            }

            /// Whatever the length, a value put is the value got.
            #[test]
            fn any_value_round_trips(value in prop::collection::vec(any::<u8>(), 0..9000)) {
                let vault = small_vault();
                vault.put("v1:y", &value).unwrap();
                prop_assert_eq!(&vault.get("v1:y").unwrap().unwrap()[..], &value[..]);
            }
        }
    }
}
