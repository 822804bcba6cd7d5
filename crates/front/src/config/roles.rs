//! Roles that aws-mfa-proc assumes itself with an MFA session: its own cached roles
//! (`aws_mfa_proc_role_arn` + `aws_mfa_proc_mfa_profile` beside `credential_process`),
//! and plain SDK role profiles (`role_arn` + `source_profile` naming a helper profile)
//! when `exec`, `env`, `console` or a direct call is asked for one.
//!
//! Invariants:
//! - both read the standard role settings people already have: `external_id`,
//!   `role_session_name`, `duration_seconds` (at most 3600 s: role chaining) and
//!   `source_identity`, plus session tags (`aws_mfa_proc_session_tags = K=V,…`,
//!   `aws_mfa_proc_transitive_tag_keys = K,…`);
//! - a role chains from exactly one MFA session: its source must run aws-mfa-proc, and
//!   must not be a role itself.

use std::time::Duration;

use aws_runtime::env_config::section::Profile;

use super::rules::{self, check_profile_name, seconds, truncate};
use super::{
    Config, ConfigError, MAX_ROLE_DURATION, MFA_PROFILE_KEY, MIN_ROLE_DURATION, ROLE_ARN_KEY,
    ROLE_DURATION_KEY, RoleSettings, runs_us,
};
use crate::system::Environment;

const TAGS_KEY: &str = "aws_mfa_proc_session_tags";
const TRANSITIVE_KEY: &str = "aws_mfa_proc_transitive_tag_keys";

impl Config {
    /// The role profiles that chain from the MFA profile `name` (SDK role profiles with
    /// `source_profile = name`, and aws-mfa-proc's own with `aws_mfa_proc_mfa_profile`),
    /// sorted.
    pub fn roles_from(&self, name: &str) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .profiles
            .profiles()
            .filter(|candidate| {
                self.profiles.get_profile(candidate).is_some_and(|p| {
                    (p.get("role_arn").is_some() && p.get("source_profile") == Some(name))
                        || (p.get(ROLE_ARN_KEY).is_some() && p.get(MFA_PROFILE_KEY) == Some(name))
                })
            })
            .collect();
        names.sort_unstable();
        names
    }

    /// The role `profile` asks aws-mfa-proc to assume, if it is a role profile.
    pub(super) fn role(
        &self,
        env: &dyn Environment,
        profile: &str,
        section: &Profile,
        source_profile: Option<&str>,
    ) -> Result<Option<RoleSettings>, ConfigError> {
        let (role_arn, mfa_profile, built_in) = match (
            section.get(ROLE_ARN_KEY),
            section.get("role_arn"),
        ) {
            (Some(arn), _) => {
                let mfa =
                    section
                        .get(MFA_PROFILE_KEY)
                        .ok_or_else(|| ConfigError::MissingMfaProfile {
                            profile: profile.to_string(),
                        })?;
                (arn, mfa, true)
            }
            (None, Some(arn)) => {
                if section.get("credential_process").is_some_and(runs_us) {
                    return Err(ConfigError::ForbiddenKey {
                        profile: profile.to_string(),
                        key: "role_arn",
                        why: "the SDKs would assume the role themselves and never run aws-mfa-proc for it; to have aws-mfa-proc assume and cache it, write `aws_mfa_proc_role_arn` instead",
                    });
                }
                let source = section.get("source_profile").ok_or_else(|| ConfigError::RoleSource {
                    profile: profile.to_string(),
                    key: "credential_source",
                    from: section.get("credential_source").unwrap_or("").to_string(),
                    problem: "is not a profile: aws-mfa-proc assumes roles only with its own MFA sessions (use `source_profile`)",
                })?;
                (arn, source, false)
            }
            (None, None) => return Ok(None),
        };
        let err_profile = || profile.to_string();
        if !(role_arn.starts_with("arn:") && role_arn.contains(":role/") && role_arn.len() <= 2048)
        {
            return Err(ConfigError::BadRoleArn {
                profile: err_profile(),
                value: truncate(role_arn, 80),
            });
        }
        let bad_source = |problem| ConfigError::RoleSource {
            profile: err_profile(),
            key: if built_in {
                MFA_PROFILE_KEY
            } else {
                "source_profile"
            },
            from: truncate(mfa_profile, 40),
            problem,
        };
        if mfa_profile == profile {
            return Err(bad_source("is this profile itself"));
        }
        check_profile_name(mfa_profile)?;
        match self.profiles.get_profile(mfa_profile) {
            None => return Err(bad_source("is not in the config")),
            Some(p) if p.get(ROLE_ARN_KEY).is_some() || p.get("role_arn").is_some() => {
                return Err(bad_source(
                    "is a role profile itself (aws-mfa-proc assumes one role from its MFA session)",
                ));
            }
            Some(p) if !built_in && !p.get("credential_process").is_some_and(runs_us) => {
                return Err(bad_source(
                    "does not run aws-mfa-proc (its credential_process)",
                ));
            }
            Some(_) => {}
        }
        let mfa = self.settings(env, mfa_profile, source_profile)?;
        let duration_key = if section.get(ROLE_DURATION_KEY).is_some() {
            ROLE_DURATION_KEY
        } else {
            "duration_seconds"
        };
        let duration = seconds(
            section,
            profile,
            duration_key,
            MAX_ROLE_DURATION,
            (MIN_ROLE_DURATION, Duration::from_secs(43_200)),
        )?;
        if duration > MAX_ROLE_DURATION {
            return Err(ConfigError::RoleTooLong {
                profile: err_profile(),
                key: duration_key,
                seconds: duration.as_secs(),
            });
        }
        let text =
            |key: &'static str, allowed: &str, max: usize| -> Result<Option<String>, ConfigError> {
                let Some(value) = section.get(key) else {
                    return Ok(None);
                };
                let ok = (2..=max).contains(&value.len())
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || allowed.contains(c));
                ok.then(|| Some(value.to_string()))
                    .ok_or(ConfigError::BadRoleSetting {
                        profile: err_profile(),
                        key,
                        value: truncate(value, 40),
                        rule: format!("2 to {max} characters of letters, digits and {allowed}"),
                    })
            };
        let (tags, transitive_tag_keys) = tags(section, profile)?;
        let profile_region = rules::region(section, profile)?;
        Ok(Some(RoleSettings {
            profile: profile.to_string(),
            role_arn: role_arn.to_string(),
            duration,
            region: profile_region.clone().unwrap_or_else(|| mfa.region.clone()),
            profile_region,
            endpoint: rules::endpoint(env, section).or_else(|| mfa.endpoint.clone()),
            external_id: text("external_id", "_+=,.@:/-", 1224)?,
            session_name: text("role_session_name", "_+=,.@-", 64)?,
            source_identity: text("source_identity", "_+=,.@-", 64)?,
            tags,
            transitive_tag_keys,
            mfa,
        }))
    }
}

