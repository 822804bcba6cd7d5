//! Steps that many behaviours share: the config, stored keys, a login.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::rig::Rig;

/// Long-term keys the tests store; distinctive, so a leak is easy to find.
pub const LONG_TERM_ID: &str = "AKIATESTLONGTERM0001";
pub const LONG_TERM_SECRET: &str = "longterm-secret-Xy7Kq2Vb9Lm4Np6Rt8";
/// What moto returns for every GetSessionToken.
pub const MOTO_SESSION_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
pub const MOTO_SESSION_TOKEN_START: &str = "AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5Tth";
pub const PROMPT: &str = "MFA code for profile `mfa`";
/// No step of a test may take this long: a guard against hangs, not a timing check.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

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

/// Runs to completion within the hang guard; stdin is closed.
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
            out
        }
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{cmd:?} hung for {HANG_GUARD:?}");
        }
    }
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
