//! Steps that many behaviours share: the config, stored keys, a login.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::rig::{Pty, Rig, Run};
use crate::standin::{self, StandIn};

/// Long-term keys the tests store; distinctive, so a leak is easy to find.
pub const LONG_TERM_ID: &str = "AKIATESTLONGTERM0001";
pub const LONG_TERM_SECRET: &str = "longtermSecretXy7Kq2Vb9Lm4Np6Rt8";
/// What moto returns for every GetSessionToken.
pub const MOTO_SESSION_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
pub const MOTO_SESSION_TOKEN_START: &str = "AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5Tth";
/// Every secret a test hands to the tool or that STS hands back: none may ever show up
/// in stderr, on the terminal, or in a file (see the leak audit in rig.rs).
pub const KNOWN_SECRETS: [&str; 5] = [
    LONG_TERM_SECRET,
    MOTO_SESSION_SECRET,
    MOTO_SESSION_TOKEN_START,
    standin::SESSION_SECRET,
    standin::SESSION_TOKEN_PREFIX,
];
pub const PROMPT: &str = "MFA code for profile `mfa`";
/// The tool's log lines start so (with `-v` or AWS_MFA_PROC_LOG=debug).
const LOG_LINE_PREFIXES: [&str; 2] = ["aws-mfa-proc: debug:", "aws-mfa-proc: trace:"];
/// No step of a test may take this long: a guard against hangs, not a timing check.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// The layout: a helper profile, and a role profile chaining from it.
pub const CONFIG: &str = "\
[profile mfa]
credential_process = aws-mfa-proc --profile mfa
mfa_serial = arn:aws:iam::111111111111:mfa/alice
region = eu-west-1

[profile production]
role_arn = arn:aws:iam::222222222222:role/Role-Name-To-Assume
source_profile = mfa
region = eu-west-1
";

/// The config above, with long-term keys stored in the rig's keychain.
pub fn configured(rig: &Rig) {
    rig.write_config(CONFIG);
    let out = run(rig
        .command("aws-mfa-proc")
        .args(["add", "mfa", "--from-env"])
        .env("AWS_ACCESS_KEY_ID", LONG_TERM_ID)
        .env("AWS_SECRET_ACCESS_KEY", LONG_TERM_SECRET));
    assert!(out.status.success(), "add failed: {}", text(&out.stderr));
}

/// A rig whose STS is a fresh stand-in, with the config and stored keys.
pub fn with_standin() -> (Rig, StandIn) {
    let sts = StandIn::start();
    (with_sts_at(sts.url()), sts)
}

/// A rig whose STS endpoint is `url`, with the config and stored keys.
pub fn with_sts_at(url: &str) -> Rig {
    let mut rig = Rig::new();
    rig.set_env("AWS_ENDPOINT_URL_STS", url);
    configured(&rig);
    rig
}

/// A session that expired 30 minutes ago: logged in (with code `100001`) on a clock
/// 12 h 30 min behind, which the stand-in takes as the time of issue.
pub fn expired_session(rig: &Rig) {
    let mut pty = rig.pty(
        "faketime",
        &["-f", "-750m", "aws-mfa-proc", "login", "--profile", "mfa"],
    );
    pty.expect(PROMPT);
    pty.send_line("100001");
    pty.expect("cached until");
    let (status, _) = pty.wait();
    assert!(status.success());
    let now = detached(rig, "aws-mfa-proc", &["--profile", "mfa"]);
    assert!(
        !now.status.success(),
        "the session should have expired: {}",
        text(&now.stdout)
    );
}

/// `aws-mfa-proc login` in a terminal, typing `code`.
pub fn login(rig: &Rig, code: &str) {
    let mut pty = rig.pty("aws-mfa-proc", &["login", "--profile", "mfa"]);
    pty.expect(PROMPT);
    pty.send_line(code);
    pty.expect("cached until");
    let (status, _) = pty.wait();
    assert!(status.success());
}

/// Runs a command with no controlling terminal and stdin closed, as an IDE or cron
/// would, so any attempt to prompt fails instead of waiting.
pub fn detached(rig: &Rig, program: &str, args: &[&str]) -> Output {
    let mut cmd = rig.command("setsid");
    cmd.arg(program).args(args);
    run(&mut cmd)
}

/// Runs to completion within the hang guard; stdin is closed. Fails the test if stderr
/// holds a known secret.
pub fn run(cmd: &mut Command) -> Output {
    let start = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(HANG_GUARD) {
        Ok(out) => {
            let out = out.unwrap();
            eprintln!("ran {:?} in {:?}", cmd.get_program(), start.elapsed());
            assert_no_secret(&format!("stderr of {cmd:?}"), &text(&out.stderr));
            out
        }
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{cmd:?} hung for {HANG_GUARD:?}");
        }
    }
}

/// Panics if `shown` (named `what`) contains any of [`KNOWN_SECRETS`].
pub fn assert_no_secret(what: &str, shown: &str) {
    for secret in KNOWN_SECRETS {
        assert!(
            !shown.contains(secret),
            "{what} leaks the known secret {secret:?}:\n{shown}"
        );
    }
}

/// The lines of stderr meant for the person: everything but the tool's log lines.
pub fn messages(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| !LOG_LINE_PREFIXES.iter().any(|p| line.starts_with(p)))
        .collect()
}

/// The single message on stderr; panics unless there is exactly one.
pub fn the_message(stderr: &str) -> &str {
    match messages(stderr)[..] {
        [one] => one,
        ref other => panic!("expected one message on stderr, got {other:?}:\n{stderr}"),
    }
}

