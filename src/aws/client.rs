//! Building SDK clients for one call, and reading their failures.

use std::time::Duration;

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use super::{AwsError, Place, Service, Signer};

pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub(super) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Well under the Go SDK's 60 s kill, with the person's typing time on top.
pub(crate) const OVERALL_TIMEOUT: Duration = Duration::from_secs(12);
pub(super) const ATTEMPTS: u32 = 3;
/// How much of a service's own message an error quotes.
const MESSAGE_LIMIT: usize = 300;

/// What was being asked, for the error messages.
pub(super) enum Call<'a> {
    SessionToken { mfa_serial: &'a str },
    AssumeRole { role_arn: &'a str },
    Other(Service),
}

impl Call<'_> {
    fn service(&self) -> Service {
        match self {
            Call::SessionToken { .. } | Call::AssumeRole { .. } => Service::Sts,
            Call::Other(service) => *service,
        }
    }
}

/// A runtime to drive one call.
pub(super) fn runtime(
    service: Service,
    endpoint: &str,
) -> Result<tokio::runtime::Runtime, AwsError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AwsError::Network {
            service,
            endpoint: endpoint.to_string(),
            detail: format!("cannot start the I/O runtime: {e}"),
        })
}

/// What an endpoint is shown as in messages.
pub(super) fn shown(place: &Place, host: &str) -> String {
    place
        .endpoint
        .clone()
        .unwrap_or_else(|| host.replace("{region}", &place.region))
}

pub(super) fn credentials(signer: Signer<'_>) -> Credentials {
    match signer {
        Signer::Keys(keys) => Credentials::new(
            &keys.access_key_id,
            keys.secret_access_key.expose(),
            None,
            None,
            "aws-mfa-proc",
        ),
        Signer::Session(session) => Credentials::new(
            &session.access_key_id,
            session.secret_access_key.expose(),
            Some(session.session_token.expose().clone()),
            None,
            "aws-mfa-proc",
        ),
    }
}

pub(super) fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(ATTEMPT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OVERALL_TIMEOUT)
        .build()
}

pub(super) fn sts(place: &Place, signer: Signer<'_>) -> aws_sdk_sts::Client {
    let mut config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(place.region.clone()))
        .credentials_provider(credentials(signer))
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard().with_max_attempts(ATTEMPTS));
    if let Some(url) = &place.endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_sts::Client::from_conf(config.build())
}

pub(super) fn iam(place: &Place, signer: Signer<'_>) -> aws_sdk_iam::Client {
    let mut config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new(place.region.clone()))
        .credentials_provider(credentials(signer))
        .timeout_config(timeouts())
        .retry_config(
            aws_sdk_iam::config::retry::RetryConfig::standard().with_max_attempts(ATTEMPTS),
        );
    if let Some(url) = &place.endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_iam::Client::from_conf(config.build())
}

/// A failed SDK call as an error that names the fix.
pub(super) fn classify<E>(
    error: SdkError<E, HttpResponse>,
    what: &Call<'_>,
    endpoint: &str,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let service = what.service();
    match error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let e = context.err();
            let code = crate::error::clip(e.code().unwrap_or("Unknown"), 64);
            let message = crate::error::clip(e.message().unwrap_or("").trim(), MESSAGE_LIMIT);
            if status >= 500 {
                return AwsError::ServerError {
                    service,
                    detail: format!("HTTP {status} {code}"),
                };
            }
            classify_service_error(code, message, what)
        }
        SdkError::TimeoutError(_) => AwsError::Timeout {
            service,
            endpoint: endpoint.to_string(),
        },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => AwsError::Timeout {
            service,
            endpoint: endpoint.to_string(),
        },
        other => network(service, endpoint, &crate::error::chain(&other)),
    }
}

/// A failure to reach `endpoint`, from the error's text.
pub(super) fn network(service: Service, endpoint: &str, chain: &str) -> AwsError {
    let chain = crate::error::clip(chain, 2 * MESSAGE_LIMIT);
    let lower = chain.to_ascii_lowercase();
    let endpoint = endpoint.to_string();
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        AwsError::Dns {
            service,
            endpoint,
            detail: last_cause(&chain),
        }
    } else if lower.contains("connection refused") {
        AwsError::Network {
            service,
            endpoint,
            detail: "connection refused".into(),
        }
    } else {
        AwsError::Network {
            service,
            endpoint,
            detail: last_cause(&chain),
        }
    }
}

pub(super) fn classify_service_error(code: String, message: String, what: &Call<'_>) -> AwsError {
    let lower = message.to_ascii_lowercase();
    let service = what.service();
    match (code.as_str(), what) {
        _ if lower.contains("invalid mfa one time pass code") => AwsError::WrongCode,
        (_, Call::SessionToken { mfa_serial })
            if lower.contains("unable to validate mfa code") || lower.contains("mfa serial") =>
        {
            AwsError::WrongDevice(mfa_serial.to_string())
        }
        ("AccessDenied", Call::AssumeRole { role_arn }) => AwsError::RoleDenied {
            role_arn: role_arn.to_string(),
            message,
        },
        ("InvalidClientTokenId" | "SignatureDoesNotMatch", _) => AwsError::InvalidKeys(code),
        ("RequestExpired" | "RequestTimeTooSkewed", _) => AwsError::ClockSkew(code),
        (
            "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException",
            _,
        ) => AwsError::Throttled { service, code },
        _ => AwsError::Refused {
            service,
            code,
            message,
        },
    }
}

/// The innermost cause: what actually went wrong, without the SDK's wrapping.
fn last_cause(chain: &str) -> String {
    chain.rsplit(": ").next().unwrap_or(chain).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
                mfa_serial: "arn:aws:iam::111111111111:mfa/alice",
            };
            let e = classify_service_error(code.into(), message.into(), &what).to_string();
            assert!(e.contains(expected), "{code}: {e}");
        }
    }
}
