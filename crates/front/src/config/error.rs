//! Every way a configuration can be wrong, each with the fix.
//!
//! Invariant: each message is one line that says what is wrong, in which file or
//! profile, and what to change; it never quotes a secret (values are truncated and
//! only ever come from non-secret keys).

use std::path::PathBuf;

use super::model::{MFA_PROFILE_KEY, ROLE_ARN_KEY};

#[derive(Clone, Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read {path}: {detail}. Fix the path or its permissions, or point {env_var} at a readable file"
    )]
    Unreadable {
        path: PathBuf,
        env_var: &'static str,
        detail: String,
    },
    #[error("{path} is not UTF-8 text. Fix the file, or point {env_var} at another")]
    NotText {
        path: PathBuf,
        env_var: &'static str,
    },
    #[error("cannot parse {path}: {detail}. Fix that line and retry")]
    Malformed { path: PathBuf, detail: String },
    #[error(
        "{path}:{first} and {path}:{second} are both [{section}]: the SDKs merge the two in no fixed order, so the profile changes from run to run. Keep one (move the settings you need into it) and delete the other"
    )]
    RepeatedSection {
        path: PathBuf,
        section: String,
        first: usize,
        second: usize,
    },
    #[error("profile `{profile}` is not in {path}. {hint}")]
    UnknownProfile {
        profile: String,
        path: PathBuf,
        hint: String,
    },
    #[error(
        "no profile in {path} runs aws-mfa-proc. Add one, e.g. [profile mfa] with `credential_process = aws-mfa-proc --profile mfa` and `mfa_serial`, or pass --profile NAME"
    )]
    NoHelperProfile { path: PathBuf },
    #[error(
        "several profiles run aws-mfa-proc ({names}); name one: after the command (`aws-mfa-proc login NAME`), or as --profile NAME on the credential_process line"
    )]
    AmbiguousProfile { names: String },
    #[error(
        "profile `{profile}`: `aws_mfa_proc_source = {value}` is not a source aws-mfa-proc knows. Write `aws_mfa_proc_source = sign-in` for an AWS Sign-In session, or remove the line for an MFA session"
    )]
    BadSource { profile: String, value: String },
    #[error(
        "profile `{profile}` has no `mfa_serial`. Add `mfa_serial = arn:aws:iam::ACCOUNT:mfa/DEVICE` (IAM console → Security credentials → MFA)"
    )]
    MissingMfaSerial { profile: String },
    #[error(
        "profile `{profile}`: `mfa_serial` is not an MFA device ARN or serial number ({reason}). Copy it from IAM console → Security credentials → MFA, e.g. arn:aws:iam::111111111111:mfa/alice"
    )]
    BadMfaSerial { profile: String, reason: String },
    #[error(
        "profile `{profile}`: `{key} = {value}` is not a number of seconds from {min} to {max}. Fix or remove it (default {default})"
    )]
    BadDuration {
        profile: String,
        key: &'static str,
        value: String,
        min: u64,
        max: u64,
        default: u64,
    },
    #[error(
        "profile `{profile}`: `{key} = {seconds}` is longer than AWS allows here: a role assumed with an MFA session is role chaining, which AWS caps at 3600 s (1 hour). Set it to 3600 or less; aws-mfa-proc renews the role without asking for a code while the MFA session lasts"
    )]
    RoleTooLong {
        profile: String,
        key: &'static str,
        seconds: u64,
    },
    #[error(
        "profile `{profile}`: `{key} = {from}` {problem}. Name the profile that runs aws-mfa-proc (and holds mfa_serial)"
    )]
    RoleSource {
        profile: String,
        key: &'static str,
        from: String,
        problem: &'static str,
    },
    #[error("profile `{profile}`: `{key} = {value}` is not valid: {rule}. Fix or remove it")]
    BadRoleSetting {
        profile: String,
        key: &'static str,
        value: String,
        rule: String,
    },
    #[error(
        "profile `{profile}` sets `{ROLE_ARN_KEY}` but not `{MFA_PROFILE_KEY}`. Add `{MFA_PROFILE_KEY} = NAME` naming the profile with your mfa_serial"
    )]
    MissingMfaProfile { profile: String },
    #[error(
        "profile `{profile}`: `{ROLE_ARN_KEY} = {value}` is not a role ARN. Use arn:aws:iam::ACCOUNT:role/NAME"
    )]
    BadRoleArn { profile: String, value: String },
    #[error(
        "profile `{profile}` is a role profile (role_arn {role_arn}): it has no MFA session of its own. Use the profile it chains from, `{source_profile}`"
    )]
    SdkRoleProfile {
        profile: String,
        role_arn: String,
        source_profile: String,
    },
    #[error(
        "profile `{profile}` sets `{key}`, which must not sit beside credential_process: {why}"
    )]
    ForbiddenKey {
        profile: String,
        key: &'static str,
        why: &'static str,
    },
    #[error(
        "profile `{profile}`: --source-profile `{source_profile}` has no aws_access_key_id and aws_secret_access_key in {path}. Add them there, or store the keys with `aws-mfa-proc add {profile}` and drop --source-profile"
    )]
    NoStaticKeys {
        profile: String,
        source_profile: String,
        path: PathBuf,
    },
    #[error("profile name `{0}` is not usable: profile names are 1 to 128 printable characters")]
    BadProfileName(String),
    #[error(
        "profile `{profile}`: `region = {value}` is not an AWS region name (lower-case letters, digits and dashes, e.g. eu-west-1). Fix it"
    )]
    BadRegion { profile: String, value: String },
    #[error(
        "profile `{profile}`: `{key} = {value}` is not a prompt: use one of terminal, zenity, kdialog, osascript, wincredui, ykman (or remove it for auto)"
    )]
    BadPrompt {
        profile: String,
        key: &'static str,
        value: String,
    },
    #[error(
        "profile `{profile}`: `mfa_process` is empty. Give the command that prints the code, or remove it"
    )]
    EmptyMfaProcess { profile: String },
}

impl ConfigError {
    /// Whether the message already names a profile.
    pub fn names_profile(&self) -> bool {
        !matches!(
            self,
            ConfigError::Unreadable { .. }
                | ConfigError::NotText { .. }
                | ConfigError::Malformed { .. }
                | ConfigError::RepeatedSection { .. }
        )
    }
}
