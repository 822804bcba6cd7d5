//! Framing: how one value is laid over one or more keychain items.
//!
//! A value is stored as a head item `amp1 PARTS SHA256\n` + the first bytes, and, when
//! it is longer than the backend's item limit (Windows Credential Manager: 2,560 bytes;
//! session tokens can be several KB), further parts `NAME#1`, `NAME#2`, ….
//!
//! Invariants:
//! - parts are written before the head, so a write cut off half-way leaves either the
//!   old head (whose digest no longer matches: torn) or the new one over complete parts;
//! - a value reads back only if its parts hash to the head's digest; anything else is a
//!   typed [`Damage`], never bytes that pretend to be a value.

use crate::digest::hex_digest;

use crate::record::Damage;

const MAGIC: &str = "amp1";
/// Room for `amp1 PARTS DIGEST\n`.
const HEAD_ROOM: usize = MAGIC.len() + 64 + 16;
const MAX_PARTS: usize = 64;

/// The item name of part `i` (1-based) of the value stored under `name`.
pub fn part_name(name: &str, i: usize) -> String {
    format!("{name}#{i}")
}

/// The head item and the further parts for `value`, with items of at most `limit` bytes.
pub fn split(value: &[u8], limit: usize) -> (Vec<u8>, Vec<&[u8]>) {
    let first = value.len().min(limit - HEAD_ROOM);
    let rest: Vec<&[u8]> = value[first..].chunks(limit).collect();
    let mut head = format!("{MAGIC} {} {}\n", rest.len() + 1, hex_digest(value)).into_bytes();
    head.extend_from_slice(&value[..first]);
    (head, rest)
}

/// A parsed head: how many parts, the digest of the whole, and the first bytes.
pub struct Head<'a> {
    pub parts: usize,
    digest: &'a str,
    pub first: &'a [u8],
}

pub fn parse_head(head: &[u8]) -> Result<Head<'_>, Damage> {
    let parse = || {
        let newline = head.iter().position(|&b| b == b'\n')?;
        let header = std::str::from_utf8(&head[..newline]).ok()?;
        let mut fields = header.split(' ');
        if fields.next()? != MAGIC {
            return None;
        }
        let parts: usize = fields.next()?.parse().ok()?;
        let digest = fields.next()?;
        (1..=MAX_PARTS).contains(&parts).then_some(Head {
            parts,
            digest,
            first: &head[newline + 1..],
        })
    };
    parse().ok_or(Damage::Unframed)
}

impl Head<'_> {
    /// `Ok` if `whole` (the first bytes and every part, joined) is what the head promised.
    pub fn check(&self, whole: &[u8]) -> Result<(), Damage> {
        if hex_digest(whole) == self.digest {
            Ok(())
        } else {
            Err(Damage::Torn)
        }
    }
}

/// The value of a head item that needs no further parts, checked against its digest.
pub fn single(head: &[u8]) -> Option<&[u8]> {
    let parsed = parse_head(head).ok()?;
    (parsed.parts == 1 && parsed.check(parsed.first).is_ok()).then_some(parsed.first)
}
