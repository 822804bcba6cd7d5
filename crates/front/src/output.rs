//! The credential_process document: the only thing the front door prints.
//!
//! Invariants:
//! - stdout carries exactly one JSON object, written in one call, and only on success;
//! - values reach it only after their shape was checked (see [`crate::credentials`]);
//! - the buffer that holds the secrets is zeroed when dropped.

use std::io::Write;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::credentials::{SessionCredentials, iso8601};

/// The credential_process document, as every SDK parses it.
pub fn credential_process(out: &mut dyn Write, c: &SessionCredentials) -> std::io::Result<()> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Document<'a> {
        version: u8,
        access_key_id: &'a str,
        secret_access_key: &'a str,
        session_token: &'a str,
        expiration: String,
    }
    let document = Document {
        version: 1,
        access_key_id: &c.access_key_id,
        secret_access_key: c.secret_access_key.expose(),
        session_token: c.session_token.expose(),
        expiration: iso8601(c.expiration),
    };
    let mut bytes = Zeroizing::new(Vec::with_capacity(
        c.session_token.expose().len() + c.secret_access_key.expose().len() + 256,
    ));
    serde_json::to_writer(&mut *bytes, &document)?;
    bytes.push(b'\n');
    out.write_all(&bytes)?;
    out.flush()
}
