//! `exec`: run a program with the credentials, for tools that cannot chain a role from
//! a credential_process (JS SDK v2, Serverless v3).
//!
//! The program gets the credentials twice:
//! - in its environment (`AWS_ACCESS_KEY_ID`, …), which every SDK reads first;
//! - as static keys of the MFA profile in a private credentials file
//!   (`AWS_SHARED_CREDENTIALS_FILE`), so that a role profile with
//!   `source_profile = <MFA profile>` works in SDKs that want static keys there.
//!
//! Invariants:
//! - the user's own files are never modified;
//! - the private file is 0600 in a private directory in memory: the runtime directory
//!   when it is on tmpfs, else a new private directory in /dev/shm; it is removed when
//!   the program ends, and files left by an exec that was killed are removed by the
//!   next one, through checked directory handles only;
//! - it is never written to disk: with no directory in memory there is no file, the
//!   program gets the credentials in its environment only, and the person is told
//!   (role profiles that name the MFA profile as `source_profile` then find no keys);
//! - stdin, stdout and stderr are the program's own; its exit code (or the signal that
//!   ended it) is passed on; signals sent to us are passed to it;
//! - an exec inside an exec is refused: the inner one would see the outer credentials;
//! - with `--server` the program gets no credentials and no file, but the local
//!   endpoint ([`crate::server`]) in `AWS_CONTAINER_CREDENTIALS_FULL_URI` and its token in
//!   `AWS_CONTAINER_AUTHORIZATION_TOKEN` (never in argv); every other credential,
//!   profile and container variable is removed, so the SDK's chain reaches the endpoint.
//!   Only this user's connections are served. A code needed at the start is asked
//!   before the program starts; later, while the program has the terminal, only a
//!   dialog or `mfa_process` may ask, else the endpoint answers with the error naming
//!   `aws-mfa-proc login`. The endpoint closes when the program ends.

use std::path::Path;
use std::process::Command;

use super::Ctx;
use super::Error;
use crate::cli::ExecArgs;
use crate::config::Target;
use crate::credentials::{SessionCredentials, iso8601};
use crate::loopback::{Peers, Refused};
use crate::output;
use crate::runtime::RuntimeDir;
use crate::server::{CONTAINER_VARIABLES, Endpoint, TOKEN_VARIABLE, URI_VARIABLE};
use crate::session::Mode;
use crate::system::CREDENTIAL_VARIABLES;

/// Set in the program's environment: the profile it runs under.
pub(crate) const MARKER: &str = "AWS_MFA_PROC_EXEC";

#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecError {
    #[error(
        "already inside `aws-mfa-proc exec` for profile `{0}`; run the command directly (its environment holds the credentials already)"
    )]
    Nested(String),
    #[error("cannot write the private credentials file {path}: {detail}")]
    File { path: String, detail: String },
    #[error("cannot run `{program}`: {detail}")]
    Spawn { program: String, detail: String },
}

pub(crate) fn run(ctx: &mut Ctx<'_>, args: &ExecArgs) -> Result<u8, Error> {
    if let Some(outer) = ctx.env.var(MARKER) {
        return Err(Error::Input(ExecError::Nested(outer).to_string()));
    }
    let target = ctx.target()?;
    let served = ctx.credentials(&target, Mode::Cached)?;
    if args.server {
        drop(served);
        return with_server(ctx, &target, &args.command)
            .map_err(|e| Error::Exec(target.profile().into(), e));
    }
    // The private credentials file holds the MFA session, whatever the target.
    let mfa_session = match (&target, served.mfa_session) {
        (Target::Session(_), _) => served.credentials.clone(),
        (Target::Role(_), Some(mfa)) => mfa,
        (Target::Role(role), None) => {
            ctx.credentials(&Target::Session(role.mfa.clone()), Mode::Cached)?
                .credentials
        }
    };
    let runtime = ctx
        .runtime
        .dir()
        .map_err(|e| Error::Runtime(target.profile().into(), e))?;
    sweep(runtime);
    let shm = (!runtime.in_memory())
        .then(|| RuntimeDir::create_private(Path::new(SHM), &shm_prefix(std::process::id())));
    let file_dir = match &shm {
        None => Some(runtime),
        Some(Ok(shm)) => Some(shm),
        Some(Err(e)) => {
            ctx.terminal.tell(&format!(
                "aws-mfa-proc: warning: no private directory in memory for exec's credentials file ({} is on disk, and {SHM} cannot be used: {}), and credentials are never written to disk: `{}` gets them as environment variables only, so a profile with `source_profile = {}` will not find them. Fix: set XDG_RUNTIME_DIR to a private tmpfs directory",
                runtime.file_path("").display(),
                e.detail,
                args.command[0].to_string_lossy(),
                target.mfa().profile
            ));
            None
        }
    };
    let result = spawn(
        file_dir,
        &target,
        served.credentials,
        mfa_session,
        &args.command,
    );
    if let Some(Ok(shm)) = shm {
        shm.remove_dir();
    }
    result.map_err(|e| Error::Exec(target.profile().into(), e))
}

