//! What is wrong with a profile layout beyond what stops a call: the foot-guns that
//! make the SDKs ask twice, skip aws-mfa-proc, or keep a secret in plaintext. `status`
//! prints them as warnings; `doctor` as failed checks, each with its fix.
//!
//! Invariant: reading only, from the parsed files (and the config text, for headers
//! the SDKs ignore); every finding names the profile and the fix.

use super::{Config, FileKind, MAX_ROLE_DURATION, flag_value, runs_us};

/// One thing wrong with the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The profile it is about, if one.
    pub profile: Option<String>,
    /// What is wrong, and what to do about it.
    pub text: String,
    /// Advice (a supported layout with a better one), not a fault.
    pub advice: bool,
}

impl Config {
    /// Everything wrong with the layout, profile by profile.
    pub fn findings(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut advice = Vec::new();
        let mut found = |profile: Option<&str>, text: String| {
            findings.push(Finding {
                profile: profile.map(str::to_string),
                text,
                advice: false,
            })
        };
        let helpers = self.helper_profiles();
        let config = self.config_path().display().to_string();
        let credentials = self.paths.credentials.display().to_string();
        for name in self.unprefixed_sections() {
            found(
                Some(&name),
                format!(
                    "[{name}] in {config} is ignored by the SDKs (the config file wants a prefix): write [profile {name}]"
                ),
            );
        }
        for (kind, header, name) in &self.helpers.skipped {
            let path = match kind {
                FileKind::Config => &config,
                FileKind::Credentials => &credentials,
            };
            found(
                Some(name),
                format!(
                    "[{header}] in {path} runs aws-mfa-proc for botocore (the AWS CLI, boto3), but the Rust SDK skips it, so aws-mfa-proc cannot serve it and a bare call cannot tell it apart: rename the profile to letters, digits and _-/.%@:+"
                ),
            );
        }
        if self.helpers.everywhere {
            found(
                None,
                "a [DEFAULT] section sets credential_process = aws-mfa-proc, and botocore gives it to every profile: move it into the profile it is for".to_string(),
            );
        }
        let bare: Vec<&str> = (self.helpers.names.iter())
            .filter(|(_, bare)| *bare)
            .map(|(name, _)| name.as_str())
            .collect();
        if bare.len() > 1 {
            found(
                None,
                format!(
                    "{} run a bare `aws-mfa-proc` (no --profile): a bare call cannot tell which to serve. Add `--profile NAME` to each credential_process line",
                    bare.join(", ")
                ),
            );
        }
        for name in self.profile_names() {
            let Some(section) = self.profiles.get_profile(name) else {
                continue;
            };
            let get = |key: &str| section.get(key);
            let helper = get("credential_process").is_some_and(runs_us);
            if helper {
                for key in ["source_profile", "role_arn"] {
                    if get(key).is_some() {
                        found(
                            Some(name),
                            format!(
                                "`{key}` sits beside credential_process (the Go SDK refuses it, others ignore aws-mfa-proc): move role settings to a profile with `source_profile = {name}`"
                            ),
                        );
                    }
                }
                if let Some(key) = self.shadowing_key(name) {
                    let fix = if get("aws_session_token").is_some() {
                        "these are plaintext session keys (as scripts that write MFA sessions into ~/.aws/credentials do): `aws-mfa-proc import --delete-sessions` deletes them".to_string()
                    } else {
                        format!(
                            "remove it from [{name}] in {} or from the profile in {config}",
                            self.paths.credentials.display()
                        )
                    };
                    found(
                        Some(name),
                        format!(
                            "`{key}` for this profile makes the SDKs use it instead of aws-mfa-proc: {fix}"
                        ),
                    );
                }
                if let Some(other) = self.served_profile(name).filter(|o| o != name) {
                    found(
                        Some(name),
                        format!(
                            "its credential_process serves `--profile {other}`, not `{name}`: make them match"
                        ),
                    );
                }
            }
            if get("aws_session_token").is_some() && !helper {
                found(Some(name), "holds session keys in plaintext (aws_session_token), as scripts that write MFA sessions into ~/.aws/credentials do: delete it (`aws-mfa-proc import` offers to), aws-mfa-proc keeps sessions in the keychain".into());
            }
            let chains_from_helper =
                get("source_profile").is_some_and(|src| helpers.contains(&src));
            if get("role_arn").is_some() && chains_from_helper {
                if get("mfa_serial").is_some() {
                    found(Some(name), "`mfa_serial` on a role profile that chains from aws-mfa-proc makes the AWS CLI ask for a second code (and JS v3 and Go fail): remove it; the session it chains from already has MFA".into());
                }
                if let Some(seconds) =
                    get("duration_seconds").and_then(|d| d.trim().parse::<u64>().ok())
                    && seconds > MAX_ROLE_DURATION.as_secs()
                {
                    found(
                        Some(name),
                        format!(
                            "`duration_seconds = {seconds}`: a role assumed with an MFA session is role chaining, which AWS caps at 3600 s: set it to 3600 or less"
                        ),
                    );
                }
            }
            if helper
                && let Some(src) =
                    get("credential_process").and_then(|l| flag_value(l, "--source-profile"))
            {
                advice.push(Finding {
                    profile: Some(name.to_string()),
                    text: format!("its long-term keys are read in plaintext from the credentials file (--source-profile {src}): `aws-mfa-proc import --from-profile {src} {name}` moves them into the keychain"),
                    advice: true,
                });
            }
        }
        findings.extend(advice);
        findings
    }

