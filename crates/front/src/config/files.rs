//! Finding and opening `~/.aws/config` and `~/.aws/credentials`.
//!
//! Invariants:
//! - the paths are found as every SDK finds them: `AWS_CONFIG_FILE`,
//!   `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/…`, with a leading `~/` expanded;
//! - a missing file is an empty file;
//! - only regular files are read: a FIFO, a device or a directory is an error at once
//!   ([`crate::regular`]: opened non-blocking, so even a FIFO with no writer cannot
//!   stall us).

use std::fs::File;
use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::system::Environment;

/// The two files' paths.
#[derive(Clone, Debug)]
pub struct Paths {
    pub config: PathBuf,
    pub credentials: PathBuf,
}

impl Paths {
    pub fn locate(env: &dyn Environment) -> Paths {
        let home = env.var("HOME").or_else(|| env.var("USERPROFILE"));
        let locate = |var: &str, default: &str| -> PathBuf {
            let raw = env.var(var).unwrap_or_else(|| default.to_string());
            match (raw.strip_prefix("~/"), &home) {
                (Some(rest), Some(home)) => Path::new(home).join(rest),
                _ => PathBuf::from(raw),
            }
        };
        Paths {
            config: locate("AWS_CONFIG_FILE", "~/.aws/config"),
            credentials: locate("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
        }
    }
}

/// The variable that points at a file, for error messages.
pub fn variable_for(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Config => "AWS_CONFIG_FILE",
        FileKind::Credentials => "AWS_SHARED_CREDENTIALS_FILE",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Config,
    Credentials,
}

/// Opens `path` if it is a regular file, with its length; `Ok(None)` if it does not
/// exist.
pub fn open_regular(path: &Path) -> Result<Option<(File, u64)>, std::io::Error> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        crate::regular::NONBLOCK.bits() as i32,
    );
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    crate::regular::only_regular(file).map(Some)
}

/// The whole text of a config or credentials file; empty if it does not exist.
pub fn read_text(path: &Path, kind: FileKind) -> Result<String, ConfigError> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| ConfigError::Unreadable {
        path: path.to_path_buf(),
        env_var: variable_for(kind),
        detail: e.to_string(),
    };
    let Some((mut file, length)) = open_regular(path).map_err(unreadable)? else {
        return Ok(String::new());
    };
    let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(unreadable)?;
    String::from_utf8(bytes).map_err(|_| ConfigError::NotText {
        path: path.to_path_buf(),
        env_var: variable_for(kind),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_refused_at_once_and_a_missing_file_is_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        for special in [
            fifo.as_path(),
            Path::new("/dev/zero"),
            Path::new("/dev/urandom"),
            tmp.path(),
        ] {
            let started = std::time::Instant::now();
            let err = read_text(special, FileKind::Config)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("cannot read") && err.contains("AWS_CONFIG_FILE"),
                "{err}"
            );
            assert!(
                started.elapsed() < std::time::Duration::from_secs(1),
                "{special:?}"
            );
        }
        assert_eq!(
            read_text(&tmp.path().join("none"), FileKind::Config).unwrap(),
            ""
        );
    }
}
