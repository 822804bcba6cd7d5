//! The only writer to stdout.
//!
//! Invariant: in credential mode stdout carries exactly one JSON object, written in one
//! call, and only on success; nothing else in the program may print.

#![allow(clippy::print_stdout)]

use std::io::Write;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::credentials::{SessionCredentials, iso8601};

/// The credential_process document, as every SDK parses it.
pub fn credential_process(c: &SessionCredentials) -> std::io::Result<()> {
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
    let mut bytes = Zeroizing::new(serde_json::to_vec(&document)?);
    bytes.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&bytes)?;
    stdout.flush()
}

/// A line of a human-facing report (`status`).
pub fn report(line: &str) {
    println!("{line}");
}