    /// Sections of the config file written `[NAME]` (not `default`, not `profile …` or
    /// another prefixed kind), which the SDKs ignore there.
    pub fn unprefixed_sections(&self) -> Vec<String> {
        self.config_text
            .lines()
            .filter_map(|line| {
                let inner = line.trim().strip_prefix('[')?.split(']').next()?.trim();
                (!inner.is_empty() && !inner.contains(char::is_whitespace) && inner != "default")
                    .then(|| inner.to_string())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Paths;

    fn findings(config: &str, credentials: &str) -> Vec<String> {
        let paths = Paths {
            config: "config".into(),
            credentials: "credentials".into(),
        };
        Config::parse(paths, config.into(), credentials)
            .unwrap()
            .findings()
            .into_iter()
            .map(|f| f.text)
            .collect()
    }

    const HELPER: &str = "[profile mfa]\ncredential_process = aws-mfa-proc --profile mfa\nmfa_serial = arn:aws:iam::1:mfa/a\n";

    #[test]
    fn each_foot_gun_is_found_with_its_fix() {
        // (config added to HELPER, credentials, what the finding says)
        let cases = [
            (
                "[profile p]\nrole_arn = arn:aws:iam::2:role/R\nsource_profile = mfa\nmfa_serial = x\n",
                "",
                "second code",
            ),
            (
                "[profile p]\nrole_arn = arn:aws:iam::2:role/R\nsource_profile = mfa\nduration_seconds = 7200\n",
                "",
                "caps at 3600",
            ),
            ("[mfa2]\nmfa_serial = x\n", "", "write [profile mfa2]"),
            (
                "[profile a]\ncredential_process = aws-mfa-proc\n[profile b]\ncredential_process = aws-mfa-proc\n",
                "",
                "a bare call cannot tell",
            ),
            (
                "",
                "[mfa]\naws_access_key_id = AKIA\n",
                "makes the SDKs use it",
            ),
            (
                "",
                "[old]\naws_access_key_id = A\naws_secret_access_key = B\naws_session_token = C\n",
                "plaintext (aws_session_token)",
            ),
        ];
        for (config, credentials, expected) in cases {
            let found = findings(&format!("{HELPER}{config}"), credentials);
            assert!(
                found.iter().any(|f| f.contains(expected)),
                "{config}{credentials}: {found:?}"
            );
        }
        assert_eq!(findings(HELPER, ""), Vec::<String>::new(), "a clean layout");
    }
}
