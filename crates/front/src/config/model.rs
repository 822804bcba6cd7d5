//! What a profile asks aws-mfa-proc for, as plain data: no I/O, no parsing.
//!
//! Invariant: values here were validated by the loader ([`super::Config`]); the rest of
//! the program handles only good values. Our own keys carry the prefix
//! `aws_mfa_proc_`, so no SDK mistakes them for its own.

use std::time::Duration;

use crate::credentials::LongTermKeys;

/// Session length for GetSessionToken, in seconds.
pub const DURATION_KEY: &str = "aws_mfa_proc_session_duration";
/// Default session length: 12 hours, STS's own default.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(12 * 3600);
/// Never hand out credentials with less than this left: botocore refreshes at 15 minutes.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(15 * 60);
/// Sign-In credentials last at most 15 minutes, so the 15-minute margin cannot apply:
/// never hand them out with less than 5 minutes left, the point at which AWS's own CLI
/// (`LoginCredentialFetcher`) and Rust SDK (`login`, `REFRESH_BUFFER_TIME`) refresh
/// them. botocore then re-runs the helper on each use (cheap: a front-door hit), JS v3
/// refreshes at 5 minutes, Go only once expired.
pub const SIGNIN_MARGIN: Duration = Duration::from_secs(5 * 60);
/// On a helper profile: where its credentials come from (`sign-in`, or TOTP codes if
/// absent).
pub const SOURCE_KEY: &str = "aws_mfa_proc_source";
/// [`SOURCE_KEY`]'s value for AWS Sign-In (`aws login`) sessions.
pub const SIGN_IN: &str = "sign-in";
/// The shortest session worth having: usable for at least 15 minutes past the margin.
pub const MIN_DURATION: Duration = Duration::from_secs(REFRESH_MARGIN.as_secs() + 15 * 60);
/// STS's ceiling for IAM users.
pub const MAX_DURATION: Duration = Duration::from_secs(129_600);
pub const DEFAULT_REGION: &str = "us-east-1";
/// On a profile that has aws-mfa-proc assume a role itself: the role to assume...
pub const ROLE_ARN_KEY: &str = "aws_mfa_proc_role_arn";
/// ...the profile whose MFA session assumes it...
pub const MFA_PROFILE_KEY: &str = "aws_mfa_proc_mfa_profile";
/// ...and the role session length in seconds.
pub const ROLE_DURATION_KEY: &str = "aws_mfa_proc_role_duration";
/// AWS caps a role session assumed with MFA-session credentials (role chaining) at 1 h.
pub const MAX_ROLE_DURATION: Duration = Duration::from_secs(3600);
/// STS's floor for AssumeRole; it also leaves 0 minutes past the refresh margin, so
/// a role session must be longer.
pub const MIN_ROLE_DURATION: Duration = Duration::from_secs(REFRESH_MARGIN.as_secs() + 5 * 60);

/// In the helper profile: a command whose trimmed stdout is the code (as aws-vault).
pub const MFA_PROCESS_KEY: &str = "mfa_process";
/// In the helper profile: which prompt asks for the code (`AWS_MFA_PROC_PROMPT` wins).
pub const PROMPT_KEY: &str = "aws_mfa_proc_prompt";
/// In the helper profile: the YubiKey OATH account that holds the code.
pub const YKMAN_ACCOUNT_KEY: &str = "aws_mfa_proc_ykman_account";

/// In a role profile: a sign-in endpoint other than the partition's (a private
/// partition); `AWS_MFA_PROC_SIGNIN_ENDPOINT` may then name its host too.
pub const SIGNIN_ENDPOINT_KEY: &str = "aws_mfa_proc_signin_endpoint";

/// A way to ask for a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    Terminal,
    Zenity,
    Kdialog,
    Osascript,
    Wincredui,
    Ykman,
}

impl Driver {
    pub const ALL: [Driver; 6] = [
        Driver::Terminal,
        Driver::Zenity,
        Driver::Kdialog,
        Driver::Osascript,
        Driver::Wincredui,
        Driver::Ykman,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Driver::Terminal => "terminal",
            Driver::Zenity => "zenity",
            Driver::Kdialog => "kdialog",
            Driver::Osascript => "osascript",
            Driver::Wincredui => "wincredui",
            Driver::Ykman => "ykman",
        }
    }

    pub fn parse(name: &str) -> Option<Driver> {
        Driver::ALL.into_iter().find(|d| d.name() == name.trim())
    }
}

/// Where the MFA code of a helper profile comes from.
#[derive(Clone, Debug, Default)]
pub struct CodeSettings {
    /// `mfa_process`: wins over every prompt.
    pub mfa_process: Option<String>,
    /// `aws_mfa_proc_prompt`; without it, and without `AWS_MFA_PROC_PROMPT`: auto.
    pub prompt: Option<Driver>,
    /// `aws_mfa_proc_ykman_account`.
    pub ykman_account: Option<String>,
}

