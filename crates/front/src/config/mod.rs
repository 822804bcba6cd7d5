//! Profile settings, read with the AWS SDK's own profile parser.
//!
//! The job is split:
//! - [`model`]: what a profile asks for, as plain data ([`Target`]);
//! - [`files`]: finding and opening the two files;
//! - this module: the full loader, which parses both files whole and resolves a profile;
//! - [`fast`]: the cached-path loader, which parses only the sections a profile needs;
//! - [`lines`]: config text read and checked line by line as the SDK's parser reads it;
//! - [`helpers`]: which profiles run aws-mfa-proc, as every client counts them (what a
//!   bare call may serve);
//! - [`rules`]: the checks every value passes; [`error`]: every way to fail;
//! - [`command_line`]: the `credential_process` line, split as a shell splits it;
//!   [`windows_line`]: as `cmd /C` and botocore split it on Windows.
//! - [`names`]: the profile names of a file, for shell completion.
//!
//! Invariants:
//! - the text is parsed by the SDK's own parser (`aws_runtime::env_config`, which
//!   `aws_config::profile::load` wraps), never by a parser of our own
//!   (the fast loader only chooses which sections to hand it);
//! - every setting is validated here, so the rest of the program handles only good values;
//! - a file that holds one section twice (`[profile x]` and `[profile  x]`, or the same
//!   header again) is refused, naming both lines: the SDK merges the two in hash order,
//!   so the profile would change from run to run;
//! - nothing here touches the network, the keychain or the terminal.

mod command_line;
mod cut;
pub mod edit;
mod error;
pub mod fast;
mod files;
mod helpers;
mod lines;
pub mod lint;
mod model;
mod names;
mod roles;
mod rules;
#[cfg(test)]
mod tests;
mod windows_line;

use std::borrow::Cow;
use std::path::Path;

use aws_runtime::env_config::error::EnvConfigFileLoadError;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_runtime::env_config::section::{EnvConfigSections as ProfileSet, Profile};
use aws_types::os_shim_internal::{Env, Fs};

pub use command_line::{command_words, flag_value, quote, runs_us, words};
pub use error::ConfigError;
pub use files::{FileKind, Paths};
pub use model::*;
pub use names::profile_names;
pub use rules::{check_mfa_serial, env_endpoint, is_region};
pub use windows_line::botocore_differs;

use crate::credentials::LongTermKeys;
use crate::secret::Secret;
use crate::system::Environment;
use helpers::Helpers;
use rules::{check_profile_name, seconds, truncate};

/// The parsed config and credentials files.
pub struct Config {
    profiles: ProfileSet,
    paths: Paths,
    /// The config file's text: headers the SDK ignores (`[mfa]`) are found in it.
    config_text: String,
    /// The profiles that run aws-mfa-proc, as every client counts them.
    helpers: Helpers,
}

impl Config {
    pub fn load(env: &dyn Environment) -> Result<Config, ConfigError> {
        let paths = Paths::locate(env);
        let config_text = files::read_text(&paths.config, FileKind::Config)?;
        let credentials_text = files::read_text(&paths.credentials, FileKind::Credentials)?;
        Config::parse(paths, config_text, &credentials_text)
    }

    /// Parses the two files' text; `load` without the file system.
    pub fn parse(
        paths: Paths,
        config_text: String,
        credentials_text: &str,
    ) -> Result<Config, ConfigError> {
        let profiles = parse(&[
            (EnvConfigFileKind::Config, &config_text),
            (EnvConfigFileKind::Credentials, credentials_text),
        ])
        .map_err(|detail| {
            // Say which file: parse each alone (only on this error path).
            let culprit = if parse(&[(EnvConfigFileKind::Config, &config_text)]).is_err() {
                &paths.config
            } else {
                &paths.credentials
            };
            ConfigError::Malformed {
                path: culprit.clone(),
                detail,
            }
        })?;
        for (text, path) in [
            (&*config_text, &paths.config),
            (credentials_text, &paths.credentials),
        ] {
            if let Some((section, first, second)) = lines::repeated_section(text) {
                return Err(ConfigError::RepeatedSection {
                    path: path.clone(),
                    section,
                    first,
                    second,
                });
            }
        }
        let sections = |text| lines::Scan::text(text).helpers().unwrap_or_default();
        let helpers = Helpers::of(sections(&config_text), sections(credentials_text));
        Ok(Config {
            profiles,
            paths,
            config_text,
            helpers,
        })
    }

