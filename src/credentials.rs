//! The two kinds of AWS credentials this tool handles, as plain data.
//!
//! Invariant: every secret field is a [`Secret`], so these types can be logged with
//! `{:?}` and put in errors without revealing anything.

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
}

/// An MFA session from STS GetSessionToken, as cached in the keychain.
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
}
