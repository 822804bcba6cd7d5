//! Profile settings, read with the AWS SDK's own profile parser.
//!
//! Invariants:
//! - files are located the way every SDK locates them (`AWS_CONFIG_FILE`,
//!   `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/…`); a missing file is an empty file, any
//!   other read failure is an error naming the file;
//! - the text is parsed by `aws_config::profile::load`, never by a parser of our own;
//! - every setting is validated here, so the rest of the program handles only good values;
//! - nothing here touches the network, the keychain or the terminal.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::profile::{Profile, ProfileSet};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_types::os_shim_internal::{Env, Fs};

use crate::credentials::LongTermKeys;
use crate::secret::Secret;

/// Our own keys in a profile carry this prefix, so no SDK mistakes them for its own.
pub const KEY_PREFIX: &str = "aws_mfa_proc_";
/// Session length for GetSessionToken, in seconds.
pub const DURATION_KEY: &str = "aws_mfa_proc_session_duration";
/// Default session length: 12 hours, STS's own default.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(12 * 3600);
/// Never hand out credentials with less than this left: botocore refreshes at 15 minutes.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(15 * 60);
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
const PROGRAM: &str = "aws-mfa-proc";

/// Keys that must not sit in a profile that runs us: each breaks some SDK.
const FORBIDDEN_KEYS: &[(&str, &str)] = &[
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
const SHADOWING_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// Where to read process environment from; a trait so tests never touch the real one.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

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
        "several profiles run aws-mfa-proc ({names}); say which with --profile NAME on the credential_process line"
    )]
    AmbiguousProfile { names: String },
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
        "profile `{profile}`: `{ROLE_DURATION_KEY} = {seconds}` is longer than AWS allows here: a role assumed with an MFA session is role chaining, which AWS caps at 3600 s (1 hour). Set it to 3600 or less; aws-mfa-proc renews the role without asking for a code while the MFA session lasts"
    )]
    RoleTooLong { profile: String, seconds: u64 },
    #[error(
        "profile `{profile}` sets `{ROLE_ARN_KEY}` but not `{MFA_PROFILE_KEY}`. Add `{MFA_PROFILE_KEY} = NAME` naming the profile with your mfa_serial"
    )]
    MissingMfaProfile { profile: String },
    #[error(
        "profile `{profile}`: `{MFA_PROFILE_KEY} = {mfa_profile}` {problem}. Name the profile that holds mfa_serial (and runs `aws-mfa-proc --profile NAME`)"
    )]
    BadMfaProfile {
        profile: String,
        mfa_profile: String,
        problem: &'static str,
    },
    #[error(
        "profile `{profile}`: `{ROLE_ARN_KEY} = {value}` is not a role ARN. Use arn:aws:iam::ACCOUNT:role/NAME"
    )]
    BadRoleArn { profile: String, value: String },
    #[error(
        "profile `{profile}` is a role profile for the SDKs (role_arn {role_arn}, source_profile = {source_profile}): the SDK assumes that role itself with the credentials of `{source_profile}`. Here use --profile {source_profile}; or, to have aws-mfa-proc assume and cache the role, give the profile `credential_process` and `aws_mfa_proc_role_arn` instead (see docs/configuration.md)"
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
}

impl ConfigError {
    /// Whether the message already names a profile.
    pub fn names_profile(&self) -> bool {
        !matches!(
            self,
            ConfigError::Unreadable { .. }
                | ConfigError::NotText { .. }
                | ConfigError::Malformed { .. }
        )
    }
}

/// Where a profile's long-term keys come from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// Stored with `aws-mfa-proc add NAME`, under this name.
    Keychain(String),
    /// Static keys of another profile in the shared credentials file (`--source-profile`).
    SharedProfile { profile: String, keys: LongTermKeys },
}

