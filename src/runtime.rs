//! The private per-user runtime directory, and the small files in it: lock files,
//! refresh stamps, spent-code records, cancel marks and `exec`'s credentials files.
//!
//! Invariants:
//! - the directory is `$XDG_RUNTIME_DIR/aws-mfa-proc` only when `XDG_RUNTIME_DIR` is
//!   absolute and a private directory of this user; otherwise it is
//!   `$XDG_STATE_HOME/aws-mfa-proc` (default `~/.local/state/aws-mfa-proc`). Never a
//!   predictable path in a shared directory such as /tmp;
//! - it is checked once, when opened (a directory, not a symlink, owned by this user,
//!   no access for group or others), and every file operation afterwards is relative to
//!   that checked handle, so a symlink planted later cannot redirect them;
//! - files are created 0600 and never followed through symlinks; only regular files
//!   are used ([`crate::regular`]): a FIFO, socket or device planted here is refused at
//!   once, never waited on;
//! - file names say nothing about what they are for: a digest of the identity
//!   ([`file_name`]) and an extension.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::system::Environment;

#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot use the private directory {path}: {detail}. Fix: {fix}")]
pub(crate) struct RuntimeError {
    pub path: PathBuf,
    pub detail: String,
    pub fix: String,
}

pub(crate) use aws_mfa_proc_front::digest::{hex, hex_digest};

/// `HASH.EXT`: a file about `identity` whose name reveals nothing of it.
pub(crate) fn file_name(identity: &str, ext: &str) -> String {
    format!("{}.{ext}", &hex_digest(identity.as_bytes())[..24])
}

/// The opened, checked runtime directory.
pub(crate) struct RuntimeDir {
    path: PathBuf,
    #[cfg(unix)]
    fd: rustix::fd::OwnedFd,
}

/// Makes directories only this user can enter: mode 0700 on Unix; on Windows, the
/// default access of the user's own folders.
#[cfg(unix)]
fn private_dir_builder() -> std::fs::DirBuilder {
    use std::os::unix::fs::DirBuilderExt;
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(0o700);
    builder
}

#[cfg(not(unix))]
fn private_dir_builder() -> std::fs::DirBuilder {
    std::fs::DirBuilder::new()
}

