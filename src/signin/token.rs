//! The two token calls of a sign-in, each with a DPoP proof from the session's key:
//! `authorization_code` (after the browser) and `refresh_token` (every 15 minutes at
//! most), with the service's refusals turned into messages that name the fix.
//!
//! Invariants:
//! - a refresh token is sent with the key it is bound to and nothing else; the new one
//!   that comes back replaces it (the old one is spent);
//! - a proof's `iat` is the clock's now, its `htu` the URL the request goes to.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::dpop::DpopKey;
use super::pkce::Attempt;
use super::refusal::Refusal;
use crate::aws::{AwsError, Grant, Place, Prove, SignInService, Tokens};
use crate::secret::Secret;

/// DPoP proofs from one key, stamped with one time.
struct Proofs {
    key: Arc<DpopKey>,
    iat: i64,
}

impl Prove for Proofs {
    fn proof(&self, htu: &str) -> Result<String, String> {
        self.key.proof(htu, self.iat).map_err(|e| e.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    Aws(AwsError),
}

impl TokenError {
    /// Whether the session is over and only signing in again helps.
    pub(crate) fn ends_the_session(&self) -> bool {
        matches!(self, TokenError::Refused(r) if r.ends_the_session())
    }
}

/// What every token call needs besides its grant.
pub(crate) struct Call<'a> {
    pub service: &'a dyn SignInService,
    pub place: &'a Place,
    pub profile: &'a str,
    pub key: &'a Arc<DpopKey>,
    pub now: DateTime<Utc>,
}

impl Call<'_> {
    fn send(&self, client_id: &str, grant: &Grant<'_>) -> Result<Tokens, TokenError> {
        let proofs = Arc::new(Proofs {
            key: self.key.clone(),
            iat: self.now.timestamp(),
        });
        self.service
            .token(self.place, client_id, grant, proofs, self.now)
            .map_err(|e| match e {
                AwsError::SignInRefused { code } => {
                    TokenError::Refused(Refusal::from_code(self.profile, &code))
                }
                other => TokenError::Aws(other),
            })
    }

    /// Redeems the code the browser brought back for `attempt`.
    pub(crate) fn redeem(
        &self,
        attempt: &Attempt,
        code: &Secret<String>,
    ) -> Result<Tokens, TokenError> {
        self.send(
            attempt.client_id(),
            &Grant::Code {
                code,
                verifier: attempt.verifier(),
                redirect_uri: attempt.redirect_uri(),
            },
        )
    }

    /// Spends `refresh_token` (of the sign-in made by `client_id`) for new credentials
    /// and the next refresh token.
    pub(crate) fn refresh(
        &self,
        client_id: &str,
        refresh_token: &Secret<String>,
    ) -> Result<Tokens, TokenError> {
        self.send(client_id, &Grant::Refresh(refresh_token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::twin_signin::{LIFETIME, LOGIN_SESSION, MemorySignIn};
    use crate::signin::pkce::Device;
    use crate::signin::{CROSS_DEVICE, SAME_DEVICE};

    fn place() -> Place {
        Place {
            region: "eu-west-1".into(),
            endpoint: Some("https://eu-west-1.signin.aws.amazon.com".into()),
        }
    }

    fn call<'a>(service: &'a MemorySignIn, place: &'a Place, key: &'a Arc<DpopKey>) -> Call<'a> {
        Call {
            service,
            place,
            profile: "signin",
            key,
            now: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_code_is_redeemed_once_for_credentials_a_refresh_token_and_who_signed_in() {
        let (service, place) = (MemorySignIn::default(), place());
        let key = Arc::new(DpopKey::generate().unwrap());
        let call = call(&service, &place, &key);
        let attempt = Attempt::new(place.endpoint.as_deref().unwrap(), Device::Cross).unwrap();
        let code = service.code();
        let tokens = call.redeem(&attempt, &code).unwrap();
        assert_eq!(tokens.login_session.as_deref(), Some(LOGIN_SESSION));
        assert_eq!(
            tokens.credentials.remaining(call.now).num_seconds(),
            LIFETIME
        );
        assert_eq!(
            *service.calls.borrow(),
            [("authorization_code".to_string(), CROSS_DEVICE.to_string())]
        );
        // The same code again: the service's AUTHCODE_EXPIRED, named for the profile.
        let again = call.redeem(&attempt, &code).unwrap_err();
        assert!(!again.ends_the_session());
        assert!(
            again.to_string().contains("aws-mfa-proc login signin"),
            "{again}"
        );
    }

    #[test]
    fn each_refresh_spends_its_token_and_the_next_one_comes_back() {
        let (service, place) = (MemorySignIn::default(), place());
        let key = Arc::new(DpopKey::generate().unwrap());
        let call = call(&service, &place, &key);
        let first = service.seed();
        let second = call.refresh(SAME_DEVICE, &first).unwrap().refresh_token;
        let third = call.refresh(SAME_DEVICE, &second).unwrap();
        assert_ne!(third.credentials.access_key_id, "");
        assert_eq!(third.login_session, None, "only the code grant says who");
        assert_eq!(service.refreshes(), 2);
        // A spent token ends the session: this is what parallel refreshes cause.
        let reused = call.refresh(SAME_DEVICE, &second).unwrap_err();
        assert!(reused.ends_the_session(), "{reused}");
        assert!(call.refresh(SAME_DEVICE, &third.refresh_token).is_err());
    }

    #[test]
    fn the_services_refusals_name_the_fix_for_the_profile() {
        // (scripted error, whether the session is over, words in the message)
        let cases = [
            ("TOKEN_EXPIRED", true, "has ended"),
            ("USER_CREDENTIALS_CHANGED", true, "password"),
            (
                "INSUFFICIENT_PERMISSIONS",
                false,
                "SignInLocalDevelopmentAccess",
            ),
        ];
        for (error, ends, words) in cases {
            let (service, place) = (MemorySignIn::default(), place());
            let key = Arc::new(DpopKey::generate().unwrap());
            let token = service.seed();
            service.fail_next_with(error);
            let err = call(&service, &place, &key)
                .refresh(SAME_DEVICE, &token)
                .unwrap_err();
            assert_eq!(err.ends_the_session(), ends, "{error}");
            let message = err.to_string();
            assert!(message.contains(words), "{error}: {message}");
            assert!(message.contains("profile `signin`"), "{error}: {message}");
        }
    }
}
