//! What the tool leaves on the machine: a private directory of private files, whatever
//! the umask, and no typed code in them. (The audit for known secrets runs in every
//! test: see rig.rs.)

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::*;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
}

#[test]
fn the_lock_directory_is_0700_and_its_files_0600_even_under_umask_000() {
    let (rig, _sts) = with_standin();
    let mut pty = rig.pty(
        "sh",
        &["-c", "umask 000; exec aws-mfa-proc login --profile mfa"],
    );
    pty.expect(PROMPT);
    pty.send_line("123456");
    pty.expect("cached until");
    assert!(pty.wait().0.success());

    let dir = rig.dir().join("run/aws-mfa-proc");
    assert_eq!(mode(&dir) & 0o7777, 0o700, "{}", dir.display());
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(!files.is_empty(), "no lock file in {}", dir.display());
    for file in &files {
        let mode = mode(file);
        assert_eq!(
            mode & 0o170000,
            0o100000,
            "{} is a regular file",
            file.display()
        );
        assert_eq!(mode & 0o7777, 0o600, "{}", file.display());
    }
    let holding_the_code = files_containing(&dir, "123456");
    assert!(
        holding_the_code.is_empty(),
        "the typed code is in {holding_the_code:?}"
    );
}

#[test]
fn at_the_most_verbose_logging_no_secret_reaches_stderr_or_a_file() {
    let (mut rig, _sts) = with_standin();
    rig.set_env("AWS_MFA_PROC_LOG", "trace");
    // Logging in: the prompt, STS, the keychain and the kernel copy all log.
    let mut pty = rig.pty_captured("aws-mfa-proc", &["login", "--profile", "mfa"]);
    pty.expect(PROMPT);
    pty.send_line("123456");
    let (login, _) = pty.wait_captured();
    assert!(login.status.success(), "{}", login.stderr);
    assert!(
        login.stderr.contains("aws-mfa-proc: debug:"),
        "logging is on: {}",
        login.stderr
    );
    assert_no_secret("login's stderr", &login.stderr);
    // Every way the session is handed out; `run` checks each one's stderr.
    for args in [
        &["--profile", "mfa"][..],
        &["env", "--profile", "mfa"],
        &["exec", "--profile", "mfa", "--", "true"],
        &["status"],
        &["logout", "--profile", "mfa"],
    ] {
        let out = detached(&rig, "aws-mfa-proc", args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("debug:"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // Dropping the rig audits every file under it.
}
