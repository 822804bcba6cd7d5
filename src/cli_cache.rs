//! The AWS CLI's own cache of the roles it assumes (`~/.aws/cli/cache/*.json`): for a
//! role profile with `source_profile`, the CLI (botocore's `JSONFileCache`) keeps the
//! role's temporary keys there in plaintext until they expire. `logout` removes the
//! entries of the roles it revokes, so a logout leaves no usable role keys on disk.
//!
//! Invariants:
//! - only files directly in the cache directory, regular (not links), named `*.json`,
//!   whose `AssumedRoleUser.Arn` is one of the given roles, are removed; anything else,
//!   unreadable or not JSON, is left alone;
//! - best effort: a file that cannot be removed is not an error (it expires by itself).

use std::path::{Path, PathBuf};

use crate::system::Environment;

/// Where the AWS CLI (v1 and v2) keeps assumed-role credentials.
pub(crate) fn dir(env: &dyn Environment) -> Option<PathBuf> {
    Some(PathBuf::from(env.var("HOME")?).join(".aws/cli/cache"))
}

/// Removes the CLI's cached credentials of every role in `role_arns` (IAM role ARNs,
/// `arn:aws:iam::ACCOUNT:role/PATH/NAME`); how many files went.
pub(crate) fn forget_roles(dir: &Path, role_arns: &[&str]) -> usize {
    let wanted: Vec<(&str, &str, &str)> = role_arns.iter().filter_map(|a| role_key(a)).collect();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if !is_file || path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        let assumed = serde_json::from_slice::<serde_json::Value>(&text)
            .ok()
            .and_then(|doc| doc["AssumedRoleUser"]["Arn"].as_str().map(str::to_owned));
        let holds_a_wanted_role = assumed
            .as_deref()
            .and_then(assumed_role_key)
            .is_some_and(|key| wanted.contains(&key));
        if holds_a_wanted_role && std::fs::remove_file(&path).is_ok() {
            crate::debug!(
                "removed the AWS CLI's cached role credentials {}",
                path.display()
            );
            removed += 1;
        }
    }
    removed
}

/// (partition, account, role name) of `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
fn role_key(arn: &str) -> Option<(&str, &str, &str)> {
    let (partition, account, resource) = arn_parts(arn)?;
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    Some((partition, account, name))
}

/// (partition, account, role name) of `arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION`.
fn assumed_role_key(arn: &str) -> Option<(&str, &str, &str)> {
    let (partition, account, resource) = arn_parts(arn)?;
    let name = resource.strip_prefix("assumed-role/")?.split('/').next()?;
    Some((partition, account, name))
}

/// (partition, account, resource) of `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
fn arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let _arn = parts.next()?;
    let partition = parts.next()?;
    let (_service, _region) = (parts.next()?, parts.next()?);
    Some((partition, parts.next()?, parts.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(arn: &str) -> String {
        format!(
            r#"{{"Credentials":{{"AccessKeyId":"ASIAX","SecretAccessKey":"s","SessionToken":"t","Expiration":"2026-01-01T00:00:00Z"}},"AssumedRoleUser":{{"AssumedRoleId":"AROA:x","Arn":"{arn}"}}}}"#
        )
    }

    #[test]
    fn only_the_revoked_roles_cached_entries_go() {
        let dir = tempfile::tempdir().unwrap();
        // (file, content, removed)
        let cases = [
            (
                "a.json",
                entry("arn:aws:sts::222222222222:assumed-role/Admin/botocore-session-1"),
                true,
            ),
            (
                "b.json",
                entry("arn:aws:sts::222222222222:assumed-role/Other/botocore-session-1"),
                false,
            ),
            (
                "c.json",
                entry("arn:aws:sts::333333333333:assumed-role/Admin/s"),
                false,
            ),
            (
                "d.json",
                entry("arn:aws:sts::444444444444:assumed-role/Deep/s"),
                true,
            ),
            (
                "e.txt",
                entry("arn:aws:sts::222222222222:assumed-role/Admin/s"),
                false,
            ),
            ("f.json", "not json".into(), false),
        ];
        for (name, content, _) in &cases {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let removed = forget_roles(
            dir.path(),
            &[
                "arn:aws:iam::222222222222:role/Admin",
                "arn:aws:iam::444444444444:role/team/Deep",
            ],
        );
        assert_eq!(removed, 2);
        for (name, _, gone) in cases {
            assert_eq!(!dir.path().join(name).exists(), gone, "{name}");
        }
        assert_eq!(forget_roles(&dir.path().join("missing"), &["x"]), 0);
    }
}