/// Runs `command` with `credentials` (the target's) in its environment and `mfa_session`
/// in its private credentials file in `dir` (none without `dir`); its exit code, or
/// 128 + the signal that ended it.
/// Both are dropped (and zeroed, with every copy the spawn made) before the wait: while
/// the program runs, this process holds no secret.
fn spawn(
    dir: Option<&RuntimeDir>,
    target: &Target,
    credentials: SessionCredentials,
    mfa_session: SessionCredentials,
    command: &[std::ffi::OsString],
) -> Result<u8, ExecError> {
    let file = dir
        .map(|dir| PrivateFile::write(dir, &target.mfa().profile, &mfa_session))
        .transpose()?;
    drop(mfa_session);
    let (program, args) = command.split_first().expect("clap requires a command");
    let mut child = Command::new(program);
    for name in CREDENTIAL_VARIABLES {
        child.env_remove(name);
    }
    child
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &credentials.access_key_id)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            credentials.secret_access_key.expose(),
        )
        .env("AWS_SESSION_TOKEN", credentials.session_token.expose())
        .env("AWS_CREDENTIAL_EXPIRATION", iso8601(credentials.expiration))
        .env("AWS_SDK_LOAD_CONFIG", "1")
        .env(MARKER, target.profile());
    if let Some(file) = &file {
        child.env(
            "AWS_SHARED_CREDENTIALS_FILE",
            file.dir.file_path(&file.name),
        );
    }
    if let Some(region) = target.profile_region() {
        child
            .env("AWS_REGION", region)
            .env("AWS_DEFAULT_REGION", region);
    }
    let spawn_error = |e: std::io::Error| ExecError::Spawn {
        program: program.to_string_lossy().into_owned(),
        detail: e.to_string(),
    };
    crate::harden::restore_core_limit();
    let spawned = child.spawn();
    drop(child);
    drop(credentials);
    let mut child = spawned.map_err(spawn_error)?;
    let status = signals::forward_while(child.id(), || child.wait()).map_err(spawn_error)?;
    drop(file);
    Ok(exit_code(status))
}

/// Runs `command` with the local endpoint serving `target`'s credentials for as long as
/// it runs; its exit code, as [`spawn`]'s.
fn with_server(
    ctx: &Ctx<'_>,
    target: &Target,
    command: &[std::ffi::OsString],
) -> Result<u8, ExecError> {
    let (program, args) = command.split_first().expect("clap requires a command");
    let name = program.to_string_lossy().into_owned();
    let spawn_error = |detail: String| ExecError::Spawn {
        program: name.clone(),
        detail,
    };
    let endpoint = Endpoint::start(0, Peers::ThisUser).map_err(spawn_error)?;
    let mut child = Command::new(program);
    for name in CREDENTIAL_VARIABLES
        .iter()
        .chain(&CONTAINER_VARIABLES)
        .chain(&PROFILE_VARIABLES)
    {
        child.env_remove(name);
    }
    child
        .args(args)
        .env(URI_VARIABLE, endpoint.uri())
        .env(TOKEN_VARIABLE, endpoint.token())
        .env(MARKER, target.profile());
    if let Some(region) = target.profile_region() {
        child
            .env("AWS_REGION", region)
            .env("AWS_DEFAULT_REGION", region);
    }
    crate::harden::restore_core_limit();
    let spawned = child.spawn();
    drop(child);
    let mut child = spawned.map_err(|e| spawn_error(e.to_string()))?;
    let role_arn = match target {
        Target::Role(role) => Some(role.role_arn.as_str()),
        Target::Session(_) => None,
    };
    let mut credentials = || {
        ctx.credentials_off_terminal(target, Mode::Cached, &name)
            .map(|served| served.credentials)
            .map_err(|e| e.line())
    };
    let mut refused = |r: Refused| {
        crate::log::notice(&format!(
            "refused a connection to the credential endpoint from {}, port {}: only this user's programs are served",
            r.uid.map_or(
                "a process whose owner cannot be found".into(),
                |uid| format!("user {uid}")
            ),
            r.peer.port()
        ));
    };
    let pid = child.id();
    signals::forward_while(pid, || {
        Ok(endpoint.serve(
            role_arn,
            &mut credentials,
            &mut refused,
            &mut || match child.try_wait() {
                Ok(Some(status)) => Some(exit_code(status)),
                Ok(None) => None,
                Err(_) => Some(1),
            },
        ))
    })
    .map_err(|e| spawn_error(e.to_string()))
}