impl KeySource {
    /// Stable, non-secret name of the long-term identity, used in keychain item names.
    pub fn id(&self) -> String {
        match self {
            KeySource::Keychain(name) => format!("keychain/{name}"),
            KeySource::SharedProfile { profile, .. } => format!("credentials/{profile}"),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            KeySource::Keychain(name) => format!("keychain (`{name}`)"),
            KeySource::SharedProfile { profile, .. } => {
                format!("credentials file, profile `{profile}`")
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
    /// The MFA session that assumes the role.
    pub mfa: Settings,
}

/// What a profile asks aws-mfa-proc for.
#[derive(Clone, Debug)]
pub enum Target {
    /// The MFA session itself.
    Session(Settings),
    /// A role assumed with the MFA session.
    Role(RoleSettings),
}

impl Target {
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

    /// The MFA session this target needs.
    pub fn mfa(&self) -> &Settings {
        match self {
            Target::Session(s) => s,
            Target::Role(r) => &r.mfa,
        }
    }
}

/// The parsed config and credentials files.
pub struct Config {
    profiles: ProfileSet,
    config_path: PathBuf,
    credentials_path: PathBuf,
}

impl Config {
    pub fn load(env: &dyn Environment) -> Result<Config, ConfigError> {
        let files = Files::read(env)?;
        Config::parse(
            files.config_path,
            &files.config_text,
            files.credentials_path,
            &files.credentials_text,
        )
    }

    /// What `profile` asks for, parsing only the sections it needs: its own, its MFA
    /// profile's and its source profile's. The cached path runs this on every AWS CLI
    /// command, and configs of large organisations hold thousands of profiles.
    ///
    /// Any error is reported by [`Config::load`] + [`Config::target`] instead, which see
    /// every profile (for hints such as the list of profiles that exist).
    pub fn load_target(
        env: &dyn Environment,
        profile: &str,
        source_profile: Option<&str>,
    ) -> Option<Target> {
        let (config_path, credentials_path) = Files::locate(env);
        let mut names: Vec<String> = [Some(profile), source_profile]
            .into_iter()
            .flatten()
            .map(str::to_string)
            .collect();
        // Each round adds what the sections read so far refer to: role → MFA profile
        // → source profile. Three rounds cover every chain this tool supports.
        for _ in 0..3 {
            let config = Config::parse(
                config_path.clone(),
                &read_sections(&config_path, &names)?,
                credentials_path.clone(),
                &read_sections(&credentials_path, &names)?,
            )
            .ok()?;
            let referred: Vec<String> = names
                .iter()
                .filter_map(|n| config.profiles.get_profile(n))
                .flat_map(|p| {
                    [
                        p.get(MFA_PROFILE_KEY).map(str::to_string),
                        p.get("credential_process")
                            .and_then(|line| flag_value(line, "--source-profile")),
                    ]
                })
                .flatten()
                .filter(|n| !names.contains(n))
                .collect();
            if referred.is_empty() {
                return config.target(env, profile, source_profile).ok();
            }
            names.extend(referred);
        }
        None
    }

    /// Parses the two files' text; `load` without the file system.
    pub fn parse(
        config_path: PathBuf,
        config_text: &str,
        credentials_path: PathBuf,
        credentials_text: &str,
    ) -> Result<Config, ConfigError> {
        let profiles = parse(&[
            (EnvConfigFileKind::Config, config_text),
            (EnvConfigFileKind::Credentials, credentials_text),
        ])
        .map_err(|detail| {
            // Say which file: parse each alone (only on this error path).
            let culprit = if parse(&[(EnvConfigFileKind::Config, config_text)]).is_err() {
                &config_path
            } else {
                &credentials_path
            };
            ConfigError::Malformed {
                path: culprit.clone(),
                detail,
            }
        })?;
        Ok(Config {
            profiles,
            config_path,
            credentials_path,
        })
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Profiles whose `credential_process` runs aws-mfa-proc, sorted.
    pub fn helper_profiles(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .profiles
            .profiles()
            .filter(|name| {
                self.profiles
                    .get_profile(name)
                    .and_then(|p| p.get("credential_process"))
                    .is_some_and(runs_us)
            })
            .collect();
        names.sort_unstable();
        names
    }

    /// The profile to serve: the one named, or else the only one that runs aws-mfa-proc.
    pub fn choose_profile(&self, named: Option<&str>) -> Result<String, ConfigError> {
        if let Some(name) = named {
            return Ok(name.to_string());
        }
        match self.helper_profiles().as_slice() {
            [] => Err(ConfigError::NoHelperProfile {
                path: self.config_path.clone(),
            }),
            [one] => Ok(one.to_string()),
            many => Err(ConfigError::AmbiguousProfile {
                names: many.join(", "),
            }),
        }
    }

    /// Validated settings of `profile`. `source_profile` is the `--source-profile` given on
    /// the command line; without it, the one on the profile's credential_process line counts.
    /// What `profile` asks for: its MFA session, or a role assumed with one.
    pub fn target(
        &self,
        env: &dyn Environment,
        profile: &str,
        source_profile: Option<&str>,
    ) -> Result<Target, ConfigError> {
        let section = self.section(profile)?;
        let Some(role_arn) = section.get(ROLE_ARN_KEY) else {
            return self
                .settings(env, profile, source_profile)
                .map(Target::Session);
        };
        let err_profile = || profile.to_string();
        if !(role_arn.starts_with("arn:") && role_arn.contains(":role/") && role_arn.len() <= 2048)
        {
            return Err(ConfigError::BadRoleArn {
                profile: err_profile(),
                value: truncate(role_arn, 80),
            });
        }
        let mfa_profile =
            section
                .get(MFA_PROFILE_KEY)
                .ok_or_else(|| ConfigError::MissingMfaProfile {
                    profile: err_profile(),
                })?;
        let bad_mfa_profile = |problem| ConfigError::BadMfaProfile {
            profile: err_profile(),
            mfa_profile: truncate(mfa_profile, 40),
            problem,
        };
        if mfa_profile == profile {
            return Err(bad_mfa_profile("names this profile itself"));
        }
        check_profile_name(mfa_profile)?;
        match self.profiles.get_profile(mfa_profile) {
            None => return Err(bad_mfa_profile("is not in the config")),
            Some(p) if p.get(ROLE_ARN_KEY).is_some() => {
                return Err(bad_mfa_profile("is a role profile itself"));
            }
            Some(_) => {}
        }
        let mfa = self.settings(env, mfa_profile, source_profile)?;
        let duration = seconds(
            section,
            profile,
            ROLE_DURATION_KEY,
            MAX_ROLE_DURATION,
            (MIN_ROLE_DURATION, Duration::from_secs(43_200)),
        )?;
        if duration > MAX_ROLE_DURATION {
            return Err(ConfigError::RoleTooLong {
                profile: err_profile(),
                seconds: duration.as_secs(),
            });
        }
        let profile_region = section.get("region").map(str::to_string);
        Ok(Target::Role(RoleSettings {
            profile: profile.to_string(),
            role_arn: role_arn.to_string(),
            duration,
            region: profile_region.clone().unwrap_or_else(|| mfa.region.clone()),
            profile_region,
            endpoint: endpoint(env, section).or_else(|| mfa.endpoint.clone()),
            mfa,
        }))
    }

    /// Validated settings of the MFA profile `profile`. `source_profile` is the
    /// `--source-profile` given on the command line; without it, the one on the
    /// profile's credential_process line counts.
    pub fn settings(
        &self,
        env: &dyn Environment,
        profile: &str,
        source_profile: Option<&str>,
    ) -> Result<Settings, ConfigError> {
        let section = self.section(profile)?;
        let mfa_serial =
            section
                .get("mfa_serial")
                .ok_or_else(|| ConfigError::MissingMfaSerial {
                    profile: profile.to_string(),
                })?;
        check_mfa_serial(mfa_serial).map_err(|reason| ConfigError::BadMfaSerial {
            profile: profile.to_string(),
            reason,
        })?;
        let duration = seconds(
            section,
            profile,
            DURATION_KEY,
            DEFAULT_DURATION,
            (MIN_DURATION, MAX_DURATION),
        )?;
        let from_line = section
            .get("credential_process")
            .and_then(|line| flag_value(line, "--source-profile"));
        let keys = match source_profile.map(str::to_string).or(from_line) {
            None => KeySource::Keychain(profile.to_string()),
            Some(src) => {
                check_profile_name(&src)?;
                let static_keys = self.profiles.get_profile(&src).and_then(|p| {
                    Some(LongTermKeys {
                        access_key_id: p.get("aws_access_key_id")?.to_string(),
                        secret_access_key: Secret::new(p.get("aws_secret_access_key")?.to_string()),
                    })
                });
                let keys = static_keys.ok_or_else(|| ConfigError::NoStaticKeys {
                    profile: profile.to_string(),
                    source_profile: src.clone(),
                    path: self.credentials_path.clone(),
                })?;
                KeySource::SharedProfile { profile: src, keys }
            }
        };
        Ok(Settings {
            profile: profile.to_string(),
            mfa_serial: mfa_serial.to_string(),
            region: section.get("region").unwrap_or(DEFAULT_REGION).to_string(),
            profile_region: section.get("region").map(str::to_string),
            duration,
            keys,
            endpoint: endpoint(env, section),
        })
    }

    /// The profile's section, checked for keys that must not sit beside credential_process.
    fn section(&self, profile: &str) -> Result<&Profile, ConfigError> {
        check_profile_name(profile)?;
        let section =
            self.profiles
                .get_profile(profile)
                .ok_or_else(|| ConfigError::UnknownProfile {
                    profile: profile.to_string(),
                    path: self.config_path.clone(),
                    hint: self.unknown_profile_hint(profile),
                })?;
        if let Some(role_arn) = section.get("role_arn") {
            return Err(ConfigError::SdkRoleProfile {
                profile: profile.to_string(),
                role_arn: truncate(role_arn, 100),
                source_profile: section.get("source_profile").unwrap_or("?").to_string(),
            });
        }
        for (key, why) in FORBIDDEN_KEYS {
            if section.get(key).is_some() {
                return Err(ConfigError::ForbiddenKey {
                    profile: profile.to_string(),
                    key,
                    why,
                });
            }
        }
        Ok(section)
    }

    /// The `--profile` that `profile`'s credential_process line asks for, if any.
    pub fn served_profile(&self, profile: &str) -> Option<String> {
        let line = self
            .profiles
            .get_profile(profile)?
            .get("credential_process")?;
        flag_value(line, "--profile")
    }

    /// The first key in `profile` that makes SDKs use it instead of running us.
    pub fn shadowing_key(&self, profile: &str) -> Option<&'static str> {
        let section = self.profiles.get_profile(profile)?;
        SHADOWING_KEYS
            .iter()
            .copied()
            .find(|k| section.get(k).is_some())
    }

    fn unknown_profile_hint(&self, profile: &str) -> String {
        let header = format!("[{profile}]");
        let misnamed = std::fs::read_to_string(&self.config_path)
            .is_ok_and(|text| text.lines().any(|l| l.trim() == header));
        if misnamed && profile != "default" {
            return format!(
                "It has a section {header}, which the SDKs ignore in the config file: write [profile {profile}]"
            );
        }
        match self.helper_profiles().as_slice() {
            [] => "Add [profile NAME] with credential_process, mfa_serial and region (see `aws-mfa-proc --help`)".to_string(),
            names => format!("Profiles that run aws-mfa-proc: {}", names.join(", ")),
        }
    }
}

/// STS endpoint: `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, then the profile's `endpoint_url`.
fn endpoint(env: &dyn Environment, section: &Profile) -> Option<String> {
    if env
        .var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return None;
    }
    env.var("AWS_ENDPOINT_URL_STS")
        .or_else(|| env.var("AWS_ENDPOINT_URL"))
        .or_else(|| section.get("endpoint_url").map(str::to_string))
}

/// A whole number of seconds under `key`, within `(min, max)`, else `default`.
fn seconds(
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

/// Parses file contents with the SDK's parser. Given contents, its loader does no I/O and
/// its future is ready at the first poll: no async runtime is needed on this path.
fn parse(files: &[(EnvConfigFileKind, &str)]) -> Result<ProfileSet, String> {
    let files = files
        .iter()
        .fold(EnvConfigFiles::builder(), |b, (kind, text)| {
            b.with_contents(*kind, *text)
        })
        .build();
    let (fs, env) = (Fs::real(), Env::real());
    let load = aws_config::profile::load(&fs, &env, &files, Some(Cow::Borrowed("default")));
    match now_or_never(load) {
        Some(Ok(profiles)) => Ok(profiles),
        // The SDK's message spans lines and names no file: make it one line.
        Some(Err(e)) => Err(crate::error_chain(&e)
            .replace("error parsing  on", "error on")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")),
        None => Err("the profile loader did not finish".into()),
    }
}

/// The two files, located the way the SDKs locate them, read as text.
struct Files {
    config_path: PathBuf,
    config_text: String,
    credentials_path: PathBuf,
    credentials_text: String,
}

impl Files {
    fn read(env: &dyn Environment) -> Result<Files, ConfigError> {
        let (config_path, credentials_path) = Files::locate(env);
        Ok(Files {
            config_text: read_text(&config_path, "AWS_CONFIG_FILE")?,
            credentials_text: read_text(&credentials_path, "AWS_SHARED_CREDENTIALS_FILE")?,
            config_path,
            credentials_path,
        })
    }

    /// The config and credentials file paths, as the SDKs find them.
    fn locate(env: &dyn Environment) -> (PathBuf, PathBuf) {
        let home = env.var("HOME").or_else(|| env.var("USERPROFILE"));
        let locate = |var: &str, default: &str| -> PathBuf {
            let raw = env.var(var).unwrap_or_else(|| default.to_string());
            match (raw.strip_prefix("~/"), &home) {
                (Some(rest), Some(home)) => Path::new(home).join(rest),
                _ => PathBuf::from(raw),
            }
        };
        (
            locate("AWS_CONFIG_FILE", "~/.aws/config"),
            locate("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
        )
    }
}

/// The sections of the file at `path` whose header ends in one of `names`
/// (`[profile NAME]`, `[NAME]`), whole and in order; a missing file has none. Headers are
/// lines that start with `[`, as in the SDK's parser. The file is streamed through one
/// small buffer: a config of thousands of profiles is never held, or paged in, whole.
/// `None` if it cannot be read or what is kept is not UTF-8 (the full path then says why).
fn read_sections(path: &Path, names: &[String]) -> Option<String> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(String::new()),
        Err(_) => return None,
    };
    let next_header = memchr::memmem::Finder::new(b"\n[");
    // window[..filled] is read but not yet judged: at most a header line that the end
    // of the previous read cut short, then what this read brought.
    let mut window = vec![0u8; 64 * 1024];
    let mut filled = 0;
    let mut kept = Vec::new();
    let mut keep = false;
    let mut at_line_start = true;
    loop {
        if filled == window.len() {
            window.resize(2 * window.len(), 0); // a header line longer than the window
        }
        let n = file.read(&mut window[filled..]).ok()?;
        let eof = n == 0;
        filled += n;
        let data = &window[..filled];
        let mut pos = 0;
        while pos < data.len() {
            let starts_line = if pos == 0 {
                at_line_start
            } else {
                data[pos - 1] == b'\n'
            };
            let header = if starts_line && data[pos] == b'[' {
                Some(pos)
            } else {
                next_header.find(&data[pos..]).map(|at| pos + at + 1)
            };
            let Some(header) = header else {
                if keep {
                    kept.extend_from_slice(&data[pos..]);
                }
                pos = data.len();
                break;
            };
            if keep {
                kept.extend_from_slice(&data[pos..header]);
            }
            let line_end = match memchr::memchr(b'\n', &data[header..]) {
                Some(at) => header + at + 1,
                None if !eof => {
                    pos = header; // cut short: judge it once the rest is read
                    break;
                }
                None => data.len(),
            };
            keep = header_names(&data[header..line_end], names);
            if keep {
                kept.extend_from_slice(&data[header..line_end]);
            }
            pos = line_end;
        }
        if pos > 0 {
            at_line_start = data[pos - 1] == b'\n';
        }
        window.copy_within(pos..filled, 0);
        filled -= pos;
        if eof {
            break;
        }
    }
    String::from_utf8(kept).ok()
}

/// Does this header line (`[profile NAME]`, `[NAME]`, `[ profile NAME ] # …`) name one
/// of `names`?
fn header_names(line: &[u8], names: &[String]) -> bool {
    let inner = &line[1..];
    let header =
        inner[..memchr::memchr2(b']', b'\n', inner).unwrap_or(inner.len())].trim_ascii_end();
    let word_start = header
        .iter()
        .rposition(u8::is_ascii_whitespace)
        .map_or(0, |at| at + 1);
    let last = &header[word_start..];
    names.iter().any(|n| n.as_bytes() == last)
}

/// Does this credential_process command line run aws-mfa-proc?
fn runs_us(command_line: &str) -> bool {
    let program = command_line
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c| c == '"' || c == '\'');
    let stem = Path::new(program)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("");
    stem == PROGRAM
}

/// The value of `--FLAG X` or `--FLAG=X` on a credential_process command line.
fn flag_value(command_line: &str, flag: &str) -> Option<String> {
    let mut words = command_line.split_whitespace();
    while let Some(word) = words.next() {
        if word == flag {
            return words.next().map(str::to_string);
        }
        if let Some(value) = word.strip_prefix(flag).and_then(|v| v.strip_prefix('=')) {
            return Some(value.to_string());
        }
    }
    None
}

fn read_text(path: &Path, env_var: &'static str) -> Result<String, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| ConfigError::NotText {
            path: path.to_path_buf(),
            env_var,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(ConfigError::Unreadable {
            path: path.to_path_buf(),
            env_var,
            detail: e.to_string(),
        }),
    }
}

fn check_profile_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty() && name.len() <= 128 && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(ConfigError::BadProfileName(truncate(name, 40)))
    }
}

