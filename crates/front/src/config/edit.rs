//! Changing the user's own files (`setup`, `import`): small, exact edits.
//!
//! Invariants:
//! - a file is changed only after a 0600 backup of it was written next to it, and the
//!   backup's path is returned so the command can say where it is;
//! - the new text is written to a temporary file in the same directory, with the
//!   original's permissions (0600 for a new file), and renamed over the original:
//!   a crash leaves the old file or the new one, never half of one;
//! - a symlinked file (dotfiles) is edited where it really is: the temporary file is
//!   made beside the link's final target and renamed over that target, so the link
//!   stays and nothing is left behind in the target. The backup goes beside the link
//!   (`~/.aws`), never into the target's directory (often a repository), and
//!   [`Written::real`] names the target so the command can say which file changed;
//! - edits touch exactly the lines they name; every other byte stays as it was.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The name a section has in the SDK's eyes: `[profile NAME]` → `NAME` (with the
/// prefix `profile`), `[NAME]` → `NAME`; `None` for a line that is not a header.
fn header(line: &str) -> Option<(Option<&str>, &str)> {
    let line = line.trim_matches([' ', '\t', '\r', '\n']);
    let line = line
        .find(['#', ';'])
        .map_or(line, |at| &line[..at])
        .trim_matches([' ', '\t']);
    let inner = line
        .strip_prefix('[')?
        .strip_suffix(']')?
        .trim_matches([' ', '\t']);
    Some(match inner.split_once([' ', '\t']) {
        Some((prefix, name)) => (Some(prefix), name.trim()),
        None => (None, inner.trim()),
    })
}

/// Which section a line belongs to, as the credentials file (`[NAME]`) or the config
/// file (`[profile NAME]`, `[default]`) names it.
#[derive(Clone, Copy)]
pub enum In<'a> {
    Credentials(&'a str),
    Config(&'a str),
}

impl In<'_> {
    fn is(&self, line: &str) -> Option<bool> {
        let (prefix, name) = header(line)?;
        Some(match *self {
            In::Credentials(wanted) => prefix.is_none() && name == wanted,
            In::Config(wanted) => {
                name == wanted
                    && (prefix == Some("profile") || (prefix.is_none() && name == "default"))
            }
        })
    }
}

/// The key of a property line (`key = value`), lower-cased, if it is one.
fn key(line: &str) -> Option<String> {
    if line.starts_with([' ', '\t', '#', ';', '[']) {
        return None;
    }
    Some(line.split_once('=')?.0.trim().to_ascii_lowercase())
}

/// `text` with the lines of `section` whose key is one of `keys` removed; also how
/// many were removed. Line ends (`\n`, `\r\n`) of the rest are kept as they were.
pub fn remove_keys(text: &str, section: In<'_>, keys: &[&str]) -> (String, usize) {
    let mut inside = false;
    let mut removed = 0;
    let kept: String = text
        .split_inclusive('\n')
        .filter(|line| {
            if let Some(is) = section.is(line) {
                inside = is;
                return true;
            }
            let drop = inside && key(line).is_some_and(|k| keys.contains(&k.as_str()));
            removed += usize::from(drop);
            !drop
        })
        .collect();
    (kept, removed)
}

/// `text` without the whole of `section` (its header and every line up to the next).
pub fn remove_section(text: &str, section: In<'_>) -> String {
    let mut inside = false;
    text.split_inclusive('\n')
        .filter(|line| {
            if let Some(is) = section.is(line) {
                inside = is;
            }
            !inside
        })
        .collect()
}

/// `text` with the value of `key` in `section` replaced by `value`.
pub fn replace_value(text: &str, section: In<'_>, key_name: &str, value: &str) -> String {
    let mut inside = false;
    text.split_inclusive('\n')
        .map(|line| {
            if let Some(is) = section.is(line) {
                inside = is;
                return line.to_string();
            }
            if inside && key(line).as_deref() == Some(key_name) {
                // The line's own end, whatever it is (a lone `\r` at the end of the file too).
                let end = &line[line.trim_end_matches(['\r', '\n']).len()..];
                return format!("{key_name} = {value}{end}");
            }
            line.to_string()
        })
        .collect()
}

