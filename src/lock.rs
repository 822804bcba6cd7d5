//! One refresh at a time per session identity, across processes.
//!
//! Invariants:
//! - the lock is an OS file lock (`flock`/`LockFileEx`) on a file in a per-user directory
//!   that only the user can enter (0700, owned by them; refused otherwise);
//! - the kernel drops the lock when its holder dies, however it dies, so a killed holder
//!   never leaves a stale lock behind;
//! - the lock file holds nothing: no secret ever touches this directory;
//! - a waiter gives up at its deadline with an error, never hangs.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::config::Environment;

/// How long a caller waits for another one's prompt: under the Go SDK's 60 s kill.
pub const WAIT: Duration = Duration::from_secs(45);
const POLL: Duration = Duration::from_millis(25);

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot use the lock directory {path}: {detail}. Fix: {fix}")]
    Directory {
        path: PathBuf,
        detail: String,
        fix: String,
    },
    #[error("another aws-mfa-proc has been asking for the MFA code for {} s. Answer it (or stop it), then retry", .0.as_secs())]
    Timeout(Duration),
}

/// Held while this process refreshes a session; released on drop or on death.
pub struct Guard {
    _file: File,
    stamp: PathBuf,
}

impl Guard {
    /// Marks the identity as refreshed now (see [`stamp_path`]); best effort.
    pub fn touch_stamp(&self) {
        let _ = write_private(&self.stamp, b"");
    }
}

/// The per-user lock directory: `$XDG_RUNTIME_DIR/aws-mfa-proc`, else a private
/// directory in the system temp dir (`%LOCALAPPDATA%` on Windows).
pub fn directory(env: &dyn Environment) -> PathBuf {
    if let Some(runtime) = env.var("XDG_RUNTIME_DIR") {
        return Path::new(&runtime).join("aws-mfa-proc");
    }
    #[cfg(windows)]
    if let Some(local) = env.var("LOCALAPPDATA") {
        return Path::new(&local).join("aws-mfa-proc");
    }
    #[cfg(unix)]
    {
        std::env::temp_dir().join(format!("aws-mfa-proc-{}", euid()))
    }
    #[cfg(not(unix))]
    {
        std::env::temp_dir().join("aws-mfa-proc")
    }
}

/// `DIR/HASH.EXT`: a file about `identity` whose name reveals nothing of it.
fn path(dir: &Path, identity: &str, ext: &str) -> PathBuf {
    let digest = Sha256::digest(identity.as_bytes());
    let name: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{name}.{ext}"))
}

/// An empty file touched whenever `identity`'s credentials are refreshed, for direnv's
/// `watch_file`. It holds nothing.
pub fn stamp_path(dir: &Path, identity: &str) -> PathBuf {
    path(dir, identity, "refreshed")
}

/// Takes the lock for `identity`, waiting up to `wait` for another holder.
pub fn acquire(dir: &Path, identity: &str, wait: Duration) -> Result<Guard, LockError> {
    ensure_private_dir(dir)?;
    let path = path(dir, identity, "lock");
    let file = open_private(&path).map_err(|e| LockError::Directory {
        path: path.clone(),
        detail: e.to_string(),
        fix: "remove the file and retry".into(),
    })?;
    let deadline = Instant::now() + wait;
    let mut waited = false;
    loop {
        match file.try_lock() {
            Ok(()) => {
                return Ok(Guard {
                    _file: file,
                    stamp: stamp_path(dir, identity),
                });
            }
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                if !waited {
                    crate::debug!(
                        "another aws-mfa-proc is refreshing; waiting up to {} s",
                        wait.as_secs()
                    );
                    waited = true;
                }
                std::thread::sleep(POLL)
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(LockError::Timeout(wait)),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(LockError::Directory {
                    path,
                    detail: e.to_string(),
                    fix: "check that the file system supports locks".into(),
                });
            }
        }
    }
}

/// Writes a small file readable only by the user, in a directory made by [`acquire`].
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = open_private(path)?;
    file.set_len(0)?;
    file.write_all(bytes)
}

fn open_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Creates `dir` 0700, or checks that it is private and the user's.
pub fn ensure_private_dir(dir: &Path) -> Result<(), LockError> {
    let fail = |detail: String, fix: &str| LockError::Directory {
        path: dir.to_path_buf(),
        detail,
        fix: fix.to_string(),
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| fail(e.to_string(), "make its parent writable"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta =
            std::fs::symlink_metadata(dir).map_err(|e| fail(e.to_string(), "make it readable"))?;
        if !meta.is_dir() || meta.uid() != euid() || meta.mode() & 0o077 != 0 {
            return Err(fail(
                "it is not a private directory owned by you".into(),
                "remove it, or set XDG_RUNTIME_DIR to a private directory",
            ));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_and_then_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let lock_dir = dir.path().join("locks");
        let held = acquire(&lock_dir, "id", WAIT).unwrap();
        let err = acquire(&lock_dir, "id", Duration::from_millis(100))
            .err()
            .unwrap();
        assert!(matches!(err, LockError::Timeout(_)));
        drop(held);
        acquire(&lock_dir, "id", Duration::from_millis(100)).unwrap();
        // Other identities are independent.
        let _a = acquire(&lock_dir, "a", WAIT).unwrap();
        let _b = acquire(&lock_dir, "b", WAIT).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_directory_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let lock_dir = dir.path().join("locks");
        let _g = acquire(&lock_dir, "id", WAIT).unwrap();
        let mode = std::fs::metadata(&lock_dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::set_permissions(&lock_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(acquire(&lock_dir, "id2", WAIT).is_err());
    }
}
