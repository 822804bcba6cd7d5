//! STS calls, and the mapping of their failures to errors that name the fix.
//!
//! Invariants:
//! - this is the only module that builds an AWS SDK client or a tokio runtime, and it
//!   does so only when a call is about to be made: the cached path never gets here;
//! - the client is built explicitly (region, static credentials, endpoint) instead of
//!   through `aws_config::load_defaults`, which probes instance metadata;
//! - every call is bounded: connect and read timeouts, a few retries, an overall deadline;
//! - the MFA code and secrets are passed to the SDK and nowhere else; the SDK's tracing
//!   is never forwarded to our logs.

use std::time::Duration;

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use chrono::{TimeZone, Utc};

use crate::config::{RoleSettings, Settings};
use crate::credentials::{LongTermKeys, SessionCredentials};
use crate::secret::Secret;
use crate::store::record::Checked;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Well under the Go SDK's 60 s kill, with the person's typing time on top.
pub(crate) const OVERALL_TIMEOUT: Duration = Duration::from_secs(12);
const ATTEMPTS: u32 = 3;
/// How much of STS's own message an error quotes.
const MESSAGE_LIMIT: usize = 300;
/// The role session name AWS shows in CloudTrail and in the assumed-role ARN.
const ROLE_SESSION_NAME: &str = "aws-mfa-proc";

#[derive(Debug, thiserror::Error)]
pub(crate) enum StsError {
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
    #[error("cannot reach STS at {endpoint}: {detail}. Check the network, proxy or VPN")]
    Network { endpoint: String, detail: String },
    #[error(
        "cannot resolve the STS host of {endpoint} (DNS): {detail}. Check the network, the profile's `region`, or the endpoint URL"
    )]
    Dns { endpoint: String, detail: String },
    #[error(
        "STS kept failing ({detail}) after {ATTEMPTS} attempts; that is trouble on the AWS side or on the way there. Retry in a minute"
    )]
    ServerError { detail: String },
    #[error(
        "STS is throttling requests from this account ({code}) after {ATTEMPTS} attempts. Wait a minute and retry"
    )]
    Throttled { code: String },
    #[error("STS did not answer within {} s at {endpoint}. Check the network and retry", OVERALL_TIMEOUT.as_secs())]
    Timeout { endpoint: String },
    #[error(
        "AWS refused to let the MFA session assume {role_arn}: {message}. Check the role's trust policy (it must trust the IAM user, with aws:MultiFactorAuthPresent) and the role ARN"
    )]
    RoleDenied { role_arn: String, message: String },
    #[error("STS refused: {code}: {message}")]
    Refused { code: String, message: String },
}

/// STS, as far as this tool needs it.
pub(crate) trait Sts {
    fn get_session_token(
        &self,
        settings: &Settings,
        keys: &LongTermKeys,
        code: &str,
    ) -> Result<SessionCredentials, StsError>;

    /// Assumes `role.role_arn` with the MFA session (role chaining).
    fn assume_role(
        &self,
        role: &RoleSettings,
        session: &SessionCredentials,
    ) -> Result<SessionCredentials, StsError>;
}

/// What was being asked, for the error messages.
enum Call<'a> {
    SessionToken { mfa_serial: &'a str },
    AssumeRole { role_arn: &'a str },
}

/// The real STS, through the AWS SDK.
pub(crate) struct AwsSts;

impl Sts for AwsSts {
    fn get_session_token(
        &self,
        settings: &Settings,
        keys: &LongTermKeys,
        code: &str,
    ) -> Result<SessionCredentials, StsError> {
        let credentials = Credentials::new(
            &keys.access_key_id,
            keys.secret_access_key.expose(),
            None,
            None,
            "aws-mfa-proc",
        );
        let sts = Client::new(&settings.region, settings.endpoint.as_deref(), credentials)?;
        crate::debug!(
            "STS GetSessionToken for {} at {}",
            settings.mfa_serial,
            sts.endpoint
        );
        let call = sts
            .client
            .get_session_token()
            .duration_seconds(settings.duration.as_secs() as i32)
            .serial_number(&settings.mfa_serial)
            .token_code(code)
            .send();
        let what = Call::SessionToken {
            mfa_serial: &settings.mfa_serial,
        };
        let output = sts
            .runtime
            .block_on(call)
            .map_err(|e| classify(e, &what, &sts.endpoint))?;
        convert(output.credentials, &keys.access_key_id)
    }

    fn assume_role(
        &self,
        role: &RoleSettings,
        session: &SessionCredentials,
    ) -> Result<SessionCredentials, StsError> {
        let credentials = Credentials::new(
            &session.access_key_id,
            session.secret_access_key.expose(),
            Some(session.session_token.expose().clone()),
            None,
            "aws-mfa-proc",
        );
        let sts = Client::new(&role.region, role.endpoint.as_deref(), credentials)?;
        crate::debug!("STS AssumeRole {} at {}", role.role_arn, sts.endpoint);
        let mut call = sts
            .client
            .assume_role()
            .role_arn(&role.role_arn)
            .role_session_name(role.session_name.as_deref().unwrap_or(ROLE_SESSION_NAME))
            .duration_seconds(role.duration.as_secs() as i32)
            .set_external_id(role.external_id.clone())
            .set_source_identity(role.source_identity.clone());
        for (key, value) in &role.tags {
            let tag = aws_sdk_sts::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| StsError::Refused {
                    code: "BadTag".into(),
                    message: e.to_string(),
                })?;
            call = call.tags(tag);
        }
        for key in &role.transitive_tag_keys {
            call = call.transitive_tag_keys(key);
        }
        let call = call.send();
        let what = Call::AssumeRole {
            role_arn: &role.role_arn,
        };
        let output = sts
            .runtime
            .block_on(call)
            .map_err(|e| classify(e, &what, &sts.endpoint))?;
        convert(output.credentials, &session.source_access_key_id)
    }
}

