//! The front door: the `aws-mfa-proc` binary the SDKs run.
//!
//! The AWS CLI runs the helper on every command, and a process's start-up cost grows
//! with its size: a binary that links the AWS SDK, TLS, tokio and D-Bus maps and
//! relocates megabytes it does not need for a cache hit. So the program is two binaries:
//! - `aws-mfa-proc` (this module, ~1 MB): answers one question, "is there a fresh copy
//!   of this profile's credentials in the kernel keyring?", and prints it if so. The
//!   profile is the one `--profile` names, or for a bare call the only profile whose
//!   `credential_process` runs aws-mfa-proc;
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

use crate::config::fast;
use crate::copies::Copies;
use crate::output;
use crate::system::{Clock, Environment, ProcessEnv, SystemClock};

const FULL: &str = "aws-mfa-proc-full";
/// Set when a shell asks for completions (clap_complete's variable): the full
/// program's job.
pub const COMPLETE_VAR: &str = "_AWS_MFA_PROC_COMPLETE";

/// The front door's `main`.
pub fn main() -> ExitCode {
    crate::harden::process();
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let env = ProcessEnv;
    let copies = Copies::open(&env);
    let stdout = std::io::stdout();
    let at_terminal = std::io::IsTerminal::is_terminal(&stdout);
    if serve(
        &args,
        &env,
        &SystemClock,
        &copies,
        &mut stdout.lock(),
        at_terminal,
    ) {
        return ExitCode::SUCCESS;
    }
    hand_over(&args)
}

/// Serves a fresh cached copy for `[--profile NAME [--source-profile SRC]]`; `false` if
/// the full program must answer instead.
fn serve(
    args: &[OsString],
    env: &dyn Environment,
    clock: &dyn Clock,
    copies: &Copies,
    out: &mut dyn Write,
    out_is_terminal: bool,
) -> bool {
    // Diagnostics, or a shell asking for completions: the full program's job.
    if env.var("AWS_MFA_PROC_LOG").is_some() || env.var(COMPLETE_VAR).is_some() {
        return false;
    }
    let target = match profile_arguments(args) {
        Some((Some(profile), source_profile)) => {
            fast::target(env, &profile, source_profile.as_deref())
        }
        // Bare at a terminal, it would print live secrets: the full program asks first.
        Some((None, None)) if !out_is_terminal => fast::only_helper(env),
        _ => None,
    };
    let Some(target) = target else {
        return false;
    };
    match copies.fresh(&target, clock.now()) {
        Some(credentials) => output::credential_process(out, &credentials).is_ok(),
        None => false,
    }
}

/// `--profile NAME` (or `--profile=NAME`), `--source-profile SRC`, or neither; nothing else.
pub fn profile_arguments(args: &[OsString]) -> Option<(Option<String>, Option<String>)> {
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
            // As clap: a separate value may not look like a flag.
            None => Some(words.next()??)
                .filter(|v| !v.starts_with('-'))?
                .to_string(),
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
    Some((profile, source))
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
    use std::sync::Arc;

    use crate::config::{Config, Paths, Target};
    use crate::copies::{REMEMBERED_PREFIX, Tier, copy_name};
    use crate::credentials::SessionCredentials;
    use crate::kernel::MemoryKernel;
    use crate::record;
    use crate::secret::Secret;
    use crate::system::{FakeEnv, FixedClock};

    const CONFIG: &str = "[profile mfa]\ncredential_process = \"/opt/My Tools/aws-mfa-proc\"\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\n";
    const INSTANCE: &str = "0123456789abcdef0123456789abcdef";

    /// A config file, and a kernel copy of `mfa`'s session that expires in `left`,
    /// named as the full program names it (`aws_mfa_proc::cache`'s tests hold that the
    /// copies it writes are the ones read here).
    fn world(left: chrono::Duration) -> (tempfile::TempDir, FakeEnv, Copies, FixedClock) {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(&config, CONFIG).unwrap();
        let env = FakeEnv::default()
            .with("AWS_CONFIG_FILE", config.to_str().unwrap())
            .with(
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.path().join("none").to_str().unwrap(),
            );
        let clock = FixedClock::new();
        let paths = Paths::locate(&env);
        let target: Target = Config::parse(paths, CONFIG.into(), "")
            .unwrap()
            .target(&env, "mfa", None)
            .unwrap();
        let session = SessionCredentials {
            access_key_id: "ASIAEXAMPLE00001".into(),
            secret_access_key: Secret::new("secret".into()),
            session_token: Secret::new("token".into()),
            expiration: clock.now() + left,
            source_access_key_id: "AKIAEXAMPLE00001".into(),
        };
        let kernel = MemoryKernel::default();
        let mut keys = kernel.keys.lock().unwrap();
        keys.insert(
            format!("{REMEMBERED_PREFIX}reached"),
            (INSTANCE.into(), None),
        );
        keys.insert(
            copy_name("runtime", INSTANCE, &target),
            (record::encode(&session).to_vec(), None),
        );
        drop(keys);
        let copies = Copies {
            kernel: Arc::new(kernel),
            tier: Tier::Copies("runtime".into()),
            reached: "reached".into(),
        };
        (dir, env, copies, clock)
    }

    #[test]
    fn a_fresh_copy_is_printed_for_a_named_or_a_bare_call_and_anything_else_is_handed_over() {
        // (arguments, time left, stdout is a terminal, served here)
        let cases: &[(&[&str], i64, bool, bool)] = &[
            (&["--profile", "mfa"], 60, false, true),
            (&[], 60, false, true),
            (&[], 60, true, false),
            (&["--profile", "mfa"], 14, false, false),
            (&["--profile", "other"], 60, false, false),
            (&["--profile", "mfa", "-v"], 60, false, false),
        ];
        for (words, minutes, terminal, served) in cases {
            let (_dir, env, copies, clock) = world(chrono::Duration::minutes(*minutes));
            let mut out = Vec::new();
            let answered = serve(&args(words), &env, &clock, &copies, &mut out, *terminal);
            assert_eq!(answered, *served, "{words:?} {minutes} min");
            assert_eq!(out.is_empty(), !served, "{words:?}");
            if *served {
                let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
                assert_eq!(doc["AccessKeyId"], "ASIAEXAMPLE00001");
            }
        }
    }

    #[test]
    fn a_shell_asking_for_completions_is_handed_over_and_never_sees_credentials() {
        let (_dir, env, copies, clock) = world(chrono::Duration::minutes(60));
        let env = env.with(COMPLETE_VAR, "bash");
        for words in [&[][..], &["--profile", "mfa"]] {
            let mut out = Vec::new();
            assert!(!serve(&args(words), &env, &clock, &copies, &mut out, false));
            assert!(out.is_empty(), "{words:?}");
        }
    }

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn only_the_credential_mode_command_line_is_served_here() {
        let p = |w: &[&str]| profile_arguments(&args(w));
        let named = |p: &str, s: Option<&str>| Some((Some(p.into()), s.map(String::from)));
        assert_eq!(p(&["--profile", "mfa"]), named("mfa", None));
        assert_eq!(p(&["--profile=mfa"]), named("mfa", None));
        assert_eq!(
            p(&["--profile", "mfa", "--source-profile", "default"]),
            named("mfa", Some("default"))
        );
        assert_eq!(p(&[]), Some((None, None)), "bare");
        for other in [
            &["login", "--profile", "mfa"][..],
            &["--profile", "mfa", "-v"],
            &["--profile"],
            &["--profile", "a", "--profile", "b"],
            &["--help"],
        ] {
            assert_eq!(p(other), None, "{other:?}");
        }
    }
}
