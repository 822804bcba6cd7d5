//! Where each profile's long-term keys were stored: a note that outlives a reboot, so a
//! later call that cannot find them names the keychain that holds them, and why it
//! cannot be reached, instead of looking elsewhere and saying "no keys".
//!
//! The note is `$XDG_STATE_HOME/aws-mfa-proc/keychains` (default
//! `~/.local/state/aws-mfa-proc/keychains`): one line per profile, `PROFILE<TAB>KEYCHAIN`,
//! where KEYCHAIN is the backend's name as `status` shows it.
//!
//! Invariants:
//! - it holds no secret: profile names and keychain names only;
//! - best effort: a note that cannot be read or written never fails a command; it is
//!   rewritten whole through a temporary file and a rename;
//! - a profile name with a tab or a line end is never noted (it could forge a line).

use std::path::{Path, PathBuf};

use crate::system::Environment;

const FILE: &str = "keychains";

/// The note's file, for this environment.
pub(crate) fn path(env: &dyn Environment) -> Option<PathBuf> {
    let state = env
        .var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            env.var("HOME")
                .map(|home| Path::new(&home).join(".local/state"))
                .filter(|p| p.is_absolute())
        })?;
    Some(state.join("aws-mfa-proc").join(FILE))
}

/// The keychain `profile`'s keys were last stored in, if noted.
pub(crate) fn kept_in(note: &Path, profile: &str) -> Option<String> {
    let text = std::fs::read_to_string(note).ok()?;
    text.lines()
        .filter_map(|line| line.split_once('\t'))
        .find(|(name, _)| *name == profile)
        .map(|(_, keychain)| keychain.to_string())
}

/// Notes that `profile`'s keys are in `keychain` (`None`: that it has none).
pub(crate) fn note(note: &Path, profile: &str, keychain: Option<&str>) {
    let clean = |s: &str| !s.contains(['\t', '\n', '\r']);
    if !clean(profile) || !keychain.is_none_or(clean) {
        return;
    }
    let old = std::fs::read_to_string(note).unwrap_or_default();
    let mut text: String = old
        .lines()
        .filter(|line| {
            line.split_once('\t')
                .is_some_and(|(name, _)| name != profile)
        })
        .map(|line| format!("{line}\n"))
        .collect();
    if let Some(keychain) = keychain {
        text.push_str(&format!("{profile}\t{keychain}\n"));
    }
    if text == old {
        return;
    }
    let Some(dir) = note.parent() else { return };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    let temporary = dir.join(format!(".{FILE}.{}", std::process::id()));
    let written = builder.create(dir).is_ok()
        && std::fs::write(&temporary, text).is_ok()
        && std::fs::rename(&temporary, note).is_ok();
    if !written {
        let _ = std::fs::remove_file(&temporary);
        crate::debug!("could not note where the keys are in {}", note.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_keeps_one_line_per_profile_and_nothing_it_cannot_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state/aws-mfa-proc/keychains");
        assert_eq!(kept_in(&file, "mfa"), None);
        note(&file, "mfa", Some("Secret Service"));
        note(&file, "work", Some("kernel keyring"));
        note(&file, "mfa", Some("kernel keyring"));
        note(&file, "evil\tname", Some("x"));
        note(&file, "other", Some("forged\nline"));
        assert_eq!(kept_in(&file, "mfa").as_deref(), Some("kernel keyring"));
        assert_eq!(kept_in(&file, "work").as_deref(), Some("kernel keyring"));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "work\tkernel keyring\nmfa\tkernel keyring\n"
        );
        note(&file, "work", None);
        assert_eq!(kept_in(&file, "work"), None);
    }
}
