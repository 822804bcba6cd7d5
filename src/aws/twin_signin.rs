//! The in-memory twin of AWS Sign-In's token endpoint, with the service's rules that
//! matter to a client: a code works once, a refresh token works once and a second use
//! ends the session (`TOKEN_EXPIRED` from then on), every call carries a DPoP proof for
//! the token URL. Calls are recorded; a test can script the next refusal.

use std::cell::{Cell, RefCell};
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{AwsError, Grant, Place, Prove, SignInService, Tokens};
use crate::credentials::SessionCredentials;
use crate::secret::Secret;

/// The person who signs in.
pub(crate) const LOGIN_SESSION: &str = "arn:aws:iam::111111111111:user/alice";
/// The URL the twin's proofs must be made for.
pub(crate) const TOKEN_URL: &str = "https://eu-west-1.signin.aws.amazon.com/v1/token";
/// How long the twin's credentials last, as the service's.
pub(crate) const LIFETIME: i64 = 900;

#[derive(Default)]
pub(crate) struct MemorySignIn {
    /// Each call's grant and client ID, in order.
    pub calls: RefCell<Vec<(String, String)>>,
    /// The refresh token that works next, if the session lives.
    live: RefCell<Option<String>>,
    spent: RefCell<HashSet<String>>,
    codes: RefCell<HashSet<String>>,
    scripted: RefCell<VecDeque<&'static str>>,
    issued: Cell<usize>,
}

impl MemorySignIn {
    /// A code the person's browser would bring back.
    pub(crate) fn code(&self) -> Secret<String> {
        let code = format!("code{}", self.codes.borrow().len() + 1);
        self.codes.borrow_mut().insert(code.clone());
        Secret::new(code)
    }

    /// A session signed in earlier: its live refresh token.
    pub(crate) fn seed(&self) -> Secret<String> {
        Secret::new(self.rotate())
    }

    /// The next token call is refused with `AccessDeniedException` `error`.
    pub(crate) fn fail_next_with(&self, error: &'static str) {
        self.scripted.borrow_mut().push_back(error);
    }

    /// How many refresh grants succeeded.
    pub(crate) fn refreshes(&self) -> usize {
        self.issued.get()
            - self
                .calls
                .borrow()
                .iter()
                .filter(|c| c.0 == "authorization_code")
                .count()
    }

    fn rotate(&self) -> String {
        let token = format!(
            "refresh{}",
            self.spent.borrow().len() + self.issued.get() + 1
        );
        *self.live.borrow_mut() = Some(token.clone());
        token
    }

    fn judge(&self, grant: &Grant<'_>) -> Result<(), &'static str> {
        match grant {
            Grant::Code { code, .. } => {
                if !self.codes.borrow_mut().remove(code.expose()) {
                    return Err("AUTHCODE_EXPIRED");
                }
            }
            Grant::Refresh(token) => {
                let token = token.expose();
                if self.spent.borrow().contains(token) {
                    // Reuse ends the session.
                    *self.live.borrow_mut() = None;
                    return Err("TOKEN_EXPIRED");
                }
                if self.live.borrow().as_deref() != Some(token.as_str()) {
                    return Err("TOKEN_EXPIRED");
                }
                self.spent.borrow_mut().insert(token.clone());
            }
        }
        match self.scripted.borrow_mut().pop_front() {
            Some(error) => {
                if matches!(error, "TOKEN_EXPIRED" | "USER_CREDENTIALS_CHANGED") {
                    *self.live.borrow_mut() = None;
                }
                Err(error)
            }
            None => Ok(()),
        }
    }
}

impl SignInService for MemorySignIn {
    fn token(
        &self,
        _: &Place,
        client_id: &str,
        grant: &Grant<'_>,
        prover: Arc<dyn Prove>,
        now: DateTime<Utc>,
    ) -> Result<Tokens, AwsError> {
        self.calls
            .borrow_mut()
            .push((grant.name().to_string(), client_id.to_string()));
        let proof = prover.proof(TOKEN_URL).expect("a DPoP proof");
        assert_eq!(proof.split('.').count(), 3, "a DPoP proof is a JWT");
        self.judge(grant).map_err(|code| AwsError::SignInRefused {
            code: code.to_string(),
        })?;
        self.issued.set(self.issued.get() + 1);
        let n = self.issued.get();
        let id = format!("ASIASIGNIN{n:010}");
        Ok(Tokens {
            credentials: SessionCredentials {
                access_key_id: id.clone(),
                secret_access_key: Secret::new(format!("signinsecret{n}")),
                session_token: Secret::new(format!("signintoken{n}")),
                expiration: now + chrono::Duration::seconds(LIFETIME),
                source_access_key_id: id,
            },
            refresh_token: Secret::new(self.rotate()),
            login_session: matches!(grant, Grant::Code { .. }).then(|| LOGIN_SESSION.into()),
        })
    }
}
