//! The front door: the `aws-mfa-proc` binary the SDKs run.
//!
//! The AWS CLI runs the helper on every command, and a process's start-up cost grows
//! with its size: a binary that links the AWS SDK, TLS, tokio and D-Bus maps and
//! relocates megabytes it does not need for a cache hit. So the program is two binaries:
//! - `aws-mfa-proc` (this module, ~1 MB): answers one question, "is there a fresh copy
//!   of this profile's credentials in the kernel keyring?", and prints it if so;
//! - `aws-mfa-proc-full` (next to it): everything else, and the same question again.
//!
//! Invariants:
//! - the front door only ever prints a fresh, well-formed credential document, or
//!   nothing; it never prompts, writes, connects to a keychain or calls STS;
//! - anything it does not handle (another command line shape, diagnostics asked for,
//!   a miss, any error) goes to `aws-mfa-proc-full` with the same arguments, stdin,
//!   stdout, stderr and terminal, which then behaves exactly as if run directly.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use crate::cache::Cache;
use crate::config::fast;
use crate::output;
use crate::system::{Clock, Environment, ProcessEnv, SystemClock};

const FULL: &str = "aws-mfa-proc-full";

/// The front door's `main`.
pub fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let env = ProcessEnv;
    let cache = Cache::open(&env);
    if serve(&args, &env, &SystemClock, &cache, &mut std::io::stdout()) {
        return ExitCode::SUCCESS;
    }
    hand_over(&args)
}

/// Serves a fresh cached copy for `--profile NAME [--source-profile SRC]`; `false` if
/// the full program must answer instead.
fn serve(
    args: &[OsString],
    env: &dyn Environment,
    clock: &dyn Clock,
    cache: &Cache,
    out: &mut dyn Write,
) -> bool {
    if env.var("AWS_MFA_PROC_LOG").is_some() {
        return false;
    }
    let Some((profile, source_profile)) = profile_arguments(args) else {
        return false;
    };
    let Some(target) = fast::target(env, &profile, source_profile.as_deref()) else {
        return false;
    };
    match cache.fresh_copy(&target, clock.now()) {
        Some(credentials) => output::credential_process(out, &credentials).is_ok(),
        None => false,
    }
}

/// `--profile NAME` (or `--profile=NAME`), optionally `--source-profile SRC`, nothing else.
fn profile_arguments(args: &[OsString]) -> Option<(String, Option<String>)> {
    let mut profile = None;
    let mut source = None;
    let mut words = args.iter().map(|a| a.to_str());
    while let Some(word) = words.next() {
        let (flag, inline) = match word?.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_string())),
            None => (word?, None),
        };
        let value = match inline {
            Some(v) => v,
            None => words.next()??.to_string(),
        };
        let slot = match flag {
            "--profile" => &mut profile,
            "--source-profile" => &mut source,
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
    }
    Some((profile?, source))
}

/// Runs `aws-mfa-proc-full` in this process's place with the same arguments.
fn hand_over(args: &[OsString]) -> ExitCode {
    let full = std::env::current_exe()
        .map(|exe| exe.with_file_name(format!("{FULL}{}", std::env::consts::EXE_SUFFIX)));
    let mut command = match &full {
        Ok(path) => std::process::Command::new(path),
        Err(_) => std::process::Command::new(FULL),
    };
    command.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.arg0("aws-mfa-proc").exec();
        missing(&full, &error)
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(status) => ExitCode::from(status.code().map_or(1, |c| c as u8)),
        Err(error) => missing(&full, &error),
    }
}

#[allow(clippy::print_stderr)]
fn missing(full: &std::io::Result<std::path::PathBuf>, error: &std::io::Error) -> ExitCode {
    let path = full
        .as_ref()
        .map_or(FULL.to_string(), |p| p.display().to_string());
    eprintln!(
        "aws-mfa-proc: cannot run {path} ({error}); it is installed next to aws-mfa-proc: reinstall with `cargo install --locked --path .`"
    );
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn only_the_credential_mode_command_line_is_served_here() {
        let p = |w: &[&str]| profile_arguments(&args(w));
        assert_eq!(p(&["--profile", "mfa"]), Some(("mfa".into(), None)));
        assert_eq!(p(&["--profile=mfa"]), Some(("mfa".into(), None)));
        assert_eq!(
            p(&["--profile", "mfa", "--source-profile", "default"]),
            Some(("mfa".into(), Some("default".into())))
        );
        for other in [
            &[][..],
            &["login", "--profile", "mfa"],
            &["--profile", "mfa", "-v"],
            &["--profile"],
            &["--profile", "a", "--profile", "b"],
            &["--source-profile", "default"],
            &["--help"],
        ] {
            assert_eq!(p(other), None, "{other:?}");
        }
    }
}
