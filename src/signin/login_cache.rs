//! The AWS CLI's own sign-in cache (`aws login`): where it keeps a session's refresh
//! token and DPoP key, and in what form, so `import --from-login-session` can move
//! them into the keychain.
//!
//! As AWS CLI v2 (tag 2.36.7) writes it — `get_login_token_cache_directory`,
//! `generate_login_cache_key`, `LoginCredentialsLoader.save_token` and `JSONFileCache`
//! in `awscli/botocore/utils.py`, the token from `_exchange_auth_code_for_access_token`
//! in `awscli/customizations/login/utils.py` — and aws-config 1.8.13 reads it
//! (`login/cache.rs`):
//! - the directory is `AWS_LOGIN_CACHE_DIRECTORY` (`~` expanded), else
//!   `~/.aws/login/cache`;
//! - the file is `hex(sha256(login_session)).json` (the ARN trimmed, as aws-config does);
//! - the JSON is `{"accessToken": {"accessKeyId", "secretAccessKey", "sessionToken",
//!   "accountId", "expiresAt"}, "tokenType", "clientId", "refreshToken", "idToken",
//!   "dpopKey"}`, `dpopKey` the SEC1 PEM of the key the refresh token is bound to.
//!
//! The file holds no region: the CLI signs in, and botocore refreshes, in the profile's
//! region (else `AWS_REGION`/`AWS_DEFAULT_REGION`), which the import therefore writes
//! into the profile when it has none.
//!
//! Invariants: the refresh token and the key go straight into [`Secret`]s and the
//! file's text is zeroed once parsed; no part of the file reaches a message.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::dpop::DpopKey;
use super::stored::SignInToken;
use crate::credentials::Checked;
use crate::secret::Secret;
use crate::system::Environment;

/// The longest a sign-in session lasts: credentials that expired longer ago than this
/// belong to a session that has certainly ended.
pub(crate) const LONGEST_SESSION: Duration = Duration::from_secs(12 * 3600);

