//! Keeping secrets out of core dumps.
//!
//! Invariants:
//! - both binaries call [`process`] first, before any secret is read: the process is
//!   marked non-dumpable (no core file, no ptrace attach by other processes of the
//!   user) and its core-file size limit is 0;
//! - a program that `exec` runs gets the core limit the user had: the kernel makes it
//!   dumpable again at `execve`, and its memory is its own business.

#[cfg(target_os = "linux")]
static USER_CORE_LIMIT: std::sync::OnceLock<rustix::process::Rlimit> = std::sync::OnceLock::new();

/// Makes this process non-dumpable and its core limit 0. Best effort: a failure (a
/// sandbox that forbids prctl) leaves the process as it was.
pub fn process() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{DumpableBehavior, Resource, Rlimit, getrlimit, setrlimit};
        let _ = rustix::process::set_dumpable_behavior(DumpableBehavior::NotDumpable);
        let limit = getrlimit(Resource::Core);
        let _ = setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: limit.maximum,
            },
        );
        let _ = USER_CORE_LIMIT.set(limit);
    }
}

/// Gives the core limit back before running the user's own program (`exec`).
pub fn restore_core_limit() {
    #[cfg(target_os = "linux")]
    if let Some(limit) = USER_CORE_LIMIT.get() {
        let _ = rustix::process::setrlimit(rustix::process::Resource::Core, *limit);
    }
}
