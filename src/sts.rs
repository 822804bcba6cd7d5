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

use crate::config::Settings;
use crate::credentials::{LongTermKeys, SessionCredentials};
use crate::secret::Secret;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Well under the Go SDK's 60 s kill, with the person's typing time on top.
pub const OVERALL_TIMEOUT: Duration = Duration::from_secs(12);
const ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum StsError {
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
        "cannot resolve the STS host of {endpoint} (DNS): {detail}. Check the network, or the endpoint URL"
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
    #[error("STS refused: {code}: {message}")]
    Refused { code: String, message: String },
}

/// STS, as far as this tool needs it.
pub trait Sts {
    fn get_session_token(
        &self,
        settings: &Settings,
        keys: &LongTermKeys,
        code: &str,
    ) -> Result<SessionCredentials, StsError>;
}

/// The real STS, through the AWS SDK.
pub struct AwsSts;

impl Sts for AwsSts {
    fn get_session_token(
        &self,
        settings: &Settings,
        keys: &LongTermKeys,
        code: &str,
    ) -> Result<SessionCredentials, StsError> {
        let endpoint = settings
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("sts.{}.amazonaws.com", settings.region));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StsError::Network {
                endpoint: endpoint.clone(),
                detail: format!("cannot start the I/O runtime: {e}"),
            })?;
        let mut config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(Credentials::new(
                &keys.access_key_id,
                keys.secret_access_key.expose(),
                None,
                None,
                "aws-mfa-proc",
            ))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .read_timeout(ATTEMPT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OVERALL_TIMEOUT)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(ATTEMPTS));
        if let Some(url) = &settings.endpoint {
            config = config.endpoint_url(url);
        }
        let client = aws_sdk_sts::Client::from_conf(config.build());
        let call = client
            .get_session_token()
            .duration_seconds(settings.duration.as_secs() as i32)
            .serial_number(&settings.mfa_serial)
            .token_code(code)
            .send();
        let output = runtime
            .block_on(call)
            .map_err(|e| classify(e, settings, &endpoint))?;
        let c = output.credentials.ok_or_else(|| StsError::Refused {
            code: "EmptyResponse".into(),
            message: "GetSessionToken returned no credentials".into(),
        })?;
        let expiration = Utc
            .timestamp_opt(c.expiration.secs(), 0)
            .single()
            .ok_or_else(|| StsError::Refused {
                code: "BadResponse".into(),
                message: "GetSessionToken returned an impossible expiry".into(),
            })?;
        Ok(SessionCredentials {
            access_key_id: c.access_key_id,
            secret_access_key: Secret::new(c.secret_access_key),
            session_token: Secret::new(c.session_token),
            expiration,
            source_access_key_id: keys.access_key_id.clone(),
        })
    }
}

fn classify<E>(error: SdkError<E, HttpResponse>, settings: &Settings, endpoint: &str) -> StsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let e = context.err();
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = e.message().unwrap_or("").trim().to_string();
            if status >= 500 {
                return StsError::ServerError {
                    detail: format!("HTTP {status} {code}"),
                };
            }
            classify_service_error(code, message, settings)
        }
        SdkError::TimeoutError(_) => StsError::Timeout {
            endpoint: endpoint.to_string(),
        },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => StsError::Timeout {
            endpoint: endpoint.to_string(),
        },
        other => {
            let chain = crate::error_chain(&other);
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

fn classify_service_error(code: String, message: String, settings: &Settings) -> StsError {
    let lower = message.to_ascii_lowercase();
    match code.as_str() {
        _ if lower.contains("invalid mfa one time pass code") => StsError::WrongCode,
        _ if lower.contains("unable to validate mfa code") || lower.contains("mfa serial") => {
            StsError::WrongDevice(settings.mfa_serial.clone())
        }
        "InvalidClientTokenId" | "SignatureDoesNotMatch" => StsError::InvalidKeys(code),
        "RequestExpired" | "RequestTimeTooSkewed" => StsError::ClockSkew(code),
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException" => StsError::Throttled { code },
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
            duration: DEFAULT_DURATION,
            keys: KeySource::Keychain("mfa".into()),
            endpoint: None,
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
            let e = classify_service_error(code.into(), message.into(), &settings()).to_string();
            assert!(e.contains(expected), "{code}: {e}");
        }
    }
}