impl RuntimeDir {
    /// Where the directory is for this environment (nothing is created or checked).
    pub(crate) fn locate(env: &dyn Environment) -> Result<PathBuf, RuntimeError> {
        if let Some(runtime) = env.var("XDG_RUNTIME_DIR").map(PathBuf::from) {
            match private_dir(&runtime) {
                Ok(()) => return Ok(runtime.join("aws-mfa-proc")),
                Err(why) => {
                    crate::debug!("not using XDG_RUNTIME_DIR ({}): {why}", runtime.display())
                }
            }
        }
        #[cfg(windows)]
        if let Some(local) = env.var("LOCALAPPDATA") {
            return Ok(Path::new(&local).join("aws-mfa-proc"));
        }
        let state = env
            .var("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                env.var("HOME")
                    .map(|home| Path::new(&home).join(".local/state"))
                    .filter(|p| p.is_absolute())
            });
        state
            .map(|dir| dir.join("aws-mfa-proc"))
            .ok_or_else(|| RuntimeError {
                path: PathBuf::from("$HOME/.local/state/aws-mfa-proc"),
                detail: "neither XDG_RUNTIME_DIR nor HOME is an absolute path".into(),
                fix: "set HOME (or XDG_RUNTIME_DIR to a private directory)".into(),
            })
    }

    /// Opens the directory, creating it (0700) if need be, and checks it is private.
    pub(crate) fn open(env: &dyn Environment) -> Result<RuntimeDir, RuntimeError> {
        let path = RuntimeDir::locate(env)?;
        let fail = |detail: String, fix: &str| RuntimeError {
            path: path.clone(),
            detail,
            fix: fix.to_string(),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| fail(e.to_string(), "make its parent directory writable"))?;
        }
        let builder = private_dir_builder();
        match builder.create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail(e.to_string(), "make its parent directory writable")),
        }
        RuntimeDir::checked(path)
    }

    /// Opens `path` as a directory (never through a symlink) and checks it is private
    /// and this user's.
    fn checked(path: PathBuf) -> Result<RuntimeDir, RuntimeError> {
        #[cfg(unix)]
        {
            let fail = |detail: String, fix: &str| RuntimeError {
                path: path.clone(),
                detail,
                fix: fix.to_string(),
            };
            use rustix::fs::{Mode, OFlags};
            let fd = rustix::fs::open(
                &path,
                OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::RDONLY,
                Mode::empty(),
            )
            .map_err(|e| {
                fail(
                    format!("{e} (not a directory, or a symlink)"),
                    "remove it; aws-mfa-proc makes a new one",
                )
            })?;
            let stat = rustix::fs::fstat(&fd).map_err(|e| fail(e.to_string(), "retry"))?;
            if stat.st_uid != rustix::process::geteuid().as_raw() || stat.st_mode & 0o077 != 0 {
                return Err(fail(
                    "it is not a private directory owned by you".into(),
                    "remove it (or `chmod 700` it if it is yours)",
                ));
            }
            Ok(RuntimeDir { path, fd })
        }
        #[cfg(not(unix))]
        Ok(RuntimeDir { path })
    }

    /// Whether the directory lives in memory (tmpfs or ramfs): a file in it never
    /// reaches a disk.
    pub(crate) fn in_memory(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            const TMPFS: u64 = 0x0102_1994;
            const RAMFS: u64 = 0x8584_58f6;
            rustix::fs::fstatfs(&self.fd).is_ok_and(|fs| matches!(fs.f_type as u64, TMPFS | RAMFS))
        }
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// A new private directory `PREFIX-N` in the shared directory `parent` (such as
    /// /dev/shm). Made with mkdir, which fails if the name exists, so nobody can slip
    /// another directory in; removed with [`RuntimeDir::remove_dir`].
    pub(crate) fn create_private(parent: &Path, prefix: &str) -> Result<RuntimeDir, RuntimeError> {
        use std::hash::{BuildHasher, RandomState};
        let builder = private_dir_builder();
        let mut last = String::new();
        for attempt in 0..8u32 {
            let nonce = RandomState::new().hash_one((std::process::id(), attempt));
            let path = parent.join(format!("{prefix}-{nonce:016x}"));
            match builder.create(&path) {
                Ok(()) => return RuntimeDir::checked(path),
                Err(e) => last = e.to_string(),
            }
        }
        Err(RuntimeError {
            path: parent.to_path_buf(),
            detail: last,
            fix: "check that the directory is writable".into(),
        })
    }

    /// Removes the files inside, then the directory itself.
    pub(crate) fn remove_dir(self) {
        for name in self.names() {
            let _ = self.remove(&name);
        }
        let _ = std::fs::remove_dir(&self.path);
    }

    /// Opens an existing private directory of this user (e.g. one [`create_private`]
    /// made in a run that was killed).
    pub(crate) fn open_existing(path: &Path) -> Option<RuntimeDir> {
        RuntimeDir::checked(path.to_path_buf()).ok()
    }

    /// The path of `name` inside, for programs that are handed a path.
    pub(crate) fn file_path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Opens `name` for reading and writing, creating it 0600; never through a symlink.
    pub(crate) fn open_file(&self, name: &str) -> std::io::Result<File> {
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let fd = rustix::fs::openat(
                &self.fd,
                name,
                OFlags::CREATE
                    | OFlags::RDWR
                    | OFlags::NOFOLLOW
                    | OFlags::CLOEXEC
                    | crate::regular::NONBLOCK,
                Mode::from_raw_mode(0o600),
            )?;
            crate::regular::only_regular(File::from(fd)).map(|(file, _)| file)
        }
        #[cfg(not(unix))]
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.file_path(name))
    }

    /// Replaces the contents of `name` with `bytes`.
    pub(crate) fn write_file(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let mut file = self.open_file(name)?;
        file.set_len(0)?;
        file.write_all(bytes)
    }

    /// The contents of `name`, if it exists.
    pub(crate) fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        #[cfg(unix)]
        let file = {
            use rustix::fs::{Mode, OFlags};
            rustix::fs::openat(
                &self.fd,
                name,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | crate::regular::NONBLOCK,
                Mode::empty(),
            )
            .ok()
            .and_then(|fd| crate::regular::only_regular(File::from(fd)).ok())
            .map(|(file, _)| file)
        };
        #[cfg(not(unix))]
        let file = File::open(self.file_path(name)).ok();
        let mut bytes = Vec::new();
        file?.take(64 * 1024).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    /// Removes `name`; a missing file is not an error.
    pub(crate) fn remove(&self, name: &str) -> std::io::Result<()> {
        #[cfg(unix)]
        let result = rustix::fs::unlinkat(&self.fd, name, rustix::fs::AtFlags::empty())
            .map_err(std::io::Error::from);
        #[cfg(not(unix))]
        let result = std::fs::remove_file(self.file_path(name));
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// The names of the files inside.
    pub(crate) fn names(&self) -> Vec<String> {
        #[cfg(unix)]
        {
            let Ok(dir) = rustix::fs::Dir::read_from(&self.fd) else {
                return Vec::new();
            };
            dir.filter_map(Result::ok)
                .filter_map(|entry| entry.file_name().to_str().ok().map(str::to_string))
                .filter(|name| name != "." && name != "..")
                .collect()
        }
        #[cfg(not(unix))]
        std::fs::read_dir(&self.path)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The runtime directory, opened when first needed: a cache hit never needs it.
pub(crate) struct LazyRuntime<'a> {
    env: &'a dyn Environment,
    dir: std::cell::OnceCell<Result<RuntimeDir, RuntimeError>>,
}

impl<'a> LazyRuntime<'a> {
    pub(crate) fn new(env: &'a dyn Environment) -> LazyRuntime<'a> {
        LazyRuntime {
            env,
            dir: std::cell::OnceCell::new(),
        }
    }

    pub(crate) fn dir(&self) -> Result<&RuntimeDir, RuntimeError> {
        self.dir
            .get_or_init(|| RuntimeDir::open(self.env))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// `Ok` if `dir` is an absolute path to a directory of this user that no one else can
/// enter; otherwise why not.
fn private_dir(dir: &Path) -> Result<(), String> {
    if !dir.is_absolute() {
        return Err("not an absolute path".into());
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("not a directory".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return Err("owned by another user".into());
        }
        if meta.mode() & 0o077 != 0 {
            return Err(format!("mode {:o} lets others in", meta.mode() & 0o777));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::FakeEnv;
    use std::os::unix::fs::PermissionsExt;

    fn private(dir: &Path) -> PathBuf {
        let run = dir.join("run");
        std::fs::create_dir(&run).unwrap();
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        run
    }

    #[test]
    fn xdg_runtime_dir_is_used_only_when_absolute_and_private() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let run = private(tmp.path());
        let shared = tmp.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        let state = home.join(".local/state/aws-mfa-proc");
        let cases = [
            (Some(run.to_str().unwrap()), run.join("aws-mfa-proc")),
            (Some("relative/run"), state.clone()),
            (Some(shared.to_str().unwrap()), state.clone()),
            (Some("/nonexistent/run"), state.clone()),
            (None, state),
        ];
        for (runtime, expected) in cases {
            let mut env = FakeEnv::default().with("HOME", home.to_str().unwrap());
            if let Some(r) = runtime {
                env = env.with("XDG_RUNTIME_DIR", r);
            }
            assert_eq!(RuntimeDir::locate(&env).unwrap(), expected, "{runtime:?}");
        }
        assert!(RuntimeDir::locate(&FakeEnv::default().with("HOME", "relative")).is_err());
    }

    #[test]
    fn the_directory_is_made_private_and_a_shared_one_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let env = FakeEnv::default().with("XDG_RUNTIME_DIR", private(tmp.path()).to_str().unwrap());
        let dir = RuntimeDir::open(&env).unwrap();
        let mode = std::fs::metadata(dir.file_path(""))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        dir.write_file("a.lock", b"x").unwrap();
        let mode = std::fs::metadata(dir.file_path("a.lock"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(dir.file_path(""), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let err = RuntimeDir::open(&env).err().unwrap().to_string();
        assert!(err.contains("not a private directory"), "{err}");
    }

    #[test]
    fn files_are_never_reached_through_a_planted_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let env = FakeEnv::default().with("XDG_RUNTIME_DIR", private(tmp.path()).to_str().unwrap());
        let dir = RuntimeDir::open(&env).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        std::os::unix::fs::symlink(&victim, dir.file_path("x.lock")).unwrap();
        assert!(dir.write_file("x.lock", b"overwrite").is_err());
        assert!(dir.read_file("x.lock").is_none());
        dir.remove("x.lock").unwrap(); // removes the link, not its target
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    }

    /// Issue 17, item 12: a FIFO planted in the runtime directory hung `login` forever.
    #[test]
    fn a_planted_fifo_is_refused_at_once_never_waited_on() {
        let tmp = tempfile::tempdir().unwrap();
        let env = FakeEnv::default().with("XDG_RUNTIME_DIR", private(tmp.path()).to_str().unwrap());
        let dir = RuntimeDir::open(&env).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(dir.file_path("x.stamp"))
            .status()
            .unwrap();
        assert!(made.success());
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let read = dir.read_file("x.stamp");
            let opened = dir.open_file("x.stamp").map(drop);
            let written = dir.write_file("x.stamp", b"x");
            let _ = done.send((read, opened.is_err(), written.is_err()));
        });
        // A generous bound: before the fix the read never returned at all.
        let outcome = finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("reading a FIFO in the runtime directory still blocks");
        assert_eq!(outcome, (None, true, true));
    }
}
