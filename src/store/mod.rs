//! The keychain: versioned records, framed over items of the OS credential store.
//!
//! - [`backend`]: the stores themselves (Secret Service, macOS Keychain, Windows
//!   Credential Manager, in-memory), each call under a deadline, and the platform's
//!   choice among them; [`kernel_store`]: the kernel keyring as a store;
//! - [`frame`]: one value over one or more items, checked by a digest;
//! - [`record`]: versioned JSON records and their checks;
//! - this module: [`Vault`], which puts the three together and connects on first use.
//!
//! Invariants:
//! - every item lives under service `aws-mfa-proc` with a versioned name (`v1:…`);
//! - a read gives a record, "missing", or a typed [`Damage`]: never bytes that stand
//!   for an error;
//! - there is no plaintext fallback: if no keychain is reachable, that is the error.

mod backend;
mod choice;
pub(crate) mod kernel_store;

use std::sync::OnceLock;

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::credentials::Checked;
pub(crate) use aws_mfa_proc_front::frame::{self, single as unframe_single};
pub(crate) use aws_mfa_proc_front::record::{self, Damage};
pub(crate) use backend::{Backend, Keychain, Raw, StoreError};

/// The service every item is stored under.
pub(crate) const SERVICE: &str = "aws-mfa-proc";

/// The result of reading a record.
#[derive(Debug)]
pub(crate) enum Lookup<T> {
    Found(T),
    Missing,
    Unreadable(Damage),
}

/// A keychain connected on first use, with framing and records on top.
pub(crate) struct Vault {
    connected: OnceLock<Result<Connected, StoreError>>,
    /// The backend choice, opened on first use. A plain value, not a boxed opener:
    /// the front door builds a `Vault` it never uses, and must not link the stores.
    choice: String,
}

/// A connected store, and why it was chosen when it was not the first choice.
pub(crate) struct Connected {
    pub store: Box<dyn Keychain>,
    pub fallback: Option<String>,
}

impl Vault {
    /// The keychain named by `choice` (`AWS_MFA_PROC_KEYCHAIN`, default `auto`).
    /// Nothing is connected until an item is needed.
    pub(crate) fn open(choice: String) -> Vault {
        Vault {
            connected: OnceLock::new(),
            choice,
        }
    }

    /// An empty in-memory keychain whose items hold at most `limit` bytes.
    #[cfg(test)]
    pub(crate) fn memory_with_limit(limit: usize) -> Vault {
        Vault::with_store(backend::memory(limit))
    }

    /// A vault on an already open store.
    #[cfg(test)]
    pub(crate) fn with_store(store: Box<dyn Keychain>) -> Vault {
        Vault {
            connected: OnceLock::from(Ok(Connected {
                store,
                fallback: None,
            })),
            choice: "memory".into(),
        }
    }

    /// Two handles on one empty in-memory keychain (as two processes see one).
    #[cfg(test)]
    pub(crate) fn memory_pair() -> (Vault, Vault) {
        let store = keyring_core::mock::Store::new().expect("the mock store always builds");
        (
            Vault::with_store(backend::memory_on(store.clone(), 64 * 1024)),
            Vault::with_store(backend::memory_on(store, 64 * 1024)),
        )
    }

    #[cfg(test)]
    pub(crate) fn memory() -> Vault {
        Vault::memory_with_limit(64 * 1024)
    }

    fn store(&self) -> Result<&dyn Keychain, StoreError> {
        self.connected
            .get_or_init(|| {
                let connected = choice::open(&self.choice);
                if let Ok(c) = &connected {
                    crate::debug!("keychain: {}", c.store.backend().name());
                }
                connected
            })
            .as_ref()
            .map(|c| &*c.store)
            .map_err(Clone::clone)
    }

    /// The backend in use (connecting to it if need be).
    pub(crate) fn backend(&self) -> Result<Backend, StoreError> {
        self.store().map(|s| s.backend())
    }

