//! Which profiles run aws-mfa-proc, counted as every client counts them. A bare
//! `credential_process = aws-mfa-proc` (no `--profile`) cannot know which profile its
//! caller asked for, so it serves only when exactly one profile can have asked.
//!
//! The clients disagree on which sections are profiles. The Rust SDK (whose parser the
//! full loader uses) skips `[profile dev!]` and `[profile "dev sandbox"]`; botocore (the
//! AWS CLI, boto3) reads every `[profile ANYTHING]` of the config file (the rest split
//! as `shlex` splits it), `[default]`, and every section of the credentials file as it
//! is written, and gives the keys of a `[DEFAULT]` section to every profile. So a
//! section counts when either client reads it, under botocore's name for it.
//!
//! Invariants:
//! - the cached path and the full loader count with this code, from the same scan
//!   ([`super::lines::Scan`]), so they agree by construction;
//! - a profile in both files counts once, and the credentials file's value wins there,
//!   as in both clients; a profile counts when any of its sections in a file runs
//!   aws-mfa-proc;
//! - linear in the sections: no search inside a loop.

use std::collections::HashMap;

use super::files::FileKind;
use super::lines::sdk_profile;
use super::{flag_value, runs_us, words};

/// The profiles of both files that run aws-mfa-proc.
#[derive(Debug, Default)]
pub struct Helpers {
    /// Their names, sorted, each with whether it runs a bare `aws-mfa-proc` (no
    /// `--profile`).
    pub names: Vec<(String, bool)>,
    /// Sections that run aws-mfa-proc for botocore, which the Rust SDK skips: the file,
    /// what the header holds, and the profile botocore reads there.
    pub skipped: Vec<(FileKind, String, String)>,
    /// A `[DEFAULT]` section runs aws-mfa-proc, and botocore then runs it for every
    /// profile.
    pub everywhere: bool,
}

impl Helpers {
    /// Counts the sections that set `credential_process` (what a header holds, and the
    /// value) of the config and the credentials file.
    pub(super) fn of(config: Vec<(String, String)>, credentials: Vec<(String, String)>) -> Helpers {
        let mut helpers = Helpers::default();
        // Profile → runs aws-mfa-proc bare; each file's own, then the credentials file's
        // over the config file's. Only the config file's helpers are kept (configs hold
        // thousands of other programs' lines); the credentials file's are all kept, as
        // one that runs another program overrides the config file's.
        let mut config = helpers.profiles(FileKind::Config, config, false);
        for (name, runs) in helpers.profiles(FileKind::Credentials, credentials, true) {
            match runs {
                Some(bare) => config.insert(name, Some(bare)),
                None => config.remove(&name),
            };
        }
        helpers.names = (config.into_iter())
            .filter_map(|(name, runs)| Some((name, runs?)))
            .collect();
        helpers.names.sort_unstable();
        helpers
    }

    /// The profiles of one file's sections, each with `Some(bare)` if one of its
    /// sections runs aws-mfa-proc (bare: without `--profile`), else `None` (only if
    /// `all`); notes the sections the Rust SDK skips and `[DEFAULT]`.
    fn profiles(
        &mut self,
        kind: FileKind,
        sections: Vec<(String, String)>,
        all: bool,
    ) -> HashMap<String, Option<bool>> {
        let mut profiles: HashMap<String, Option<bool>> = HashMap::new();
        for (header, value) in sections {
            let us = runs_us(&value);
            if !us && !all {
                continue;
            }
            if header == "DEFAULT" {
                self.everywhere |= us;
                continue;
            }
            let sdk = sdk_profile(kind, &header);
            let Some(name) = botocore_profile(kind, &header).or(sdk.map(str::to_string)) else {
                continue;
            };
            if us && sdk.is_none() {
                self.skipped.push((kind, header.clone(), name.clone()));
            }
            let bare = us.then(|| flag_value(&value, "--profile").is_none());
            let runs = profiles.entry(name).or_default();
            *runs = match (*runs, bare) {
                (Some(a), Some(b)) => Some(a | b),
                (a, b) => a.or(b),
            };
        }
        profiles
    }

    /// The profile a bare call serves: the only one that runs aws-mfa-proc.
    pub fn only(&self) -> Option<&str> {
        match (self.everywhere, self.names.as_slice()) {
            (false, [(one, _)]) => Some(one),
            _ => None,
        }
    }
}

/// The profile botocore reads in a section whose header holds `inner`; `None` if it
/// reads none.
fn botocore_profile(kind: FileKind, inner: &str) -> Option<String> {
    match kind {
        FileKind::Credentials => Some(inner.to_string()),
        FileKind::Config if inner.starts_with("profile") => {
            // The usual header needs no quote handling.
            if let Some(name) = inner.strip_prefix("profile ")
                && !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-/.%@:+".contains(&b))
            {
                return Some(name.to_string());
            }
            match words(inner)?.as_mut_slice() {
                [_, name] => Some(std::mem::take(name)),
                _ => None,
            }
        }
        FileKind::Config => (inner == "default").then(|| inner.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(config: &[(&str, &str)], credentials: &[(&str, &str)]) -> Helpers {
        let owned = |s: &[(&str, &str)]| {
            s.iter()
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        };
        Helpers::of(owned(config), owned(credentials))
    }

    #[test]
    fn every_section_a_client_reads_as_a_profile_counts_under_botocores_name() {
        const US: &str = "aws-mfa-proc";
        // (config sections, credentials sections, profiles that run us)
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            &'a [(&'a str, &'a str)],
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            (&[("profile prod", US)], &[], &["prod"]),
            (&[("profile dev!", US)], &[], &["dev!"]),
            (&[("profile \"dev sandbox\"", US)], &[], &["dev sandbox"]),
            (&[("profile  x", US)], &[], &["x"]),
            (
                &[("default", US), ("profile default", US)],
                &[],
                &["default"],
            ),
            (&[("x", US)], &[], &[]),
            (&[("sso-session x", US)], &[], &[]),
            (&[("profile a b c", US)], &[], &[]),
            (
                &[],
                &[("dev sandbox", US), ("x", US)],
                &["dev sandbox", "x"],
            ),
            (&[("profile x", US)], &[("x", US)], &["x"]),
            // The credentials file's value wins.
            (
                &[("profile x", US)],
                &[("x", "granted credential-process")],
                &[],
            ),
            (&[("profile x", US), ("profile y", "other")], &[], &["x"]),
        ];
        for (config, credentials, expected) in cases {
            let found = names(config, credentials);
            let found: Vec<&str> = found.names.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(&found, expected, "{config:?} {credentials:?}");
        }
    }

    #[test]
    fn a_bare_call_serves_only_the_one_profile_and_never_past_a_default_section() {
        let one = names(&[("profile prod", "aws-mfa-proc")], &[]);
        assert_eq!(one.only(), Some("prod"));
        let skipped = names(
            &[
                ("profile prod", "aws-mfa-proc"),
                ("profile dev!", "aws-mfa-proc"),
            ],
            &[],
        );
        assert_eq!(skipped.only(), None);
        assert_eq!(
            skipped.skipped,
            vec![(FileKind::Config, "profile dev!".into(), "dev!".into())]
        );
        let everywhere = names(
            &[("profile prod", "aws-mfa-proc")],
            &[("DEFAULT", "aws-mfa-proc")],
        );
        assert_eq!(everywhere.only(), None);
    }
}