/// A failure as every SDK needs it: exit 1, nothing on stdout, one message on stderr
/// naming profile `mfa` and containing every one of `expected`.
pub fn assert_failed_with(run: &Run, expected: &[&str]) {
    assert_no_secret("stderr", &run.stderr);
    assert_eq!(run.status.code(), Some(1), "stderr: {}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "stdout must stay empty: {}",
        run.stdout
    );
    let message = the_message(&run.stderr);
    for needle in ["profile `mfa`"].iter().chain(expected) {
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
    }
}

/// Starts `aws-mfa-proc --profile mfa` on a terminal, with stdout and stderr captured,
/// and waits for its prompt.
pub fn at_the_prompt(rig: &Rig) -> Pty {
    let mut pty = rig.pty_captured("aws-mfa-proc", &["--profile", "mfa"]);
    pty.expect(PROMPT);
    pty
}

/// [`at_the_prompt`], then types `code`; returns how it ended and the screen.
pub fn answer_prompt_with(rig: &Rig, code: &str) -> (Run, String) {
    let mut pty = at_the_prompt(rig);
    pty.send_line(code);
    pty.wait_captured()
}

/// How often the prompt shows on `screen`.
pub fn prompts_on(screen: &str) -> usize {
    screen.matches(PROMPT).count()
}

/// A credential_process document carrying the stand-in's session: one line of JSON,
/// Version 1. Returns it parsed.
pub fn assert_standin_session(stdout: &str) -> serde_json::Value {
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one JSON object: {stdout:?}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout:?}"));
    assert_eq!(doc["Version"], 1, "{doc}");
    assert_eq!(doc["SecretAccessKey"], standin::SESSION_SECRET, "{doc}");
    doc
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file()
                && let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                found.push(path);
            }
        }
    }
    found
}

/// Ends a test that cannot run here, saying why. Under `CI=true` (as `.ci/run` runs) a
/// test that cannot run fails instead, naming what is missing: a green CI never hides a
/// behaviour that went untested. Elsewhere (a developer's container without keyctl,
/// say) the line on stderr, shown with `--nocapture`, is the record: Rust has no
/// runtime skip.
pub fn skip(reason: &str) {
    let name = std::thread::current().name().unwrap_or("?").to_owned();
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{name} cannot run on this machine, and CI=true allows no skip: {reason}");
    }
    eprintln!("SKIPPED {name}: {reason}");
}

/// Whether this process can use the user's kernel keyring (keyutils; not blocked by a
/// container's seccomp profile).
pub fn kernel_keyring_usable() -> bool {
    Command::new("/usr/bin/keyctl")
        .args(["show", "@u"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// STS gives up after 12 s (connect 3 s, attempts of 5 s, 3 attempts): a failure that
/// needs no STS call must come well before that. A behavioural bound, not a timing.
pub const STS_DEADLINE: Duration = Duration::from_secs(12);

/// Panics unless `elapsed` is shorter than [`STS_DEADLINE`]: the call failed without
/// waiting on STS, a person, or a lock.
pub fn assert_failed_before_the_sts_deadline(what: &str, elapsed: Duration) {
    eprintln!("{what} failed after {elapsed:?}");
    assert!(
        elapsed < STS_DEADLINE,
        "{what} took {elapsed:?}: it must fail before the STS deadline ({STS_DEADLINE:?}) could pass"
    );
}

/// A copy of the `aws-mfa-proc` front door, alone in a directory of its own: whatever
/// it serves, it served without `aws-mfa-proc-full`.
pub fn front_door_alone(rig: &Rig) -> std::path::PathBuf {
    let dir = rig.dir().join("front-door-alone");
    std::fs::create_dir_all(&dir).unwrap();
    let front = dir.join("aws-mfa-proc");
    if !front.exists() {
        std::fs::copy(env!("CARGO_BIN_EXE_aws-mfa-proc"), &front).unwrap();
    }
    front
}

/// A local user other than the one running the tests, created with `useradd` when the
/// tests run as root (else `None`: the caller skips, saying so).
pub fn other_user(name: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, name]).output().ok()?;
        text(&out.stdout).trim().parse().ok()
    };
    if id("-u").is_none() {
        if rustix_is_root() {
            let made = Command::new("useradd")
                .args(["--system", "--no-create-home", "--shell", "/bin/sh", name])
                .status()
                .ok()?;
            // Another test may have made it at the same moment.
            if !made.success() && id("-u").is_none() {
                return None;
            }
        } else {
            return None;
        }
    }
    Some((id("-u")?, id("-g")?))
}

fn rustix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0")
}

/// `program args…` as `user` (setpriv: no PAM, no new environment), with exactly `env`.
pub fn as_user(
    user: (u32, u32),
    env: &[(String, String)],
    program: &str,
    args: &[&str],
) -> Command {
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={}", user.0))
        .arg(format!("--regid={}", user.1))
        .args(["--clear-groups", "--"])
        .arg(program)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    command
}

/// `aws sts get-caller-identity --profile production` at a terminal, typing `code` at
/// the one prompt; panics unless it got the role. Returns the screen.
pub fn production_at_the_terminal(rig: &Rig, code: &str) -> String {
    let mut pty = rig.pty(
        "aws",
        &["sts", "get-caller-identity", "--profile", "production"],
    );
    pty.expect(PROMPT);
    pty.send_line(code);
    pty.expect("assumed-role/Role-Name-To-Assume");
    let (status, screen) = pty.wait();
    assert!(status.success(), "{screen}");
    assert_eq!(prompts_on(&screen), 1, "{screen}");
    screen
}
