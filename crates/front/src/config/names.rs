//! Profile names for shell completion: the section headers of one file, nothing else.
//!
//! Invariants:
//! - only header lines are read, so no value (a key, a token, a command line) can be
//!   returned;
//! - it never fails and never waits: a missing, unreadable, special (FIFO) or non-UTF-8
//!   file has no names;
//! - names are those the SDK reads: `[profile NAME]` and `[default]` in the config file,
//!   `[NAME]` in the credentials file; sorted, each once.

use super::files::{self, FileKind, Paths};
use super::rules::check_profile_name;
use crate::system::Environment;

/// The profile names in the config or credentials file the environment points at.
pub fn profile_names(env: &dyn Environment, kind: FileKind) -> Vec<String> {
    let paths = Paths::locate(env);
    let path = match kind {
        FileKind::Config => &paths.config,
        FileKind::Credentials => &paths.credentials,
    };
    files::read_text(path, kind)
        .map(|text| names_in(&text, kind))
        .unwrap_or_default()
}

/// The profile names in a file's text.
pub fn names_in(text: &str, kind: FileKind) -> Vec<String> {
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|line| header_name(line, kind))
        .filter(|name| check_profile_name(name).is_ok())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn header_name(line: &str, kind: FileKind) -> Option<&str> {
    let (inner, _) = line.strip_prefix('[')?.split_once(']')?;
    let inner = inner.trim_matches([' ', '\t']);
    let name = match (kind, inner.split_once([' ', '\t'])) {
        (FileKind::Config, Some(("profile", name))) => name.trim_matches([' ', '\t']),
        (FileKind::Config, None) if inner == "default" => inner,
        (FileKind::Credentials, None) => inner,
        _ => return None,
    };
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_names_of_profile_sections_are_read() {
        let config = "[default]\nregion = eu-west-1\n[profile mfa]\ncredential_process = aws-mfa-proc --profile mfa\n\
                      [ profile  production ] # prod\nrole_arn = arn:aws:iam::1:role/x\n\
                      [sso-session corp]\nsso_region = eu-west-1\n[services local]\n[stray]\n\
                      [profile mfa]\n  [profile indented]\nmfa_serial = [profile inside-a-value]\n";
        assert_eq!(
            names_in(config, FileKind::Config),
            ["default", "mfa", "production"]
        );
        let credentials = "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = [secret]\n[old-session]\n[profile odd]\n";
        assert_eq!(
            names_in(credentials, FileKind::Credentials),
            ["default", "old-session"]
        );
    }
}