/// An STS client and the runtime to drive it, built for one call.
struct Client {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_sts::Client,
    endpoint: String,
}

impl Client {
    fn new(
        region: &str,
        endpoint: Option<&str>,
        credentials: Credentials,
    ) -> Result<Client, StsError> {
        let shown = endpoint
            .map(str::to_string)
            .unwrap_or_else(|| format!("sts.{region}.amazonaws.com"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StsError::Network {
                endpoint: shown.clone(),
                detail: format!("cannot start the I/O runtime: {e}"),
            })?;
        let mut config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(credentials)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .read_timeout(ATTEMPT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OVERALL_TIMEOUT)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(ATTEMPTS));
        if let Some(url) = endpoint {
            config = config.endpoint_url(url);
        }
        Ok(Client {
            runtime,
            client: aws_sdk_sts::Client::from_conf(config.build()),
            endpoint: shown,
        })
    }
}

fn convert(
    credentials: Option<aws_sdk_sts::types::Credentials>,
    source_access_key_id: &str,
) -> Result<SessionCredentials, StsError> {
    let bad = |message: &str| StsError::Refused {
        code: "BadResponse".into(),
        message: message.into(),
    };
    let c = credentials.ok_or_else(|| bad("STS returned no credentials"))?;
    let expiration = Utc
        .timestamp_opt(c.expiration.secs(), 0)
        .single()
        .ok_or_else(|| bad("STS returned an impossible expiry"))?;
    let session = SessionCredentials {
        access_key_id: c.access_key_id,
        secret_access_key: Secret::new(c.secret_access_key),
        session_token: Secret::new(c.session_token),
        expiration,
        source_access_key_id: source_access_key_id.to_string(),
    };
    match session.check() {
        Ok(()) => Ok(session),
        Err(what) => Err(bad(&format!("STS returned a malformed {what}"))),
    }
}

fn classify<E>(error: SdkError<E, HttpResponse>, what: &Call<'_>, endpoint: &str) -> StsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let e = context.err();
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = crate::error::clip(e.message().unwrap_or("").trim(), MESSAGE_LIMIT);
            let code = crate::error::clip(&code, 64);
            if status >= 500 {
                return StsError::ServerError {
                    detail: format!("HTTP {status} {code}"),
                };
            }
            classify_service_error(code, message, what)
        }
        SdkError::TimeoutError(_) => StsError::Timeout {
            endpoint: endpoint.to_string(),
        },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => StsError::Timeout {
            endpoint: endpoint.to_string(),
        },
        other => {
            let chain = crate::error::clip(&crate::error::chain(&other), 2 * MESSAGE_LIMIT);
            let lower = chain.to_ascii_lowercase();
            let endpoint = endpoint.to_string();
            if lower.contains("dns error") || lower.contains("failed to lookup address") {
                StsError::Dns {
                    endpoint,
                    detail: last_cause(&chain),
                }
            } else if lower.contains("connection refused") {
                StsError::Network {
                    endpoint,
                    detail: "connection refused".into(),
                }
            } else {
                StsError::Network {
                    endpoint,
                    detail: last_cause(&chain),
                }
            }
        }
    }
}

fn classify_service_error(code: String, message: String, what: &Call<'_>) -> StsError {
    let lower = message.to_ascii_lowercase();
    match (code.as_str(), what) {
        _ if lower.contains("invalid mfa one time pass code") => StsError::WrongCode,
        (_, Call::SessionToken { mfa_serial })
            if lower.contains("unable to validate mfa code") || lower.contains("mfa serial") =>
        {
            StsError::WrongDevice(mfa_serial.to_string())
        }
        ("AccessDenied", Call::AssumeRole { role_arn }) => StsError::RoleDenied {
            role_arn: role_arn.to_string(),
            message,
        },
        ("InvalidClientTokenId" | "SignatureDoesNotMatch", _) => StsError::InvalidKeys(code),
        ("RequestExpired" | "RequestTimeTooSkewed", _) => StsError::ClockSkew(code),
        (
            "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException",
            _,
        ) => StsError::Throttled { code },
        _ => StsError::Refused { code, message },
    }
}

/// The innermost cause: what actually went wrong, without the SDK's wrapping.
fn last_cause(chain: &str) -> String {
    chain.rsplit(": ").next().unwrap_or(chain).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_DURATION, KeySource};

    fn settings() -> Settings {
        Settings {
            profile: "mfa".into(),
            mfa_serial: "arn:aws:iam::111111111111:mfa/alice".into(),
            region: "eu-west-1".into(),
            profile_region: None,
            duration: DEFAULT_DURATION,
            keys: KeySource::Keychain("mfa".into()),
            endpoint: None,
            codes: Default::default(),
        }
    }

    #[test]
    fn aws_error_answers_map_to_errors_that_name_the_fix() {
        let cases = [
            (
                "AccessDenied",
                "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
                "rejected",
            ),
            (
                "AccessDenied",
                "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.",
                "mfa_serial",
            ),
            (
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                "aws-mfa-proc add",
            ),
            ("RequestExpired", "Request has expired.", "clock"),
            ("Throttling", "Rate exceeded", "Wait a minute"),
        ];
        for (code, message, expected) in cases {
            let what = Call::SessionToken {
                mfa_serial: &settings().mfa_serial,
            };
            let e = classify_service_error(code.into(), message.into(), &what).to_string();
            assert!(e.contains(expected), "{code}: {e}");
        }
    }
}
