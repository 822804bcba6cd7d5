//! The rules a profile's values must follow, each failing with the fix.
//!
//! Invariant: pure functions of the values (and the environment, for endpoints); no
//! I/O. Values quoted back in errors are truncated, and only non-secret keys are quoted.

use std::time::Duration;

use aws_runtime::env_config::section::Profile;

use super::{CodeSettings, ConfigError, Driver, MFA_PROCESS_KEY, PROMPT_KEY, YKMAN_ACCOUNT_KEY};
use crate::system::Environment;

/// Keys that must not sit in a profile that runs us: each breaks some SDK.
pub const FORBIDDEN_KEYS: &[(&str, &str)] = &[
    (
        "source_profile",
        "the Go SDK refuses a profile with both source_profile and credential_process; put role settings in a separate profile that names this one as source_profile",
    ),
    (
        "credential_source",
        "it replaces credential_process in some SDKs",
    ),
    (
        "web_identity_token_file",
        "it replaces credential_process in some SDKs",
    ),
    (
        "sso_start_url",
        "SSO settings replace credential_process in some SDKs",
    ),
    (
        "sso_session",
        "SSO settings replace credential_process in some SDKs",
    ),
];

/// Keys that make SDKs ignore credential_process: they never run us for that profile.
/// Not an error here (`exec` puts them there on purpose, in its private file), but
/// `status` warns about them.
pub const SHADOWING_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// STS endpoint: `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, then the profile's `endpoint_url`.
pub fn endpoint(env: &dyn Environment, section: &Profile) -> Option<String> {
    service_endpoint(env, section, "STS")
}

/// A service's endpoint: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, then the
/// profile's `endpoint_url`, as the SDKs read them.
pub fn service_endpoint(env: &dyn Environment, section: &Profile, service: &str) -> Option<String> {
    if env
        .var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return None;
    }
    env_endpoint(env, service).or_else(|| section.get("endpoint_url").map(str::to_string))
}

/// A service's endpoint from the environment alone (before any profile exists).
pub fn env_endpoint(env: &dyn Environment, service: &str) -> Option<String> {
    if env
        .var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return None;
    }
    env.var(&format!("AWS_ENDPOINT_URL_{service}"))
        .or_else(|| env.var("AWS_ENDPOINT_URL"))
}

/// A whole number of seconds under `key`, within `(min, max)`, else `default`.
pub fn seconds(
    section: &Profile,
    profile: &str,
    key: &'static str,
    default: Duration,
    (min, max): (Duration, Duration),
) -> Result<Duration, ConfigError> {
    let Some(value) = section.get(key) else {
        return Ok(default);
    };
    value
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
        .filter(|d| (min..=max).contains(d))
        .ok_or_else(|| ConfigError::BadDuration {
            profile: profile.to_string(),
            key,
            value: truncate(value, 40),
            min: min.as_secs(),
            max: max.as_secs(),
            default: default.as_secs(),
        })
}

pub fn check_profile_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty() && name.len() <= 128 && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(ConfigError::BadProfileName(truncate(name, 40)))
    }
}

/// STS's SerialNumber: 9 to 256 characters of `[\w+=/:,.@-]`.
pub fn check_mfa_serial(serial: &str) -> Result<(), String> {
    if !(9..=256).contains(&serial.len()) {
        return Err(format!("{} characters; STS takes 9 to 256", serial.len()));
    }
    if let Some(bad) = serial
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(*c)))
    {
        return Err(format!("it contains {bad:?}"));
    }
    if serial.starts_with("arn:") && !serial.contains(":mfa/") && !serial.contains(":u2f/") {
        return Err("an ARN, but not of an MFA device (…:mfa/NAME)".to_string());
    }
    Ok(())
}

pub fn truncate(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_string(),
    }
}

/// The profile's `region`, if it sets one: a region name (`eu-west-1`), since it goes
/// into endpoints and environment variables.
pub fn region(section: &Profile, profile: &str) -> Result<Option<String>, ConfigError> {
    let Some(value) = section.get("region") else {
        return Ok(None);
    };
    if is_region(value) {
        Ok(Some(value.to_string()))
    } else {
        Err(ConfigError::BadRegion {
            profile: profile.to_string(),
            value: truncate(value, 40),
        })
    }
}

/// A region name: 1 to 32 lower-case letters, digits and dashes.
pub fn is_region(value: &str) -> bool {
    (1..=32).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Where `profile`'s code comes from: `mfa_process`, `aws_mfa_proc_prompt`,
/// `aws_mfa_proc_ykman_account`.
pub fn code_settings(section: &Profile, profile: &str) -> Result<CodeSettings, ConfigError> {
    let mfa_process = match section.get(MFA_PROCESS_KEY) {
        Some(command) if command.trim().is_empty() => {
            return Err(ConfigError::EmptyMfaProcess {
                profile: profile.to_string(),
            });
        }
        other => other.map(|c| c.trim().to_string()),
    };
    let prompt = match section.get(PROMPT_KEY) {
        None => None,
        Some(value) => Some(Driver::parse(value).ok_or_else(|| ConfigError::BadPrompt {
            profile: profile.to_string(),
            key: PROMPT_KEY,
            value: truncate(value, 40),
        })?),
    };
    Ok(CodeSettings {
        mfa_process,
        prompt,
        ykman_account: section.get(YKMAN_ACCOUNT_KEY).map(|a| a.trim().to_string()),
    })
}
