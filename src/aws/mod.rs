//! AWS: the only network code. STS (sessions, roles, who am I), IAM (MFA devices,
//! access keys), the console's federation endpoint and AWS Sign-In's token endpoint,
//! behind small traits ([`Aws`], [`SignInService`]) whose real implementation is
//! [`RealAws`].
//!
//! Invariants:
//! - this is the only module that builds an AWS SDK client, an HTTP client or a tokio
//!   runtime, and it does so only when a call is about to be made: the cached path
//!   never gets here;
//! - clients are built explicitly (region, static credentials, endpoint) instead of
//!   through `aws_config::load_defaults`, which probes instance metadata;
//! - every call is bounded: connect and read timeouts, a few retries, an overall
//!   deadline; every failure maps to an error that names the fix, quoting at most 300
//!   characters of what the service said;
//! - secrets and codes are passed to the SDK and nowhere else; the SDK's tracing is
//!   never forwarded to our logs;
//! - every ARN, MFA serial and access key ID an answer carries is checked
//!   ([`answers`]) before it is handed on, to be stored, written to a config or shown.

pub(crate) mod answers;
mod client;
mod endpoint;
mod http;
mod iam;
mod signin;
mod sts;
#[cfg(test)]
pub(crate) mod twin;
#[cfg(test)]
pub(crate) mod twin_signin;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{RoleSettings, Settings};
use crate::credentials::{LongTermKeys, SessionCredentials};

pub(crate) use client::OVERALL_TIMEOUT;
pub(crate) use endpoint::check_signin;
pub(crate) use http::url_encode;
pub(crate) use signin::{Grant, Prove, Tokens, base_url as signin_base_url};

/// Where a service is reached: its region, and an endpoint that overrides it.
#[derive(Clone, Debug)]
pub(crate) struct Place {
    pub region: String,
    pub endpoint: Option<String>,
}

/// The credentials a call is signed with: long-term keys or a session.
pub(crate) enum Signer<'a> {
    Keys(&'a LongTermKeys),
    Session(&'a SessionCredentials),
}

/// An access key of an IAM user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AccessKey {
    pub id: String,
    pub active: bool,
}

/// Which call failed, for the messages.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Service {
    Sts,
    Iam,
    Signin,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Sts => "STS",
            Service::Iam => "IAM",
            Service::Signin => "the AWS sign-in endpoint",
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AwsError {
    #[error("AWS rejected the MFA code")]
    WrongCode,
    #[error(
        "AWS cannot validate codes for MFA device `{0}`. Check `mfa_serial` against IAM console → Security credentials → MFA"
    )]
    WrongDevice(String),
    #[error(
        "AWS does not accept the long-term access key ({0}). It was deleted, deactivated or mistyped: store the current one with `aws-mfa-proc add PROFILE`"
    )]
    InvalidKeys(String),
    #[error(
        "AWS says this machine's clock is off ({0}). Fix the clock (e.g. enable NTP) and retry"
    )]
    ClockSkew(String),
    #[error("cannot reach {service} at {endpoint}: {detail}. Check the network, proxy or VPN")]
    Network {
        service: Service,
        endpoint: String,
        detail: String,
    },
    #[error(
        "cannot resolve the {service} host of {endpoint} (DNS): {detail}. Check the network, the profile's `region`, or the endpoint URL"
    )]
    Dns {
        service: Service,
        endpoint: String,
        detail: String,
    },
    #[error(
        "{service} kept failing ({detail}) after {attempts} attempts; that is trouble on the AWS side or on the way there. Retry in a minute",
        attempts = client::ATTEMPTS
    )]
    ServerError { service: Service, detail: String },
    #[error(
        "{service} is throttling requests from this account ({code}) after {attempts} attempts. Wait a minute and retry",
        attempts = client::ATTEMPTS
    )]
    Throttled { service: Service, code: String },
    #[error("{service} did not answer within {seconds} s at {endpoint}. Check the network and retry", seconds = OVERALL_TIMEOUT.as_secs())]
    Timeout { service: Service, endpoint: String },
    #[error(
        "AWS refused to let the MFA session assume {role_arn}: {message}. Check the role's trust policy (it must trust the IAM user, with aws:MultiFactorAuthPresent) and the role ARN"
    )]
    RoleDenied { role_arn: String, message: String },
    #[error(
        "{service} answered with a malformed {what} `{value}`; nothing was written or stored from it. Check where AWS_ENDPOINT_URL, a proxy or DNS sends requests"
    )]
    Malformed {
        service: Service,
        what: &'static str,
        value: String,
    },
    /// AWS Sign-In's `AccessDeniedException`, with its `error` code (`TOKEN_EXPIRED`,
    /// …): the caller names the fix, for the profile.
    #[error("AWS Sign-In refused the token call ({code})")]
    SignInRefused { code: String },
    #[error("{service} refused: {code}: {message}")]
    Refused {
        service: Service,
        code: String,
        message: String,
    },
}