/// `text` with the line of `key_name` in `section` replaced by `lines`, each ended as
/// that line was; also whether the line was there.
pub fn replace_line(
    text: &str,
    section: In<'_>,
    key_name: &str,
    lines: &[String],
) -> (String, bool) {
    let mut inside = false;
    let mut found = false;
    let out = text
        .split_inclusive('\n')
        .map(|line| {
            if let Some(is) = section.is(line) {
                inside = is;
                return line.to_string();
            }
            if inside && !found && key(line).as_deref() == Some(key_name) {
                found = true;
                let end = &line[line.trim_end_matches(['\r', '\n']).len()..];
                let end = if end.is_empty() { "\n" } else { end };
                let mut new: String = lines.iter().map(|l| format!("{l}{end}")).collect();
                if line.len() == line.trim_end_matches(['\r', '\n']).len() {
                    new.truncate(new.len() - 1);
                }
                return new;
            }
            line.to_string()
        })
        .collect();
    (out, found)
}

/// `text` with `section` (whole lines) added at the end, after a blank line.
pub fn append(text: &str, section: &str) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(section);
    out
}

/// What [`write`] did: where the old contents were kept, and the file it really
/// changed when `path` is a symlink.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub backup: Option<PathBuf>,
    pub real: Option<PathBuf>,
}

impl Written {
    /// `path` as the person should read it: with its real target when it is a link.
    pub fn place(&self, path: &Path) -> String {
        match &self.real {
            Some(real) => format!(
                "{} (a link: its target {} was changed, the link kept)",
                path.display(),
                real.display()
            ),
            None => path.display().to_string(),
        }
    }
}