/// What the CLI cached of one sign-in.
#[derive(Debug)]
pub(crate) struct Cached {
    pub token: SignInToken,
    /// When the last credentials the CLI got expire(d).
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    access_token: Option<AccessToken>,
    client_id: Option<String>,
    refresh_token: Option<Secret<String>>,
    dpop_key: Option<Secret<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessToken {
    expires_at: Option<String>,
}

/// The cache directory the AWS CLI uses with this environment, if it can be told.
pub(crate) fn directory(env: &dyn Environment) -> Option<PathBuf> {
    let home = env.var("HOME").or_else(|| env.var("USERPROFILE"));
    match env.var("AWS_LOGIN_CACHE_DIRECTORY") {
        Some(dir) => match (dir.strip_prefix("~/"), home) {
            (Some(rest), Some(home)) => Some(PathBuf::from(home).join(rest)),
            _ => Some(PathBuf::from(dir)),
        },
        None => Some(PathBuf::from(home?).join(".aws/login/cache")),
    }
}

/// The file name of `login_session`'s token in the cache directory.
pub(crate) fn file_name(login_session: &str) -> String {
    let digest = Sha256::digest(login_session.trim().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.json")
}

/// The sign-in in `text` (the cache file) of `login_session`; the error names what is
/// missing or unusable, never a value.
pub(crate) fn parse(text: Zeroizing<String>, login_session: &str) -> Result<Cached, &'static str> {
    let file: File = serde_json::from_str(&text).map_err(|_| "it is not JSON")?;
    drop(text);
    let refresh_token = file.refresh_token.ok_or("it has no refreshToken")?;
    // aws-config accepts a key whose line breaks were written as `\n` text; so do we.
    let pem = file.dpop_key.ok_or("it has no dpopKey")?;
    let dpop_key = Secret::new(pem.expose().replace("\\n", "\n"));
    DpopKey::from_pem(&dpop_key).map_err(|_| "its dpopKey is not a P-256 key in PEM form")?;
    let token = SignInToken {
        refresh_token,
        dpop_key,
        client_id: file.client_id.ok_or("it has no clientId")?,
        login_session: login_session.trim().to_string(),
    };
    token.check().map_err(|what| match what {
        "client ID" => "its clientId is not one of the AWS CLI's sign-in clients",
        "refresh token" => "its refreshToken is malformed",
        _ => "its login session is malformed",
    })?;
    let expires_at = file
        .access_token
        .and_then(|a| a.expires_at)
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(Cached { token, expires_at })
}

impl Cached {
    /// Whether the session has certainly ended at `now`: its last credentials expired
    /// longer ago than a session can last.
    pub(crate) fn ended(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| {
            now.signed_duration_since(at).to_std().unwrap_or_default() > LONGEST_SESSION
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::FakeEnv;

    const PERSON: &str = "arn:aws:iam::111111111111:user/alice";

    fn file(fields: serde_json::Value) -> Zeroizing<String> {
        Zeroizing::new(fields.to_string())
    }

    fn cli_file(expires_at: &str) -> serde_json::Value {
        let key = DpopKey::generate().unwrap().to_pem().unwrap();
        serde_json::json!({
            "accessToken": {"accessKeyId": "ASIAEXAMPLE", "secretAccessKey": "s",
                            "sessionToken": "t", "accountId": "111111111111",
                            "expiresAt": expires_at},
            "tokenType": "aws_sigv4",
            "clientId": super::super::SAME_DEVICE,
            "refreshToken": "ASORexample",
            "idToken": "a.b.c",
            "dpopKey": key.expose(),
        })
    }

    #[test]
    fn the_file_is_named_and_placed_as_the_aws_cli_does() {
        // The digest aws-config's own test expects for this session.
        assert_eq!(
            file_name("  arn:aws:iam::0123456789012:user/Admin  "),
            "36db1d138ff460920374e4c3d8e01f53f9f73537e89c88d639f68393df0e2726.json"
        );
        let env = FakeEnv::default().with("HOME", "/home/alice");
        assert_eq!(
            directory(&env),
            Some(PathBuf::from("/home/alice/.aws/login/cache"))
        );
        let env = env.with("AWS_LOGIN_CACHE_DIRECTORY", "~/elsewhere");
        assert_eq!(
            directory(&env),
            Some(PathBuf::from("/home/alice/elsewhere"))
        );
    }

    #[test]
    fn a_cli_cache_file_becomes_the_keychain_record() {
        let cached = parse(file(cli_file("2026-01-01T10:00:00Z")), PERSON).unwrap();
        assert_eq!(cached.token.refresh_token.expose(), "ASORexample");
        assert_eq!(cached.token.client_id, super::super::SAME_DEVICE);
        assert_eq!(cached.token.login_session, PERSON);
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert!(!cached.ended(at("2026-01-01T21:59:00Z")));
        assert!(cached.ended(at("2026-01-01T22:01:00Z")));
    }

    #[test]
    fn a_broken_file_is_named_by_what_it_lacks_and_shows_no_value() {
        let mut no_key = cli_file("2026-01-01T10:00:00Z");
        no_key["dpopKey"] = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n".into();
        let mut other_client = cli_file("2026-01-01T10:00:00Z");
        other_client["clientId"] = "arn:aws:signin:::devtools/other".into();
        let mut no_token = cli_file("2026-01-01T10:00:00Z");
        no_token.as_object_mut().unwrap().remove("refreshToken");
        let cases = [
            (Zeroizing::new("ASOR{".to_string()), "not JSON"),
            (file(no_key), "dpopKey"),
            (file(other_client), "clientId"),
            (file(no_token), "refreshToken"),
        ];
        for (text, why) in cases {
            let e = parse(text, PERSON).unwrap_err();
            assert!(e.contains(why), "{e}");
            assert!(!e.contains("ASOR"), "{e}");
        }
    }
}
