//! Bad configuration beyond what the case files (tests/cases, run by cases.rs) show: no
//! plaintext fallback, a closed pipe.

use crate::rig::Rig;
use crate::support::*;

fn fails_with(rig: &Rig, args: &[&str], expected: &[&str]) {
    let out = detached(rig, "aws-mfa-proc", args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout must stay empty: {}",
        text(&out.stdout)
    );
    let message = the_message(&stderr);
    for needle in expected {
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
    }
}

#[test]
fn without_dbus_the_secret_service_error_names_the_fix_and_nothing_falls_back_to_a_file() {
    let mut rig = Rig::without_keychain();
    rig.set_env("AWS_MFA_PROC_KEYCHAIN", "secret-service");
    rig.write_config(CONFIG);
    fails_with(
        &rig,
        &["--profile", "mfa"],
        &["profile `mfa`", "Secret Service", "gnome-keyring"],
    );
    assert!(files_containing(rig.dir(), "AccessKeyId").is_empty());
}

#[test]
fn a_report_written_into_a_closed_pipe_ends_quietly() {
    let rig = Rig::without_keychain();
    rig.write_config(CONFIG);
    // The pipe's read end is closed before status starts, so every line it writes
    // meets a closed pipe (EPIPE). (`output` keeps the stdout given and captures stderr.)
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = rig
        .command("aws-mfa-proc")
        .arg("status")
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    // Its own verdict on the config, not a crash (101) or a death by SIGPIPE.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}: {stderr}",
        out.status
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}