    pub fn config_path(&self) -> &Path {
        &self.paths.config
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

    /// The profile to serve: the one named, or else the only one that runs aws-mfa-proc,
    /// counted as every client counts them ([`helpers`]).
    pub fn choose_profile(&self, named: Option<&str>) -> Result<String, ConfigError> {
        if let Some(name) = named {
            return Ok(name.to_string());
        }
        if let Some(only) = self.helpers.only() {
            return Ok(only.to_string());
        }
        let mut names: Vec<&str> = (self.helpers.names.iter())
            .map(|(name, _)| name.as_str())
            .collect();
        if self.helpers.everywhere {
            names.push("every profile, for botocore: [DEFAULT] sets it");
        }
        match names.as_slice() {
            [] => Err(ConfigError::NoHelperProfile {
                path: self.paths.config.clone(),
            }),
            many => Err(ConfigError::AmbiguousProfile {
                names: many.join(", "),
            }),
        }
    }

    /// What `profile` asks for: its MFA session, or a role assumed with one.
    /// `source_profile` is the `--source-profile` given on the command line; without
    /// it, the one on the profile's credential_process line counts.
    pub fn target(
        &self,
        env: &dyn Environment,
        profile: &str,
        source_profile: Option<&str>,
    ) -> Result<Target, ConfigError> {
        check_profile_name(profile)?;
        let section = self.known(profile)?;
        match self.role(env, profile, section, source_profile)? {
            Some(role) => Ok(Target::Role(role)),
            None => self
                .settings(env, profile, source_profile)
                .map(Target::Session),
        }
    }

    /// Validated settings of the MFA profile `profile`.
    pub fn settings(
        &self,
        env: &dyn Environment,
        profile: &str,
        source_profile: Option<&str>,
    ) -> Result<Settings, ConfigError> {
        let section = self.section(profile)?;
        if let Some(source) = section.get(SOURCE_KEY) {
            return self.sign_in_settings(env, profile, section, source);
        }
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
                        rotated_from: None,
                    })
                });
                let keys = static_keys.ok_or_else(|| ConfigError::NoStaticKeys {
                    profile: profile.to_string(),
                    source_profile: src.clone(),
                    path: self.paths.credentials.clone(),
                })?;
                KeySource::SharedProfile { profile: src, keys }
            }
        };
        let profile_region = rules::region(section, profile)?;
        Ok(Settings {
            profile: profile.to_string(),
            mfa_serial: mfa_serial.to_string(),
            region: profile_region
                .clone()
                .unwrap_or_else(|| DEFAULT_REGION.to_string()),
            profile_region,
            duration,
            keys,
            endpoint: rules::endpoint(env, section),
            iam_endpoint: rules::service_endpoint(env, section, "IAM"),
            codes: rules::code_settings(section, profile)?,
        })
    }

    /// Settings of a profile whose session comes from AWS Sign-In: no keys, no code.
    fn sign_in_settings(
        &self,
        env: &dyn Environment,
        profile: &str,
        section: &Profile,
        source: &str,
    ) -> Result<Settings, ConfigError> {
        if source.trim() != SIGN_IN {
            return Err(ConfigError::BadSource {
                profile: profile.to_string(),
                value: truncate(source, 40),
            });
        }
        let profile_region = rules::region(section, profile)?;
        Ok(Settings {
            profile: profile.to_string(),
            // Names the session in item names, as an MFA device does for a TOTP source.
            mfa_serial: SIGN_IN.to_string(),
            region: profile_region
                .clone()
                .unwrap_or_else(|| DEFAULT_REGION.to_string()),
            profile_region,
            duration: DEFAULT_DURATION,
            keys: KeySource::SignIn {
                profile: profile.to_string(),
                endpoint: section.get(SIGNIN_ENDPOINT_KEY).map(str::to_string),
            },
            endpoint: rules::endpoint(env, section),
            iam_endpoint: rules::service_endpoint(env, section, "IAM"),
            codes: CodeSettings::default(),
        })
    }

    /// The profile's section, or why there is none.
    fn known(&self, profile: &str) -> Result<&Profile, ConfigError> {
        self.profiles
            .get_profile(profile)
            .ok_or_else(|| ConfigError::UnknownProfile {
                profile: profile.to_string(),
                path: self.paths.config.clone(),
                hint: self.unknown_profile_hint(profile),
            })
    }

    /// The profile's section, checked for keys that must not sit beside credential_process.
    fn section(&self, profile: &str) -> Result<&Profile, ConfigError> {
        check_profile_name(profile)?;
        let section = self.known(profile)?;
        if let Some(role_arn) = section.get("role_arn") {
            return Err(ConfigError::SdkRoleProfile {
                profile: profile.to_string(),
                role_arn: truncate(role_arn, 100),
                source_profile: section.get("source_profile").unwrap_or("?").to_string(),
            });
        }
        for (key, why) in rules::FORBIDDEN_KEYS {
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

    /// Every profile name of both files, sorted.
    pub fn profile_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.profiles.profiles().collect();
        names.sort_unstable();
        names
    }

    /// `profile`'s static keys in either file: access key ID, secret, session token.
    pub fn static_key_lines(
        &self,
        profile: &str,
    ) -> (Option<String>, Option<String>, Option<String>) {
        let get = |key| {
            self.profiles
                .get_profile(profile)
                .and_then(|p| p.get(key))
                .map(str::to_string)
        };
        (
            get("aws_access_key_id"),
            get("aws_secret_access_key"),
            get("aws_session_token"),
        )
    }

    /// `key` in `profile`, as written.
    pub fn value(&self, profile: &str, key: &str) -> Option<&str> {
        self.profiles.get_profile(profile)?.get(key)
    }

    /// `profile`'s credential_process line, if it has one.
    pub fn credential_process(&self, profile: &str) -> Option<&str> {
        self.profiles
            .get_profile(profile)?
            .get("credential_process")
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
        rules::SHADOWING_KEYS
            .iter()
            .copied()
            .find(|k| section.get(k).is_some())
    }

    /// Sections that run aws-mfa-proc for botocore but that the Rust SDK skips: the
    /// profile botocore reads there, and what the header holds.
    fn skipped_sections(&self) -> impl Iterator<Item = (&str, &str)> {
        (self.helpers.skipped.iter()).map(|(_, header, name)| (name.as_str(), header.as_str()))
    }

    /// Does the config file have a `[NAME]` header, which the SDKs ignore there?
    pub fn has_unprefixed_section(&self, name: &str) -> bool {
        let header = format!("[{name}]");
        name != "default" && self.config_text.lines().any(|l| l.trim() == header)
    }

    fn unknown_profile_hint(&self, profile: &str) -> String {
        if let Some((_, header)) = self.skipped_sections().find(|(name, _)| *name == profile) {
            return format!(
                "The Rust SDK, which aws-mfa-proc reads it with, skips its section [{header}] (botocore, for the AWS CLI and boto3, reads it): rename the profile to letters, digits and _-/.%@:+"
            );
        }
        if self.has_unprefixed_section(profile) {
            return format!(
                "It has a section [{profile}], which the SDKs ignore in the config file: write [profile {profile}]"
            );
        }
        let close = closest(profile, &self.profile_names());
        let meant = match close.as_slice() {
            [] => String::new(),
            names => format!(
                "Did you mean {}? ",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        };
        match self.helper_profiles().as_slice() {
            [] => format!(
                "{meant}Add [profile NAME] with credential_process, mfa_serial and region (see `aws-mfa-proc --help`)"
            ),
            names => format!(
                "{meant}Profiles that run aws-mfa-proc: {}",
                names.join(", ")
            ),
        }
    }
}

/// The names in `among` closest to the mistyped `name` (a typo or two, or a name it
/// begins), nearest first, at most three.
fn closest<'n>(name: &str, among: &[&'n str]) -> Vec<&'n str> {
    let wanted: Vec<char> = name.to_lowercase().chars().collect();
    let mut scored: Vec<(usize, &str)> = among
        .iter()
        .filter_map(|candidate| {
            let other: Vec<char> = candidate.to_lowercase().chars().collect();
            let distance = edits(&wanted, &other);
            let allowed = (wanted.len().max(other.len()) / 3).max(1);
            let begins = wanted.len() >= 3 && other.starts_with(&wanted);
            (distance <= allowed || begins).then_some((distance, *candidate))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

/// Levenshtein distance.
fn edits(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
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
    // As `aws_config::profile::load` does, with "default" as the selected profile.
    let load = async {
        let mut source = aws_runtime::env_config::source::load(&env, &fs, &files).await?;
        source.profile = Cow::Borrowed("default");
        Ok::<_, EnvConfigFileLoadError>(ProfileSet::parse(source)?)
    };
    match now_or_never(load) {
        Some(Ok(profiles)) => Ok(profiles),
        // The SDK's message spans lines and names no file: make it one line.
        Some(Err(e)) => Err(crate::error::chain(&e)
            .replace("error parsing  on", "error on")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")),
        None => Err("the profile loader did not finish".into()),
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
