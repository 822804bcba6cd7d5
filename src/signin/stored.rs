//! What the keychain keeps of a sign-in: the refresh token, the DPoP key it is bound
//! to, the client that signed in, and who signed in (item `v1:signin:PROFILE`, see
//! [`crate::cache::signin_item`]).
//!
//! Invariants:
//! - this record lives only in the keychain (never a kernel fast copy, never a file):
//!   the refresh token and the key are [`Secret`]s, and what is read back is used only
//!   after [`Checked::check`];
//! - after a refresh the new token replaces the spent one before the credentials are
//!   handed out.

use serde::{Deserialize, Serialize};

use super::{CROSS_DEVICE, SAME_DEVICE};
use crate::credentials::Checked;
use crate::secret::Secret;

/// The most a refresh token may take (the service's are a few hundred bytes).
const MAX_TOKEN: usize = 8 * 1024;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SignInToken {
    #[serde(rename = "RefreshToken")]
    pub refresh_token: Secret<String>,
    /// The DPoP private key, SEC1 PEM as the AWS CLI caches it.
    #[serde(rename = "DpopKey")]
    pub dpop_key: Secret<String>,
    /// [`SAME_DEVICE`] or [`CROSS_DEVICE`]: the client a refresh names.
    #[serde(rename = "ClientId")]
    pub client_id: String,
    /// Who signed in (an ARN), or empty if the service did not say.
    #[serde(rename = "LoginSession")]
    pub login_session: String,
}

impl Checked for SignInToken {
    fn check(&self) -> Result<(), &'static str> {
        let token = self.refresh_token.expose();
        if token.is_empty()
            || token.len() > MAX_TOKEN
            || !token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err("refresh token");
        }
        if !self.dpop_key.expose().starts_with("-----BEGIN ") {
            return Err("DPoP key");
        }
        if self.client_id != SAME_DEVICE && self.client_id != CROSS_DEVICE {
            return Err("client ID");
        }
        if self.login_session.len() > 2048 || self.login_session.chars().any(char::is_control) {
            return Err("login session");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(refresh: &str, key: &str, client: &str, who: &str) -> SignInToken {
        SignInToken {
            refresh_token: Secret::new(refresh.into()),
            dpop_key: Secret::new(key.into()),
            client_id: client.into(),
            login_session: who.into(),
        }
    }

    #[test]
    fn only_a_well_formed_record_is_used() {
        let key = "-----BEGIN EC PRIVATE KEY-----\n...";
        let who = "arn:aws:iam::111111111111:user/alice";
        assert_eq!(token("ASOR1", key, SAME_DEVICE, who).check(), Ok(()));
        assert_eq!(token("ASOR1", key, CROSS_DEVICE, "").check(), Ok(()));
        let bad = [
            token("", key, SAME_DEVICE, who),
            token("a b", key, SAME_DEVICE, who),
            token("ASOR1", "not a key", SAME_DEVICE, who),
            token("ASOR1", key, "arn:aws:signin:::devtools/other", who),
            token("ASOR1", key, SAME_DEVICE, "a\nb"),
        ];
        for t in bad {
            assert!(t.check().is_err(), "{t:?}");
        }
        assert!(!format!("{:?}", token("ASOR1", key, SAME_DEVICE, who)).contains("ASOR1"));
    }
}