/// The file a symlink at `path` finally points to; `None` if `path` is no symlink.
fn link_target(path: &Path) -> std::io::Result<Option<PathBuf>> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).map(Some).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "it is a symlink to {}, which cannot be reached ({e})",
                        std::fs::read_link(path).unwrap_or_default().display()
                    ),
                )
            })
        }
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `text` over the file at `path` (over its final target, if it is a symlink),
/// keeping a 0600 backup of the old contents (if there were any) named after `stamp`
/// beside `path`.
pub fn write(path: &Path, text: &str, stamp: &str) -> std::io::Result<Written> {
    let real = link_target(path)?;
    let file = real.as_deref().unwrap_or(path);
    let old = match std::fs::read(file) {
        Ok(old) => Some(old),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let backup = match &old {
        Some(old) => {
            let backup = dir.join(format!("{name}.aws-mfa-proc-backup-{stamp}"));
            private_file(&backup, old)?;
            Some(backup)
        }
        None => None,
    };
    let real_name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let real_dir = file.parent().unwrap_or(Path::new("."));
    let temporary = real_dir.join(format!(".{real_name}.aws-mfa-proc-{}", std::process::id()));
    private_file(&temporary, text.as_bytes())?;
    #[cfg(unix)]
    if old.is_some() {
        let mode = std::fs::metadata(file)?.permissions();
        std::fs::set_permissions(&temporary, mode)?;
    }
    if let Err(e) = std::fs::rename(&temporary, file) {
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    Ok(Written { backup, real })
}

/// A new file readable by its owner only, holding `bytes`, flushed to disk.
fn private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDENTIALS: &str = "# keys\r\n[default]\r\naws_access_key_id = AKIAOLD\r\nAWS_Secret_Access_Key=s3cr3t\r\nregion = eu-west-1 ; keep\r\n\r\n[mfa]\naws_access_key_id = ASIA\naws_secret_access_key = x\naws_session_token = t\n[other]\naws_access_key_id = AKIAOTHER\n";

    #[test]
    fn removing_keys_leaves_every_other_byte() {
        let (text, removed) = remove_keys(
            CREDENTIALS,
            In::Credentials("default"),
            &["aws_access_key_id", "aws_secret_access_key"],
        );
        assert_eq!(removed, 2);
        assert_eq!(
            text,
            CREDENTIALS
                .replace("aws_access_key_id = AKIAOLD\r\n", "")
                .replace("AWS_Secret_Access_Key=s3cr3t\r\n", "")
        );
    }

    #[test]
    fn a_section_goes_whole_and_a_value_is_replaced_in_place() {
        let without = remove_section(CREDENTIALS, In::Credentials("mfa"));
        assert!(!without.contains("[mfa]") && !without.contains("aws_session_token"));
        assert!(without.contains("[other]") && without.contains("[default]"));
        let config = "[profile mfa]\ncredential_process = aws-mfa-proc --source-profile default\n[profile b]\ncredential_process = x\n";
        assert_eq!(
            replace_value(
                config,
                In::Config("mfa"),
                "credential_process",
                "aws-mfa-proc"
            ),
            "[profile mfa]\ncredential_process = aws-mfa-proc\n[profile b]\ncredential_process = x\n"
        );
        assert_eq!(append("a", "[b]\n"), "a\n\n[b]\n");
        assert_eq!(append("", "[b]\n"), "[b]\n");
    }

    #[test]
    fn a_line_is_replaced_by_lines_ended_as_it_was_and_nothing_else_moves() {
        let config = "[profile a]\r\nlogin_session = x\r\nregion = eu-west-1\r\n[profile b]\nlogin_session = y";
        let lines = ["k = 1".to_string(), "j = 2".to_string()];
        let (text, found) = replace_line(config, In::Config("a"), "login_session", &lines);
        assert!(found);
        assert_eq!(
            text,
            "[profile a]\r\nk = 1\r\nj = 2\r\nregion = eu-west-1\r\n[profile b]\nlogin_session = y"
        );
        let (text, found) = replace_line(config, In::Config("b"), "login_session", &lines);
        assert!(found);
        assert!(text.ends_with("[profile b]\nk = 1\nj = 2"), "{text:?}");
        let (text, found) = replace_line(config, In::Config("c"), "login_session", &lines);
        assert!(!found);
        assert_eq!(text, config);
    }

    #[test]
    fn a_write_keeps_a_private_backup_and_the_file_s_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let backup = write(&path, "new", "20261201T120000")
            .unwrap()
            .backup
            .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), "old");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&path), mode(&backup)), (0o640, 0o600));
        assert_eq!(
            write(&dir.path().join("new"), "x", "s").unwrap(),
            Written::default()
        );
        assert_eq!(mode(&dir.path().join("new")), 0o600);
    }

    /// Issue 17, item 6: the rename replaced a symlinked file, leaving the secret in the
    /// file the link pointed to.
    #[test]
    fn a_symlinked_file_is_edited_at_its_target_and_the_link_stays() {
        let dir = tempfile::tempdir().unwrap();
        let dotfiles = dir.path().join("dotfiles");
        let aws = dir.path().join(".aws");
        std::fs::create_dir_all(&dotfiles).unwrap();
        std::fs::create_dir_all(&aws).unwrap();
        let target = dotfiles.join("credentials");
        std::fs::write(&target, "secret").unwrap();
        let link = aws.join("credentials");
        std::os::unix::fs::symlink("../dotfiles/credentials", &link).unwrap();

        let written = write(&link, "clean", "20261201T120000").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "clean");
        assert_eq!(
            written.real.as_deref(),
            Some(target.canonicalize().unwrap().as_path())
        );
        let backup = written.backup.clone().unwrap();
        assert_eq!(
            backup.parent(),
            Some(aws.as_path()),
            "the backup stays beside the link"
        );
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), "secret");
        let left: Vec<_> = std::fs::read_dir(&dotfiles)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            ["credentials"],
            "nothing else in the target's directory"
        );
        assert!(
            written
                .place(&link)
                .contains(target.canonicalize().unwrap().to_str().unwrap())
        );
    }
}