    /// Whether items can be stored now, without asking anyone (see [`Keychain::check`]).
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        self.store()?.check()
    }

    /// The backend's name, and why it was chosen when it was not the first choice.
    pub(crate) fn describe(&self) -> String {
        match (self.store(), self.connected.get()) {
            (
                Ok(store),
                Some(Ok(Connected {
                    fallback: Some(why),
                    ..
                })),
            ) => format!("{}, used because {why}", store.backend().name()),
            (Ok(store), _) => store.backend().name().to_string(),
            (Err(e), _) => format!("keychain ({e})"),
        }
    }

    pub(crate) fn get_record<T: DeserializeOwned + Checked>(
        &self,
        name: &str,
    ) -> Result<Lookup<T>, StoreError> {
        Ok(match self.get(name)? {
            Lookup::Found(bytes) => match record::decode(&bytes) {
                Ok(record) => Lookup::Found(record),
                Err(damage) => Lookup::Unreadable(damage),
            },
            Lookup::Missing => Lookup::Missing,
            Lookup::Unreadable(damage) => Lookup::Unreadable(damage),
        })
    }

    /// Stores `record`; `ttl` is how long a store that can expire items keeps it.
    pub(crate) fn put_record<T: Serialize>(
        &self,
        name: &str,
        record: &T,
        ttl: Option<std::time::Duration>,
    ) -> Result<(), StoreError> {
        self.put(name, &record::encode(record), ttl)
    }

    /// The whole value stored under `name`, checked against its frame.
    fn get(&self, name: &str) -> Result<Lookup<Zeroizing<Vec<u8>>>, StoreError> {
        let store = self.store()?;
        let head = match store.get(name)? {
            Raw::Missing => return Ok(Lookup::Missing),
            Raw::Ambiguous => return Ok(Lookup::Unreadable(Damage::Ambiguous)),
            Raw::Value(head) => head,
        };
        let head = match frame::parse_head(&head) {
            Ok(head) => head,
            Err(damage) => return Ok(Lookup::Unreadable(damage)),
        };
        let mut value = Zeroizing::new(head.first.to_vec());
        for i in 1..head.parts {
            match store.get(&frame::part_name(name, i))? {
                Raw::Value(part) => value.extend_from_slice(&part),
                _ => return Ok(Lookup::Unreadable(Damage::Torn)),
            }
        }
        Ok(match head.check(&value) {
            Ok(()) => Lookup::Found(value),
            Err(damage) => Lookup::Unreadable(damage),
        })
    }

    /// Stores `value` under `name`: parts first, head last.
    fn put(
        &self,
        name: &str,
        value: &[u8],
        ttl: Option<std::time::Duration>,
    ) -> Result<(), StoreError> {
        let store = self.store()?;
        let (head, rest) = frame::split(value, store.item_limit());
        let head = Zeroizing::new(head);
        for (i, part) in rest.iter().enumerate() {
            store.set(&frame::part_name(name, i + 1), part, ttl)?;
        }
        store.set(name, &head, ttl)?;
        // Parts beyond the new count belong to an older, longer value.
        let mut stale = rest.len() + 1;
        while store.delete(&frame::part_name(name, stale))? {
            stale += 1;
        }
        Ok(())
    }

    /// Deletes `name` and its parts; `true` if it existed.
    pub(crate) fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let store = self.store()?;
        let existed = store.delete(name)?;
        let mut i = 1;
        while store.delete(&frame::part_name(name, i))? {
            i += 1;
        }
        Ok(existed)
    }

    /// The names of the items (heads only) whose name starts with `prefix`, if the
    /// backend can list them.
    pub(crate) fn names(&self, prefix: &str) -> Result<Option<Vec<String>>, StoreError> {
        let Some(all) = self.store()?.names()? else {
            return Ok(None);
        };
        let mut names: Vec<String> = all
            .into_iter()
            .filter(|n| n.starts_with(prefix) && !n.contains('#'))
            .collect();
        names.sort();
        names.dedup();
        Ok(Some(names))
    }

    /// Writes raw bytes as one item, bypassing the frame: for tests that damage items.
    #[cfg(test)]
    pub(crate) fn put_raw(&self, name: &str, bytes: &[u8]) {
        self.store().unwrap().set(name, bytes, None).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any bytes; no checks.
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Blob {
        #[serde(rename = "B")]
        b: String,
    }
    impl Checked for Blob {
        fn check(&self) -> Result<(), &'static str> {
            if self.b.contains('\n') {
                Err("newline")
            } else {
                Ok(())
            }
        }
    }

    fn blob(len: usize) -> Blob {
        Blob {
            b: (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect(),
        }
    }

    #[test]
    fn a_value_over_the_item_limit_round_trips_in_parts_of_at_most_the_limit() {
        let vault = Vault::memory_with_limit(2560);
        vault.put_record("v1:x", &blob(6000), None).unwrap();
        assert!(
            matches!(vault.get_record::<Blob>("v1:x").unwrap(), Lookup::Found(b) if b == blob(6000))
        );
        let store = vault.store().unwrap();
        for part in ["v1:x", "v1:x#1", "v1:x#2"] {
            let Raw::Value(raw) = store.get(part).unwrap() else {
                panic!("{part} missing")
            };
            assert!(raw.len() <= 2560, "{part} holds {} bytes", raw.len());
        }
        assert_eq!(vault.names("v1:").unwrap().unwrap(), ["v1:x"]);
    }

    #[test]
    fn damaged_items_read_as_their_damage_never_as_a_value() {
        let vault = Vault::memory_with_limit(2560);
        type Damaging = Box<dyn Fn(&Vault)>;
        let cases: Vec<(&str, Damaging, Damage)> = vec![
            (
                "torn",
                Box::new(|v: &Vault| {
                    v.put_record("v1:k", &blob(6000), None).unwrap();
                    // A new value's second part landed, then the writer died before the head.
                    v.put_raw("v1:k#1", &[b'n'; 2560]);
                }),
                Damage::Torn,
            ),
            (
                "unframed",
                Box::new(|v: &Vault| v.put_raw("v1:k", b"{\"Version\":1}")),
                Damage::Unframed,
            ),
            (
                "not a record",
                Box::new(|v: &Vault| v.put("v1:k", b"garbage", None).unwrap()),
                Damage::NotARecord,
            ),
            (
                "newer",
                Box::new(|v: &Vault| v.put("v1:k", br#"{"Version":2,"B":"x"}"#, None).unwrap()),
                Damage::Version(2),
            ),
            (
                "bad value",
                Box::new(|v: &Vault| {
                    v.put("v1:k", b"{\"Version\":1,\"B\":\"a\\nb\"}", None)
                        .unwrap()
                }),
                Damage::BadValue("newline"),
            ),
        ];
        for (what, damage_it, expected) in cases {
            damage_it(&vault);
            match vault.get_record::<Blob>("v1:k").unwrap() {
                Lookup::Unreadable(d) => assert_eq!(d, expected, "{what}"),
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_shorter_value_removes_the_old_parts() {
        let vault = Vault::memory_with_limit(2560);
        vault.put_record("v1:k", &blob(6000), None).unwrap();
        vault.put_record("v1:k", &blob(5), None).unwrap();
        assert!(
            matches!(vault.get_record::<Blob>("v1:k").unwrap(), Lookup::Found(b) if b == blob(5))
        );
        assert!(matches!(
            vault.store().unwrap().get("v1:k#1").unwrap(),
            Raw::Missing
        ));
        assert!(vault.delete("v1:k").unwrap());
        assert!(!vault.delete("v1:k").unwrap());
    }

    mod fuzz {
        use super::*;
        use crate::credentials::{LongTermKeys, SessionCredentials};
        use proptest::prelude::*;

        proptest! {
            /// Any bytes in a keychain item decode to a record, a miss or a damage:
            /// never a panic.
            #[test]
            fn any_stored_bytes_decode_or_read_as_damaged(
                head in prop_oneof![
                    any::<Vec<u8>>(),
                    (1usize..4, any::<Vec<u8>>()).prop_map(|(n, b)| {
                        let mut v = format!("amp1 {n} {}\n", crate::runtime::hex_digest(&b)).into_bytes();
                        v.extend(b);
                        v
                    }),
                    "\\PC{0,200}".prop_map(|s| format!("amp1 1 x\n{{\"Version\":1,{s}}}").into_bytes()),
                ],
                part in any::<Vec<u8>>(),
            ) {
                let vault = Vault::memory_with_limit(2560);
                vault.put_raw("v1:x", &head);
                vault.put_raw("v1:x#1", &part);
                let _ = vault.get_record::<SessionCredentials>("v1:x").unwrap();
                let _ = vault.get_record::<LongTermKeys>("v1:x").unwrap();
            }

            /// Whatever the length, a value put is the value got.
            #[test]
            fn any_value_round_trips(len in 0usize..9000) {
                let vault = Vault::memory_with_limit(2560);
                vault.put_record("v1:y", &blob(len), None).unwrap();
                prop_assert!(matches!(vault.get_record::<Blob>("v1:y").unwrap(), Lookup::Found(b) if b == blob(len)));
            }
        }
    }
}