/// Where a profile's long-term keys come from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// Stored with `aws-mfa-proc add NAME`, under this name.
    Keychain(String),
    /// Static keys of another profile in the shared credentials file (`--source-profile`).
    SharedProfile { profile: String, keys: LongTermKeys },
    /// No long-term keys: an AWS Sign-In session of this profile (`aws_mfa_proc_source
    /// = sign-in`), its refresh token in the keychain. `endpoint` is the profile's
    /// `aws_mfa_proc_signin_endpoint`, if set.
    SignIn {
        profile: String,
        endpoint: Option<String>,
    },
}

impl KeySource {
    /// Stable, non-secret name of the long-term identity, used in keychain item names.
    pub fn id(&self) -> String {
        match self {
            KeySource::Keychain(name) => format!("keychain/{name}"),
            KeySource::SharedProfile { profile, .. } => format!("credentials/{profile}"),
            KeySource::SignIn { profile, .. } => format!("signin/{profile}"),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            KeySource::Keychain(name) => format!("keychain (`{name}`)"),
            KeySource::SharedProfile { profile, .. } => {
                format!("credentials file, profile `{profile}`")
            }
            KeySource::SignIn { profile, .. } => {
                format!("AWS Sign-In (`aws-mfa-proc login {profile}`)")
            }
        }
    }
}

/// Everything needed to get one profile's MFA session.
#[derive(Clone, Debug)]
pub struct Settings {
    pub profile: String,
    pub mfa_serial: String,
    /// The STS region: the profile's `region`, else [`DEFAULT_REGION`].
    pub region: String,
    /// The profile's own `region`, if it sets one (for `env`).
    pub profile_region: Option<String>,
    pub duration: Duration,
    pub keys: KeySource,
    /// STS endpoint override: `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, or `endpoint_url`.
    pub endpoint: Option<String>,
    /// IAM endpoint override: `AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL`, or `endpoint_url`.
    pub iam_endpoint: Option<String>,
    /// Where the code comes from.
    pub codes: CodeSettings,
}

impl Settings {
    /// Whether the session comes from AWS Sign-In rather than a code.
    pub fn is_sign_in(&self) -> bool {
        matches!(self.keys, KeySource::SignIn { .. })
    }
}

/// A role that aws-mfa-proc assumes itself, with an MFA session, and caches.
#[derive(Clone, Debug)]
pub struct RoleSettings {
    pub profile: String,
    pub role_arn: String,
    pub duration: Duration,
    /// The role profile's `region`, else the MFA profile's.
    pub region: String,
    pub profile_region: Option<String>,
    pub endpoint: Option<String>,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `role_session_name` (default `aws-mfa-proc`).
    pub session_name: Option<String>,
    /// `source_identity`.
    pub source_identity: Option<String>,
    /// `aws_mfa_proc_session_tags`.
    pub tags: Vec<(String, String)>,
    /// `aws_mfa_proc_transitive_tag_keys`.
    pub transitive_tag_keys: Vec<String>,
    /// The MFA session that assumes the role.
    pub mfa: Settings,
}

/// What a profile asks aws-mfa-proc for.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // one per call: size is of no matter
pub enum Target {
    /// The MFA session itself.
    Session(Settings),
    /// A role assumed with the MFA session.
    Role(RoleSettings),
}

impl Target {
    /// What the profile serves, in a few words (for `status` and `doctor`).
    pub fn summary(&self) -> String {
        match self {
            Target::Session(s) => format!(
                "MFA session of {}, keys in {}",
                s.mfa_serial,
                s.keys.describe()
            ),
            Target::Role(r) => format!(
                "role {} via the MFA session of `{}`",
                r.role_arn, r.mfa.profile
            ),
        }
    }

    pub fn profile(&self) -> &str {
        match self {
            Target::Session(s) => &s.profile,
            Target::Role(r) => &r.profile,
        }
    }

    /// The region the profile sets, if any.
    pub fn profile_region(&self) -> Option<&str> {
        match self {
            Target::Session(s) => s.profile_region.as_deref(),
            Target::Role(r) => r.profile_region.as_deref(),
        }
    }

    /// The least time left with which this target's credentials are handed out.
    pub fn margin(&self) -> Duration {
        match self {
            Target::Session(s) if s.is_sign_in() => SIGNIN_MARGIN,
            _ => REFRESH_MARGIN,
        }
    }

    /// The MFA session this target needs.
    pub fn mfa(&self) -> &Settings {
        match self {
            Target::Session(s) => s,
            Target::Role(r) => &r.mfa,
        }
    }
}
