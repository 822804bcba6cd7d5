//! The in-memory twin of AWS: STS that accepts any code but `000000`, and one IAM
//! user (`alice`) whose access keys live in a list. Calls are recorded; a test can make
//! the next DeleteAccessKey calls fail, as a crash or a network cut would, or have STS
//! refuse every key CreateAccessKey makes.

use std::cell::{Cell, RefCell};

use chrono::{DateTime, Utc};

use super::{AccessKey, Aws, AwsError, Place, Service, Signer, Sts};
use crate::config::{RoleSettings, Settings};
use crate::credentials::{LongTermKeys, SessionCredentials};
use crate::secret::Secret;

pub(crate) const USER_ARN: &str = "arn:aws:iam::111111111111:user/alice";

pub(crate) struct MemoryAws {
    /// The TokenCode of every GetSessionToken.
    pub calls: RefCell<Vec<String>>,
    /// The MFA session key each AssumeRole was made with.
    pub roles: RefCell<Vec<String>>,
    /// The time STS issues sessions at.
    pub now: Cell<DateTime<Utc>>,
    /// alice's access key IDs, in IAM.
    pub keys: RefCell<Vec<String>>,
    /// How many DeleteAccessKey calls fail before one works.
    pub failing_deletes: Cell<usize>,
    /// How many calls signed with a key made by CreateAccessKey STS refuses as an
    /// unknown key first (IAM is eventually consistent); `usize::MAX`: for ever.
    pub new_key_refusals: Cell<usize>,
    /// AWS Sign-In.
    pub signin: super::twin_signin::MemorySignIn,
    created: Cell<usize>,
}

/// A well-formed access key ID, numbered.
pub(crate) fn key_id(prefix: &str, n: usize) -> String {
    format!("{prefix}{n:0>12}")
}

impl MemoryAws {
    pub(crate) fn new(now: DateTime<Utc>, keys: &[&str]) -> MemoryAws {
        MemoryAws {
            calls: RefCell::default(),
            roles: RefCell::default(),
            now: Cell::new(now),
            keys: RefCell::new(keys.iter().map(|k| k.to_string()).collect()),
            failing_deletes: Cell::new(0),
            new_key_refusals: Cell::new(0),
            signin: Default::default(),
            created: Cell::new(0),
        }
    }

    fn known(&self, id: &str) -> Result<(), AwsError> {
        if self.keys.borrow().iter().any(|k| k == id) {
            Ok(())
        } else {
            Err(AwsError::InvalidKeys(id.to_string()))
        }
    }
}

impl Sts for MemoryAws {
    fn get_session_token(
        &self,
        s: &Settings,
        keys: &LongTermKeys,
        code: &str,
    ) -> Result<SessionCredentials, AwsError> {
        self.calls.borrow_mut().push(code.to_string());
        if code == "000000" {
            return Err(AwsError::WrongCode);
        }
        Ok(SessionCredentials {
            access_key_id: key_id("ASIA", self.calls.borrow().len()),
            secret_access_key: Secret::new("sessionsecret".into()),
            session_token: Secret::new("sessiontoken".into()),
            expiration: self.now.get() + chrono::Duration::from_std(s.duration).unwrap(),
            source_access_key_id: keys.access_key_id.clone(),
        })
    }

    fn assume_role(
        &self,
        role: &RoleSettings,
        session: &SessionCredentials,
    ) -> Result<SessionCredentials, AwsError> {
        self.roles.borrow_mut().push(session.access_key_id.clone());
        Ok(SessionCredentials {
            access_key_id: key_id("ASIAROLE", self.roles.borrow().len()),
            secret_access_key: Secret::new("rolesecret".into()),
            session_token: Secret::new("roletoken".into()),
            expiration: self.now.get() + chrono::Duration::from_std(role.duration).unwrap(),
            source_access_key_id: session.source_access_key_id.clone(),
        })
    }
}

impl super::SignInService for MemoryAws {
    fn token(
        &self,
        place: &Place,
        client_id: &str,
        grant: &super::Grant<'_>,
        prover: std::sync::Arc<dyn super::Prove>,
        now: DateTime<Utc>,
    ) -> Result<super::Tokens, AwsError> {
        self.signin.token(place, client_id, grant, prover, now)
    }
}

impl Aws for MemoryAws {
    fn caller(&self, _: &Place, signer: Signer<'_>) -> Result<String, AwsError> {
        if let Signer::Keys(keys) = signer {
            self.known(&keys.access_key_id)?;
            let refusals = self.new_key_refusals.get();
            if refusals > 0 && keys.access_key_id.starts_with("AKIANEW") {
                if refusals != usize::MAX {
                    self.new_key_refusals.set(refusals - 1);
                }
                return Err(AwsError::InvalidKeys(keys.access_key_id.clone()));
            }
        }
        Ok(USER_ARN.into())
    }
    fn mfa_devices(
        &self,
        _: &Place,
        keys: &LongTermKeys,
        _: &str,
    ) -> Result<Vec<String>, AwsError> {
        self.known(&keys.access_key_id)?;
        Ok(vec!["arn:aws:iam::111111111111:mfa/alice".into()])
    }
    fn access_keys(&self, _: &Place, _: Signer<'_>, _: &str) -> Result<Vec<AccessKey>, AwsError> {
        Ok(self
            .keys
            .borrow()
            .iter()
            .map(|id| AccessKey {
                id: id.clone(),
                active: true,
            })
            .collect())
    }
    fn create_access_key(
        &self,
        _: &Place,
        _: &SessionCredentials,
        _: &str,
    ) -> Result<LongTermKeys, AwsError> {
        if self.keys.borrow().len() >= 2 {
            return Err(AwsError::Refused {
                service: Service::Iam,
                code: "LimitExceeded".into(),
                message: "Cannot exceed quota for AccessKeysPerUser: 2".into(),
            });
        }
        self.created.set(self.created.get() + 1);
        let id = key_id("AKIANEW", self.created.get());
        self.keys.borrow_mut().push(id.clone());
        Ok(LongTermKeys {
            access_key_id: id,
            secret_access_key: Secret::new("newsecret".into()),
            rotated_from: None,
        })
    }
    fn delete_access_key(
        &self,
        _: &Place,
        _: &SessionCredentials,
        _: &str,
        id: &str,
    ) -> Result<(), AwsError> {
        if self.failing_deletes.get() > 0 {
            self.failing_deletes.set(self.failing_deletes.get() - 1);
            return Err(AwsError::Timeout {
                service: Service::Iam,
                endpoint: "https://iam.amazonaws.com".into(),
            });
        }
        self.known(id)?;
        self.keys.borrow_mut().retain(|k| k != id);
        Ok(())
    }
    fn signin_token(&self, _: &str, _: &SessionCredentials) -> Result<String, AwsError> {
        Ok("signin-token".into())
    }
    fn server_time(&self, _: &Place) -> Result<DateTime<Utc>, AwsError> {
        Ok(self.now.get())
    }
}
