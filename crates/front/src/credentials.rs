//! The two kinds of AWS credentials this tool handles, as plain data, and the shape
//! their values must have.
//!
//! Invariants:
//! - every secret field is a [`Secret`], so these types can be logged with `{:?}` and put
//!   in errors without revealing anything;
//! - values that came from outside (STS, the keychain, the kernel copy) are used only
//!   after [`Checked::check`]: access key IDs are `[A-Z0-9]`, secrets and tokens use the
//!   base64 alphabet. Nothing else can reach an output, a file or an environment.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Long-term IAM user keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LongTermKeys {
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    pub secret_access_key: Secret<String>,
    /// While a rotation is under way: the key these replace, which may still exist.
    #[serde(
        rename = "RotatedFrom",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rotated_from: Option<String>,
}

/// An MFA session from STS GetSessionToken, or a role session, as cached.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionCredentials {
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    pub secret_access_key: Secret<String>,
    #[serde(rename = "SessionToken")]
    pub session_token: Secret<String>,
    #[serde(rename = "Expiration")]
    pub expiration: DateTime<Utc>,
    /// The long-term access key this session was made from (not a secret).
    #[serde(rename = "SourceAccessKeyId")]
    pub source_access_key_id: String,
}

impl SessionCredentials {
    /// Time left at `now`; negative once expired.
    pub fn remaining(&self, now: DateTime<Utc>) -> chrono::Duration {
        self.expiration - now
    }
}

/// An access key ID: 16 to 128 upper-case letters and digits.
pub fn is_access_key_id(id: &str) -> bool {
    (16..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A secret or a token: 1 to `max` characters of the base64 alphabet.
pub fn is_base64ish(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

/// Session tokens are long (AWS says to assume nothing; up to 4 KB seen).
const MAX_TOKEN: usize = 16 * 1024;
const MAX_SECRET: usize = 256;

/// An access key ID and its secret.
fn check_key_pair(id: &str, secret: &Secret<String>) -> Result<(), &'static str> {
    if !is_access_key_id(id) {
        return Err("access key ID");
    }
    if !is_base64ish(secret.expose(), MAX_SECRET) {
        return Err("secret access key");
    }
    Ok(())
}

/// A value whose parts can be checked after it was decoded (from a keychain record, a
/// kernel copy, or an AWS answer): the one test of what may be printed or written.
pub trait Checked {
    /// Why the decoded values are unusable, if they are.
    fn check(&self) -> Result<(), &'static str>;
}

impl Checked for LongTermKeys {
    fn check(&self) -> Result<(), &'static str> {
        check_key_pair(&self.access_key_id, &self.secret_access_key)
    }
}

impl Checked for SessionCredentials {
    fn check(&self) -> Result<(), &'static str> {
        check_key_pair(&self.access_key_id, &self.secret_access_key)?;
        if !is_base64ish(self.session_token.expose(), MAX_TOKEN) {
            return Err("session token");
        }
        if !is_access_key_id(&self.source_access_key_id) {
            return Err("source access key ID");
        }
        Ok(())
    }
}

/// RFC 3339 in UTC with `Z` and whole seconds: the one timestamp format every SDK parses.
pub fn iso8601(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_z() {
        let t = DateTime::parse_from_rfc3339("2026-11-21T13:00:00.75+01:00").unwrap();
        assert_eq!(iso8601(t.with_timezone(&Utc)), "2026-11-21T12:00:00Z");
    }

    #[test]
    fn only_well_formed_values_pass() {
        let session = |id: &str, secret: &str, token: &str| SessionCredentials {
            access_key_id: id.into(),
            secret_access_key: Secret::new(secret.into()),
            session_token: Secret::new(token.into()),
            expiration: Utc::now(),
            source_access_key_id: "AKIAEXAMPLE00001".into(),
        };
        let good = session(
            "ASIAEXAMPLE00001",
            "wJalr/K7MDENG+bPxRfi=",
            "AQoEXAMPLEH4aoAH0gNCAPy+/=",
        );
        assert_eq!(good.check(), Ok(()));
        let bad = [
            session("asiaexample00001", "s", "t"),
            session("ASIA", "s", "t"),
            session("ASIAEXAMPLE00001", "a\nb", "t"),
            session("ASIAEXAMPLE00001", "s", "t'; rm -rf ~"),
            session("ASIAEXAMPLE00001", "", "t"),
            session(
                "ASIAEXAMPLE00001",
                "s",
                "t\n[evil]\ncredential_process = sh",
            ),
        ];
        for s in bad {
            assert!(s.check().is_err(), "{s:?}");
        }
    }
}
