//! Roles that aws-mfa-proc assumes itself (`aws_mfa_proc_role_arn`) are cached in the
//! keychain and renewed from the one MFA session without a prompt.

use crate::rig::Rig;
use crate::support::*;
use crate::tools::*;

const CALLER_IDENTITY: [&str; 4] = ["sts", "get-caller-identity", "--profile", "production"];
const ROLE_IDENTITY: &str = "assumed-role/Admin/";

#[test]
fn five_aws_cli_runs_on_a_built_in_role_make_one_get_session_token_and_one_assume_role() {
    let rig = Rig::new();
    configured_with_built_in_role(&rig);
    rig.moto_start_recording();

    let mut pty = rig.pty("aws", &CALLER_IDENTITY);
    pty.expect(PROMPT);
    pty.send_line("123456");
    pty.expect(ROLE_IDENTITY);
    assert!(pty.wait().0.success());
    for _ in 0..4 {
        let out = detached(&rig, "aws", &CALLER_IDENTITY);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(stdout.contains(ROLE_IDENTITY), "{stdout}");
    }

    let recorded = rig.moto_recorded_requests();
    forget_moto_recording(&rig);
    assert_eq!(calls_to(&recorded, "GetSessionToken"), 1, "{recorded}");
    assert_eq!(calls_to(&recorded, "AssumeRole"), 1, "{recorded}");
    assert_eq!(calls_to(&recorded, "GetCallerIdentity"), 5, "{recorded}");
}

#[test]
fn a_built_in_role_longer_than_an_hour_is_refused_because_of_role_chaining() {
    let rig = Rig::new();
    configured_with_built_in_role(&rig);
    rig.write_config(&format!(
        "{BUILT_IN_ROLE_CONFIG}aws_mfa_proc_role_duration = 7200\n"
    ));

    let out = detached(&rig, "aws-mfa-proc", &["--profile", "production"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    let message = the_message(&stderr);
    for needle in ["production", "role chaining", "3600"] {
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
    }
}

/// JS SDK v2 runs a profile's credential_process itself (it cannot chain a role from
/// one, which a built-in role does not need).
const JS_V2: &str = "\
const AWS = require('aws-sdk');
new AWS.STS().getCallerIdentity({}, (err, data) => {
  if (err) { console.error(err); process.exit(1); }
  console.log(data.Arn);
});
";

#[test]
fn js_sdk_v2_gets_the_role_through_a_built_in_role_profile() {
    let rig = Rig::new();
    configured_with_built_in_role(&rig);
    login(&rig, "123456");

    let script = rig.dir().join("js_v2_check.js");
    std::fs::write(&script, JS_V2).unwrap();
    let mut cmd = rig.command("setsid");
    cmd.arg("node")
        .arg(&script)
        .env("AWS_PROFILE", "production");
    let out = run(js_v2_against_moto(&rig, &mut cmd));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains(ROLE_IDENTITY), "{stdout}");
}

#[test]
fn logout_of_the_mfa_profile_also_forgets_the_roles_assumed_with_it() {
    let rig = Rig::new();
    configured_with_built_in_role(&rig);
    login(&rig, "123456");
    let role = detached(&rig, "aws-mfa-proc", &["--profile", "production"]);
    assert!(role.status.success(), "{}", text(&role.stderr));
    let out = detached(&rig, "aws-mfa-proc", &["logout", "--profile", "mfa"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = detached(&rig, "aws-mfa-proc", &["--profile", "production"]);
    assert!(!after.status.success(), "the role outlived logout");
    assert!(after.stdout.is_empty());
    assert!(
        text(&after.stderr).contains("aws-mfa-proc login"),
        "{}",
        text(&after.stderr)
    );
}
