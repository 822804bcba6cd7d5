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

#[test]
fn exec_and_env_assume_a_plain_sdk_role_profile_themselves() {
    let rig = Rig::new();
    configured(&rig);
    login(&rig, "123456");
    // The aws-vault habit: the profile as the first word, the command after `--`.
    let inside = detached(
        &rig,
        "aws-mfa-proc",
        &[
            "exec",
            "production",
            "--",
            "aws",
            "sts",
            "get-caller-identity",
            "--query",
            "Arn",
            "--output",
            "text",
        ],
    );
    assert!(inside.status.success(), "{}", text(&inside.stderr));
    assert!(
        text(&inside.stdout).contains("assumed-role/Role-Name-To-Assume/"),
        "{}",
        text(&inside.stdout)
    );

    let env = detached(
        &rig,
        "aws-mfa-proc",
        &["env", "--profile", "production", "--format", "json"],
    );
    assert!(env.status.success(), "{}", text(&env.stderr));
    let role: serde_json::Value = serde_json::from_slice(&env.stdout).unwrap();
    let session = detached(&rig, "aws-mfa-proc", &["--profile", "mfa"]);
    let session: serde_json::Value = serde_json::from_slice(&session.stdout).unwrap();
    assert_ne!(
        role["AWS_ACCESS_KEY_ID"], session["AccessKeyId"],
        "env gave the MFA session, not the role"
    );
}

#[test]
fn every_role_setting_reaches_the_assume_role_request() {
    let (rig, sts) = with_standin();
    rig.write_config(&format!(
        "{CONFIG}
[profile tagged]
credential_process = aws-mfa-proc --profile tagged
aws_mfa_proc_role_arn = arn:aws:iam::222222222222:role/Admin
aws_mfa_proc_mfa_profile = mfa
external_id = ext-123
role_session_name = alice-session
duration_seconds = 1800
source_identity = alice
aws_mfa_proc_session_tags = team=platform, cost-center=42
aws_mfa_proc_transitive_tag_keys = team
"
    ));
    login(&rig, "123456");
    for profile in ["tagged", "production"] {
        let out = detached(&rig, "aws-mfa-proc", &["--profile", profile]);
        assert!(out.status.success(), "{profile}: {}", text(&out.stderr));
    }
    let requests = sts.assume_role_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    for expected in [
        "RoleArn=arn:aws:iam::222222222222:role/Admin",
        "ExternalId=ext-123",
        "RoleSessionName=alice-session",
        "DurationSeconds=1800",
        "SourceIdentity=alice",
        "Tags.member.1.Key=team",
        "Tags.member.1.Value=platform",
        "Tags.member.2.Key=cost-center",
        "Tags.member.2.Value=42",
        "TransitiveTagKeys.member.1=team",
    ] {
        assert!(
            requests[0].split('&').any(|f| f == expected),
            "{expected} not in {}",
            requests[0]
        );
    }
    // A plain SDK role profile: the defaults.
    for expected in [
        "RoleArn=arn:aws:iam::222222222222:role/Role-Name-To-Assume",
        "RoleSessionName=aws-mfa-proc",
        "DurationSeconds=3600",
    ] {
        assert!(
            requests[1].split('&').any(|f| f == expected),
            "{expected} not in {}",
            requests[1]
        );
    }
    assert_eq!(sts.codes(), ["123456"], "one code for both roles");
}