/// STS's SerialNumber: 9 to 256 characters of `[\w+=/:,.@-]`.
fn check_mfa_serial(serial: &str) -> Result<(), String> {
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

fn truncate(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_string(),
    }
}

/// Polls a future once; `None` if it is not ready. The profile loader is ready at once.
fn now_or_never<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    pub struct FakeEnv(pub HashMap<&'static str, String>);

    impl Environment for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }

    fn setup(config: &str, credentials: &str) -> (tempfile::TempDir, FakeEnv) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config"), config).unwrap();
        std::fs::write(dir.path().join("credentials"), credentials).unwrap();
        let env = FakeEnv(HashMap::from([
            (
                "AWS_CONFIG_FILE",
                dir.path().join("config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.path().join("credentials").display().to_string(),
            ),
        ]));
        (dir, env)
    }

    const SEED: &str = "[profile mfa]\ncredential_process = aws-mfa-proc --profile mfa\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\nregion = eu-west-1\n\n[profile production]\nrole_arn = arn:aws:iam::222222222222:role/R\nsource_profile = mfa\n";

    #[test]
    fn reads_the_seed_layout_with_defaults() {
        let (_dir, env) = setup(SEED, "");
        let config = Config::load(&env).unwrap();
        let s = config.settings(&env, "mfa", None).unwrap();
        assert_eq!(s.mfa_serial, "arn:aws:iam::111111111111:mfa/alice");
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.duration, DEFAULT_DURATION);
        assert!(matches!(s.keys, KeySource::Keychain(ref n) if n == "mfa"));
        assert_eq!(s.endpoint, None);
    }

    #[test]
    fn a_bare_call_picks_the_only_profile_that_runs_us() {
        let (_dir, env) = setup(SEED, "");
        let config = Config::load(&env).unwrap();
        assert_eq!(config.choose_profile(None).unwrap(), "mfa");
        let two = format!(
            "{SEED}\n[profile other]\ncredential_process = /usr/local/bin/aws-mfa-proc --profile other\n"
        );
        let (_dir, env) = setup(&two, "");
        let err = Config::load(&env)
            .unwrap()
            .choose_profile(None)
            .unwrap_err();
        assert!(err.to_string().contains("--profile"), "{err}");
    }

    #[test]
    fn source_profile_on_the_credential_process_line_reads_static_keys() {
        let config = "[profile mfa]\ncredential_process = aws-mfa-proc --profile mfa --source-profile default\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\n";
        let creds = "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s3cr3t\n";
        let (_dir, env) = setup(config, creds);
        let s = Config::load(&env)
            .unwrap()
            .settings(&env, "mfa", None)
            .unwrap();
        match s.keys {
            KeySource::SharedProfile { profile, keys } => {
                assert_eq!(profile, "default");
                assert_eq!(keys.access_key_id, "AKIAEXAMPLE");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn endpoint_precedence_is_sts_variable_then_global_then_profile() {
        let config = SEED.replace(
            "region = eu-west-1\n",
            "region = eu-west-1\nendpoint_url = http://profile\n",
        );
        let (_dir, mut env) = setup(&config, "");
        let cfg = Config::load(&env).unwrap();
        let endpoint = |env: &FakeEnv| cfg.settings(env, "mfa", None).unwrap().endpoint;
        assert_eq!(endpoint(&env).as_deref(), Some("http://profile"));
        env.0.insert("AWS_ENDPOINT_URL", "http://global".into());
        assert_eq!(endpoint(&env).as_deref(), Some("http://global"));
        env.0.insert("AWS_ENDPOINT_URL_STS", "http://sts".into());
        assert_eq!(endpoint(&env).as_deref(), Some("http://sts"));
    }

    #[test]
    fn bad_settings_name_the_profile_and_the_fix() {
        let cases = [
            ("[profile mfa]\nregion = eu-west-1\n", "mfa_serial"),
            ("[profile mfa]\nmfa_serial = alice\n", "9 to 256"),
            (
                "[profile mfa]\nmfa_serial = arn:aws:iam::1:user/alice\n",
                "MFA device",
            ),
            (
                "[profile mfa]\nmfa_serial = arn:aws:iam::111111111111:mfa/a\naws_mfa_proc_session_duration = 60\n",
                "1800 to 129600",
            ),
            (
                "[profile mfa]\nmfa_serial = arn:aws:iam::111111111111:mfa/a\nsource_profile = x\n",
                "Go SDK",
            ),
        ];
        for (config, expected) in cases {
            let (_dir, env) = setup(config, "");
            let err = Config::load(&env)
                .unwrap()
                .settings(&env, "mfa", None)
                .unwrap_err()
                .to_string();
            assert!(err.contains("`mfa`"), "{err}");
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }

    const ROLE: &str = "\n[profile prod]\ncredential_process = aws-mfa-proc --profile prod\naws_mfa_proc_role_arn = arn:aws:iam::222222222222:role/Admin\naws_mfa_proc_mfa_profile = mfa\n";

    #[test]
    fn a_built_in_role_profile_resolves_to_its_mfa_session() {
        let (_dir, env) = setup(&format!("{SEED}{ROLE}"), "");
        let config = Config::load(&env).unwrap();
        match config.target(&env, "prod", None).unwrap() {
            Target::Role(r) => {
                assert_eq!(r.role_arn, "arn:aws:iam::222222222222:role/Admin");
                assert_eq!(r.duration, MAX_ROLE_DURATION);
                assert_eq!(r.mfa.profile, "mfa");
                assert_eq!(r.region, "eu-west-1", "the MFA profile's region");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            config.target(&env, "mfa", None),
            Ok(Target::Session(_))
        ));
    }

    #[test]
    fn a_role_longer_than_an_hour_is_refused_with_the_reason() {
        let config = format!("{SEED}{ROLE}aws_mfa_proc_role_duration = 7200\n");
        let (_dir, env) = setup(&config, "");
        let err = Config::load(&env)
            .unwrap()
            .target(&env, "prod", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("role chaining") && err.contains("3600"),
            "{err}"
        );
    }

    #[test]
    fn a_role_profile_that_names_itself_or_nothing_is_refused() {
        for (edit, expected) in [
            (
                "aws_mfa_proc_mfa_profile = mfa",
                "aws_mfa_proc_mfa_profile = prod",
            ),
            (
                "aws_mfa_proc_mfa_profile = mfa",
                "aws_mfa_proc_mfa_profile = nowhere",
            ),
            ("aws_mfa_proc_mfa_profile = mfa\n", ""),
        ] {
            let config = format!("{SEED}{}", ROLE.replace(edit, expected));
            let (_dir, env) = setup(&config, "");
            let err = Config::load(&env)
                .unwrap()
                .target(&env, "prod", None)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("`prod`") && err.contains("aws_mfa_proc_mfa_profile"),
                "{err}"
            );
        }
    }

    /// The fields that say which credentials a target means.
    fn identity(t: &Target) -> String {
        let mfa = t.mfa();
        let role = match t {
            Target::Role(r) => format!("{} {:?} {}", r.role_arn, r.duration, r.region),
            Target::Session(_) => String::new(),
        };
        format!(
            "{} {} {} {:?} {:?} {role}",
            t.profile(),
            mfa.mfa_serial,
            mfa.keys.id(),
            mfa.duration,
            mfa.endpoint
        )
    }

    #[test]
    fn reading_only_the_needed_sections_gives_the_same_target_at_any_config_size() {
        let mut config = format!("{SEED}{ROLE}").replace(
            "credential_process = aws-mfa-proc --profile mfa",
            "credential_process = aws-mfa-proc --profile mfa --source-profile keys",
        );
        for i in 0..5000 {
            config.push_str(&format!(
                "\n[profile team-{i}]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = mfa\n"
            ));
        }
        let creds = "[keys]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n[other]\naws_access_key_id = AKIAOTHER\n";
        let (_dir, env) = setup(&config, creds);
        let full = Config::load(&env).unwrap();
        for profile in ["mfa", "prod"] {
            let fast = Config::load_target(&env, profile, None).expect("resolves");
            assert_eq!(
                identity(&fast),
                identity(&full.target(&env, profile, None).unwrap())
            );
        }
        assert!(
            Config::load_target(&env, "team-1", None).is_none(),
            "errors go the full way"
        );
        assert!(Config::load_target(&env, "nowhere", None).is_none());
    }

    #[test]
    fn a_header_cut_by_the_read_buffer_is_still_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        for pad in [65_530, 65_536, 65_540, 131_070] {
            let filler = format!("[profile filler]\nk = {}\n", "x".repeat(pad));
            let text = format!("{filler}[profile mfa]\na = 1\n[profile other]\nb = 2");
            std::fs::write(&path, &text).unwrap();
            let kept = read_sections(&path, &["mfa".to_string()]).unwrap();
            assert_eq!(kept, "[profile mfa]\na = 1\n", "pad {pad}");
        }
    }

    #[test]
    fn only_sections_whose_header_names_a_wanted_profile_are_kept() {
        let text = "top = 1\n[profile mfa]\na = 1\n  nested = 2\n[profile mfa2]\nb = 2\n[default]\nc = 3\n[ profile mfa ] # again\nd = 4\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, text).unwrap();
        let kept = read_sections(&path, &["mfa".to_string()]).unwrap();
        assert_eq!(
            kept,
            "[profile mfa]\na = 1\n  nested = 2\n[ profile mfa ] # again\nd = 4\n"
        );
    }

    #[test]
    fn an_unknown_profile_lists_the_ones_that_exist() {
        let (_dir, env) = setup(SEED, "");
        let err = Config::load(&env)
            .unwrap()
            .settings(&env, "prod", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`prod`") && err.contains("mfa"), "{err}");
    }

    #[test]
    fn a_malformed_or_binary_file_is_an_error_naming_it() {
        let (_dir, env) = setup("[profile mfa\nmfa_serial = x\n", "");
        assert!(matches!(
            Config::load(&env),
            Err(ConfigError::Malformed { .. })
        ));
        let (dir, env) = setup("", "");
        std::fs::write(dir.path().join("config"), b"\xff\xfe[profile]").unwrap();
        assert!(matches!(
            Config::load(&env),
            Err(ConfigError::NotText { .. })
        ));
    }

    #[test]
    fn a_megabyte_mfa_serial_is_an_error_not_a_panic() {
        let config = format!(
            "[profile mfa]\nmfa_serial = arn:aws:iam::111111111111:mfa/{}\n",
            "a".repeat(1 << 20)
        );
        let env = FakeEnv(HashMap::new());
        let config = Config::parse("c".into(), &config, "k".into(), "").unwrap();
        let err = config.settings(&env, "mfa", None).unwrap_err().to_string();
        assert!(
            err.contains("9 to 256") && err.len() < 400,
            "{}",
            &err[..200]
        );
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Lines that look like AWS config, and lines that look like nothing.
        fn line() -> impl Strategy<Value = String> {
            let name = prop_oneof![Just("mfa".to_string()), "[a-z\\]\\[ \\x00-]{0,12}"];
            let value = prop_oneof![
                Just("arn:aws:iam::111111111111:mfa/alice".to_string()),
                Just("aws-mfa-proc --profile mfa --source-profile mfa".to_string()),
                "[0-9]{0,12}",
                "\\PC{0,64}",
                (0usize..5000).prop_map(|n| "x".repeat(n)),
            ];
            let key = prop_oneof![
                Just("mfa_serial"),
                Just("credential_process"),
                Just("region"),
                Just(DURATION_KEY),
                Just("source_profile"),
                Just("aws_access_key_id"),
                Just("aws_secret_access_key"),
                Just("endpoint_url"),
                Just("  nested"),
            ];
            prop_oneof![
                name.clone().prop_map(|n| format!("[profile {n}]")),
                name.prop_map(|n| format!("[{n}]")),
                (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
                "\\PC{0,80}",
                any::<String>(),
            ]
        }

        proptest! {
            /// Whatever the files say: settings or an error, never a panic, and an
            /// error message of bounded size on one line.
            #[test]
            fn any_config_gives_settings_or_a_clear_error(
                config in prop::collection::vec(line(), 0..30),
                credentials in prop::collection::vec(line(), 0..10),
                named in prop_oneof![Just(None), Just(Some("mfa".to_string())), any::<String>().prop_map(Some)],
            ) {
                let env = FakeEnv(HashMap::new());
                let dir = tempfile::tempdir().unwrap();
                let files = FakeEnv(HashMap::from([
                    ("AWS_CONFIG_FILE", dir.path().join("c").display().to_string()),
                    ("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("k").display().to_string()),
                ]));
                std::fs::write(dir.path().join("c"), config.join("\n")).unwrap();
                std::fs::write(dir.path().join("k"), credentials.join("\n")).unwrap();
                // Where the whole file parses, reading only the needed sections agrees.
                if let (Some(fast), Ok(all)) = (Config::load_target(&files, "mfa", None), Config::load(&files)) {
                    let full = all.target(&files, "mfa", None);
                    prop_assert!(full.is_ok(), "fast path accepted what the full path refuses");
                    prop_assert_eq!(identity(&fast), identity(&full.unwrap()));
                }
                match Config::parse("config".into(), &config.join("\n"), "credentials".into(), &credentials.join("\n")) {
                    Err(e) => prop_assert!(!e.to_string().contains('\n')),
                    Ok(cfg) => {
                        let _ = cfg.helper_profiles();
                        if let Ok(profile) = cfg.choose_profile(named.as_deref())
                            && let Err(e) = cfg.settings(&env, &profile, None)
                        {
                            prop_assert!(e.to_string().len() < 2000);
                        }
                    }
                }
            }
        }
    }
}