/// Variables that choose a profile: an SDK would use the profile before the endpoint.
const PROFILE_VARIABLES: [&str; 2] = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"];

#[cfg(unix)]
fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128u8.saturating_add(signal as u8),
        _ => 1,
    }
}

#[cfg(not(unix))]
fn exit_code(status: std::process::ExitStatus) -> u8 {
    status.code().map_or(1, |c| c as u8)
}

/// The per-run credentials file; removed on drop.
struct PrivateFile<'a> {
    dir: &'a RuntimeDir,
    name: String,
}

impl<'a> PrivateFile<'a> {
    fn write(
        dir: &'a RuntimeDir,
        profile: &str,
        c: &SessionCredentials,
    ) -> Result<PrivateFile<'a>, ExecError> {
        let name = format!("exec-{}.credentials", std::process::id());
        let text = output::credentials_file(profile, c);
        dir.write_file(&name, text.as_bytes())
            .map_err(|e| ExecError::File {
                path: dir.file_path(&name).display().to_string(),
                detail: e.to_string(),
            })?;
        Ok(PrivateFile { dir, name })
    }
}

impl Drop for PrivateFile<'_> {
    fn drop(&mut self) {
        let _ = self.dir.remove(&self.name);
    }
}

/// Shared memory, where the credentials file goes when the runtime directory is on disk.
const SHM: &str = "/dev/shm";

/// The name prefix of exec `pid`'s private directory in [`SHM`].
fn shm_prefix(pid: u32) -> String {
    format!("aws-mfa-proc-exec-{}-{pid}", euid())
}

#[cfg(unix)]
fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(not(unix))]
fn euid() -> u32 {
    0
}

/// Removes credentials files of execs that no longer run (killed before cleaning up),
/// in the runtime directory and in private directories of ours in [`SHM`].
fn sweep(dir: &RuntimeDir) {
    let ours = format!("aws-mfa-proc-exec-{}-", euid());
    for entry in std::fs::read_dir(SHM).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(&ours)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !signals::alive(pid)
            && let Some(stale) = RuntimeDir::open_existing(&entry.path())
        {
            stale.remove_dir();
        }
    }
    for name in dir.names() {
        let Some(pid) = name
            .strip_prefix("exec-")
            .and_then(|n| n.strip_suffix(".credentials"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if !signals::alive(pid) {
            let _ = dir.remove(&name);
        }
    }
}

#[cfg(unix)]
mod signals {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
    use signal_hook::iterator::Signals;

    /// While `wait` runs: SIGTERM, SIGHUP and SIGUSR1/2 sent to us go to the child.
    /// SIGINT and SIGQUIT from the terminal reach the child by themselves (same process
    /// group); we only survive them, so the credentials file is removed afterwards.
    pub(super) fn forward_while<T>(
        child: u32,
        wait: impl FnOnce() -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let mut signals = Signals::new([SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGQUIT])?;
        let handle = signals.handle();
        let pid = rustix::process::Pid::from_raw(child as i32);
        let forwarder = std::thread::spawn(move || {
            for signal in signals.forever() {
                if matches!(signal, SIGINT | SIGQUIT) {
                    continue;
                }
                if let (Some(pid), Some(sig)) =
                    (pid, rustix::process::Signal::from_named_raw(signal))
                {
                    let _ = rustix::process::kill_process(pid, sig);
                }
            }
        });
        let result = wait();
        handle.close();
        let _ = forwarder.join();
        result
    }

    pub(super) fn alive(pid: u32) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
            || rustix::process::Pid::from_raw(pid as i32)
                .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
    }
}

#[cfg(not(unix))]
mod signals {
    pub(super) fn forward_while<T>(
        _child: u32,
        wait: impl FnOnce() -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        wait()
    }

    pub(super) fn alive(_pid: u32) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
