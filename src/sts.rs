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

use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use chrono::{TimeZone, Utc};

use crate::config::Settings;
use crate::credentials::{LongTermKeys, SessionCredentials};
use crate::secret::Secret;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);
const OVERALL_TIMEOUT: Duration = Duration::from_secs(20);

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
            .retry_config(RetryConfig::standard().with_max_attempts(3));
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

fn classify<E, R>(error: SdkError<E, R>, settings: &Settings, endpoint: &str) -> StsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(context) => {
            let e = context.err();
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = e.message().unwrap_or("").trim().to_string();
            classify_service_error(code, message, settings)
        }
        SdkError::TimeoutError(_) => StsError::Timeout {
            endpoint: endpoint.to_string(),
        },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => StsError::Timeout {
            endpoint: endpoint.to_string(),
        },
        other => StsError::Network {
            endpoint: endpoint.to_string(),
            detail: crate::error_chain(&other),
        },
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
        _ => StsError::Refused { code, message },
    }
}