/// STS, as far as sessions need it.
pub(crate) trait Sts {
    fn get_session_token(
        &self,
        settings: &Settings,
        keys: &LongTermKeys,
        code: &str,
    ) -> Result<SessionCredentials, AwsError>;

    /// Assumes `role.role_arn` with the MFA session (role chaining).
    fn assume_role(
        &self,
        role: &RoleSettings,
        session: &SessionCredentials,
    ) -> Result<SessionCredentials, AwsError>;
}

/// Everything else the commands ask of AWS.
pub(crate) trait Aws: Sts + SignInService {
    /// The ARN of whoever `signer` belongs to (STS GetCallerIdentity).
    fn caller(&self, place: &Place, signer: Signer<'_>) -> Result<String, AwsError>;
    /// The serial numbers of `user`'s MFA devices.
    fn mfa_devices(
        &self,
        place: &Place,
        keys: &LongTermKeys,
        user: &str,
    ) -> Result<Vec<String>, AwsError>;
    fn access_keys(
        &self,
        place: &Place,
        signer: Signer<'_>,
        user: &str,
    ) -> Result<Vec<AccessKey>, AwsError>;
    /// A new access key for `user`: its secret is only ever returned here.
    fn create_access_key(
        &self,
        place: &Place,
        session: &SessionCredentials,
        user: &str,
    ) -> Result<LongTermKeys, AwsError>;
    fn delete_access_key(
        &self,
        place: &Place,
        session: &SessionCredentials,
        user: &str,
        id: &str,
    ) -> Result<(), AwsError>;
    /// A console sign-in token for role credentials, from the federation endpoint at
    /// `signin` (e.g. `https://signin.aws.amazon.com`).
    fn signin_token(&self, signin: &str, role: &SessionCredentials) -> Result<String, AwsError>;
    /// The time STS's `Date` header gives, for a clock check.
    fn server_time(&self, place: &Place) -> Result<DateTime<Utc>, AwsError>;
}

/// AWS Sign-In's token endpoint (`CreateOAuth2Token`).
pub(crate) trait SignInService {
    /// One token call at `place` (its endpoint already checked) for `client_id`, with a
    /// DPoP proof from `prover`; credentials expire `expiresIn` after `now`.
    fn token(
        &self,
        place: &Place,
        client_id: &str,
        grant: &Grant<'_>,
        prover: Arc<dyn Prove>,
        now: DateTime<Utc>,
    ) -> Result<Tokens, AwsError>;
}

/// The real AWS.
pub(crate) struct RealAws;

impl SignInService for RealAws {
    fn token(
        &self,
        place: &Place,
        client_id: &str,
        grant: &Grant<'_>,
        prover: Arc<dyn Prove>,
        now: DateTime<Utc>,
    ) -> Result<Tokens, AwsError> {
        signin::create_token(place, client_id, grant, prover, now)
    }
}

/// How long a new access key may take to work (IAM is eventually consistent).
pub(crate) const NEW_KEY_PATIENCE: Duration = Duration::from_secs(20);

impl Sts for RealAws {
    fn get_session_token(
        &self,
        settings: &Settings,
        keys: &LongTermKeys,
        code: &str,
    ) -> Result<SessionCredentials, AwsError> {
        sts::get_session_token(settings, keys, code)
    }

    fn assume_role(
        &self,
        role: &RoleSettings,
        session: &SessionCredentials,
    ) -> Result<SessionCredentials, AwsError> {
        sts::assume_role(role, session)
    }
}

impl Aws for RealAws {
    fn caller(&self, place: &Place, signer: Signer<'_>) -> Result<String, AwsError> {
        answers::arn(Service::Sts, sts::caller(place, signer)?)
    }
    fn mfa_devices(
        &self,
        place: &Place,
        keys: &LongTermKeys,
        user: &str,
    ) -> Result<Vec<String>, AwsError> {
        answers::mfa_serials(iam::mfa_devices(place, keys, user)?)
    }
    fn access_keys(
        &self,
        place: &Place,
        signer: Signer<'_>,
        user: &str,
    ) -> Result<Vec<AccessKey>, AwsError> {
        iam::access_keys(place, signer, user)?
            .into_iter()
            .map(|key| {
                Ok(AccessKey {
                    id: answers::access_key_id(key.id)?,
                    ..key
                })
            })
            .collect()
    }
    fn create_access_key(
        &self,
        place: &Place,
        session: &SessionCredentials,
        user: &str,
    ) -> Result<LongTermKeys, AwsError> {
        iam::create_access_key(place, session, user)
    }
    fn delete_access_key(
        &self,
        place: &Place,
        session: &SessionCredentials,
        user: &str,
        id: &str,
    ) -> Result<(), AwsError> {
        iam::delete_access_key(place, session, user, id)
    }
    fn signin_token(&self, signin: &str, role: &SessionCredentials) -> Result<String, AwsError> {
        http::signin_token(signin, role)
    }
    fn server_time(&self, place: &Place) -> Result<DateTime<Utc>, AwsError> {
        http::server_time(place)
    }
}