/// `aws_mfa_proc_session_tags = K=V,…` and `aws_mfa_proc_transitive_tag_keys = K,…`.
#[allow(clippy::type_complexity)]
fn tags(
    section: &Profile,
    profile: &str,
) -> Result<(Vec<(String, String)>, Vec<String>), ConfigError> {
    let bad = |key: &'static str, value: &str, rule: &str| ConfigError::BadRoleSetting {
        profile: profile.to_string(),
        key,
        value: truncate(value, 40),
        rule: rule.to_string(),
    };
    let list = |value: &str| -> Vec<String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut tags = Vec::new();
    if let Some(value) = section.get(TAGS_KEY) {
        for pair in list(value) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| bad(TAGS_KEY, value, "Key=Value pairs separated by commas"))?;
            let (k, v) = (k.trim(), v.trim());
            if !(1..=128).contains(&k.len()) || v.len() > 256 {
                return Err(bad(
                    TAGS_KEY,
                    value,
                    "keys of 1 to 128 characters, values up to 256",
                ));
            }
            tags.push((k.to_string(), v.to_string()));
        }
        if tags.len() > 50 {
            return Err(bad(TAGS_KEY, value, "at most 50 tags"));
        }
    }
    let transitive = section.get(TRANSITIVE_KEY).map(list).unwrap_or_default();
    if let Some(missing) = transitive
        .iter()
        .find(|k| !tags.iter().any(|(t, _)| t == *k))
    {
        return Err(bad(TRANSITIVE_KEY, missing, &format!("keys of {TAGS_KEY}")));
    }
    Ok((tags, transitive))
}
