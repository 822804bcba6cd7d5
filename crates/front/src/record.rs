//! Records: the versioned JSON values kept in the keychain (and in the kernel copies).
//!
//! Invariants:
//! - every record carries `"Version":1`; another version, or anything that is not a
//!   record, decodes to a typed [`Damage`];
//! - a record decodes only if its values are well-formed ([`Checked`]): a tampered
//!   item can never put a newline or a quote into what is printed or written;
//! - the encoded bytes live in zeroed-on-drop buffers.

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::credentials::Checked;

pub const VERSION: u32 = 1;

/// A record from bytes.
pub fn decode<T: DeserializeOwned + Checked>(bytes: &[u8]) -> Result<T, Damage> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        #[serde(rename = "Version")]
        version: u32,
    }
    match serde_json::from_slice::<Versioned>(bytes) {
        Ok(v) if v.version == VERSION => {}
        Ok(v) => return Err(Damage::Version(v.version)),
        Err(_) => return Err(Damage::NotARecord),
    }
    let record: T = serde_json::from_slice(bytes).map_err(|e| Damage::BadRecord(e.classify()))?;
    record.check().map_err(Damage::BadValue)?;
    Ok(record)
}

/// A record's bytes, with its version, in a buffer that is zeroed when dropped.
pub fn encode<T: Serialize>(record: &T) -> Zeroizing<Vec<u8>> {
    #[derive(Serialize)]
    struct Versioned<'a, T> {
        #[serde(rename = "Version")]
        version: u32,
        #[serde(flatten)]
        record: &'a T,
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(8 * 1024));
    serde_json::to_writer(
        &mut *bytes,
        &Versioned {
            version: VERSION,
            record,
        },
    )
    .expect("records serialize");
    bytes
}

/// Why an item that exists cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Damage {
    #[error("not written by aws-mfa-proc (no frame)")]
    Unframed,
    #[error("torn: its parts do not match (an interrupted write)")]
    Torn,
    #[error("several items share its name")]
    Ambiguous,
    #[error("not a record")]
    NotARecord,
    #[error("record version {0}, from another version of aws-mfa-proc")]
    Version(u32),
    #[error("a record with bad fields ({0:?})")]
    BadRecord(serde_json::error::Category),
    #[error("a record with a malformed value ({0})")]
    BadValue(&'static str),
}
