//! Bad configuration: a clear error naming the profile and the fix, and an empty stdout.

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
fn an_unknown_profile_names_the_ones_that_exist() {
    let rig = Rig::without_keychain();
    rig.write_config(CONFIG);
    fails_with(&rig, &["--profile", "prod"], &["`prod`", "mfa"]);
}

#[test]
fn a_missing_or_malformed_mfa_serial_says_where_to_find_it() {
    let rig = Rig::without_keychain();
    rig.write_config("[profile mfa]\ncredential_process = aws-mfa-proc --profile mfa\n");
    fails_with(
        &rig,
        &["--profile", "mfa"],
        &["`mfa`", "mfa_serial", "IAM console"],
    );
    rig.write_config(
        "[profile mfa]\ncredential_process = aws-mfa-proc\nmfa_serial = alice's phone\n",
    );
    fails_with(&rig, &[], &["`mfa`", "mfa_serial", "arn:aws:iam::"]);
}

#[test]
fn an_unreadable_or_malformed_config_file_is_named() {
    let rig = Rig::without_keychain();
    // A directory where the file should be: unreadable even for root.
    std::fs::create_dir_all(rig.config_path()).unwrap();
    fails_with(
        &rig,
        &["--profile", "mfa"],
        &["profile `mfa`", "cannot read", "config"],
    );
    std::fs::remove_dir(rig.config_path()).unwrap();
    rig.write_config("[profile mfa\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\n");
    fails_with(&rig, &["--profile", "mfa"], &["profile `mfa`", "parse"]);
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
fn an_sdk_role_profile_given_to_aws_mfa_proc_points_at_the_profile_to_use() {
    let rig = Rig::without_keychain();
    rig.write_config(CONFIG);
    for command in [
        &["env", "--profile", "production"][..],
        &["--profile", "production"],
    ] {
        fails_with(
            &rig,
            command,
            &["`production`", "role profile", "--profile mfa"],
        );
    }
}

#[test]
fn a_report_read_by_a_closed_pipe_ends_quietly() {
    let rig = Rig::without_keychain();
    rig.write_config(CONFIG);
    let out = run(rig.command("bash").args([
        "-o",
        "pipefail",
        "-c",
        "aws-mfa-proc status | head -c 1 >/dev/null",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}
