//! `aws-mfa-proc exec`: a program run with the session in its environment and in a
//! private credentials file, for tools on the JS SDK v2 (Serverless v3) that cannot chain
//! a role from a credential_process.

use std::time::Instant;

use crate::rig::{Rig, Run};
use crate::support::*;
use crate::tools::*;

/// `aws-mfa-proc exec --profile mfa -- COMMAND…` with no terminal.
fn exec_detached(rig: &Rig, command: &[&str]) -> std::process::Output {
    let mut args = vec!["exec", "--profile", "mfa", "--"];
    args.extend(command);
    detached(rig, "aws-mfa-proc", &args)
}

/// A logged-in rig with the issue's config (plain SDK role profile `production`).
fn logged_in() -> Rig {
    let rig = Rig::new();
    configured(&rig);
    login(&rig, "123456");
    rig
}

const SERVERLESS_V3_SERVICE: &str = "\
service: seed-service
frameworkVersion: '3'
provider:
  name: aws
  runtime: nodejs18.x
  region: eu-west-1
  stage: dev
";

#[test]
fn serverless_v3_reads_a_plain_role_profile_under_exec_and_no_session_stays_on_disk() {
    let rig = logged_in();
    // The stack is in the role's account: create it through the role.
    let stack = detached(
        &rig,
        "aws",
        &[
            "cloudformation",
            "create-stack",
            "--profile",
            "production",
            "--stack-name",
            "seed-service-dev",
            "--template-body",
            r#"{"Resources":{"B":{"Type":"AWS::S3::Bucket"}}}"#,
        ],
    );
    assert!(stack.status.success(), "{}", text(&stack.stderr));
    let service = rig.dir().join("service");
    std::fs::create_dir_all(&service).unwrap();
    std::fs::write(service.join("serverless.yml"), SERVERLESS_V3_SERVICE).unwrap();

    let sls = serverless_v3(&rig);
    let mut cmd = rig.command("setsid");
    cmd.args(["aws-mfa-proc", "exec", "--profile", "mfa", "--"])
        .arg(&sls)
        .args(["info", "--aws-profile", "production"])
        .current_dir(&service)
        .env("SLS_TELEMETRY_DISABLED", "1")
        .env("SLS_NOTIFICATIONS_MODE", "off");
    let out = run(js_v2_against_moto(&rig, &mut cmd));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("seed-service-dev"), "{stdout}");

    let holding_the_session = files_containing(rig.dir(), MOTO_SESSION_SECRET);
    assert!(
        holding_the_session.is_empty(),
        "the session is in {holding_the_session:?}"
    );
    assert_no_exec_credentials_file(&rig);
}

#[test]
fn exec_without_a_terminal_or_a_session_fails_at_once_and_does_not_run_the_command() {
    let rig = Rig::new();
    configured(&rig);
    let witness = rig.dir().join("the-command-ran");
    let start = Instant::now();
    let out = exec_detached(&rig, &["touch", witness.to_str().unwrap()]);
    assert_failed_before_the_sts_deadline("exec without a terminal", start.elapsed());
    assert_failed_with(&Run::from(out), &["aws-mfa-proc login --profile mfa"]);
    assert!(!witness.exists(), "the command ran");
}

#[test]
fn exec_gives_the_command_the_session_and_a_private_credentials_file_of_the_mfa_profile() {
    let rig = logged_in();
    let script = r#"
        file=$AWS_SHARED_CREDENTIALS_FILE
        echo "exec-pid=$PPID"
        echo "file=$file"
        echo "mode=$(stat -c %a "$file")"
        echo "sections=$(grep '^\[' "$file")"
        echo "marker=$AWS_MFA_PROC_EXEC"
        echo "load-config=$AWS_SDK_LOAD_CONFIG"
        echo "identity=$(aws sts get-caller-identity --query Arn --output text)""#;
    let out = exec_detached(&rig, &["sh", "-c", script]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let value = |key: &str| {
        let prefix = format!("{key}=");
        let line = stdout.lines().find(|line| line.starts_with(&prefix));
        line.unwrap_or_else(|| panic!("no {key} in {stdout}"))[prefix.len()..].to_owned()
    };

    let file = runtime_dir(&rig).join(format!("exec-{}.credentials", value("exec-pid")));
    assert_eq!(value("file"), file.to_str().unwrap());
    assert_eq!(value("mode"), "600");
    assert_eq!(value("sections"), "[mfa]");
    assert_eq!(value("marker"), "mfa");
    assert_eq!(value("load-config"), "1");
    assert!(value("identity").starts_with("arn:aws:"), "{stdout}");
    assert!(!file.exists(), "{} is left behind", file.display());
}

#[test]
fn exec_passes_on_the_command_s_exit_code_and_128_plus_the_signal_that_killed_it() {
    let rig = logged_in();
    let exited = exec_detached(&rig, &["sh", "-c", "exit 7"]);
    assert_eq!(exited.status.code(), Some(7), "{}", text(&exited.stderr));
    let killed = exec_detached(&rig, &["sh", "-c", "kill -TERM $$"]);
    assert_eq!(
        killed.status.code(),
        Some(128 + 15),
        "{}",
        text(&killed.stderr)
    );
}

#[test]
fn exec_inside_exec_is_refused() {
    let rig = logged_in();
    let witness = rig.dir().join("the-inner-command-ran");
    let inner = ["aws-mfa-proc", "exec", "--profile", "mfa", "--", "touch"];
    let out = exec_detached(&rig, &[&inner[..], &[witness.to_str().unwrap()]].concat());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(the_message(&stderr).contains("already inside"), "{stderr}");
    assert!(!witness.exists(), "the inner command ran");
}

#[test]
fn a_credentials_file_left_by_a_killed_exec_is_removed_by_the_next_exec() {
    let rig = logged_in();
    let mut killed = rig.pty(
        "aws-mfa-proc",
        &[
            "exec",
            "--profile",
            "mfa",
            "--",
            "sh",
            "-c",
            "echo started; exec sleep 60",
        ],
    );
    killed.expect("started");
    assert_eq!(exec_credentials_files(&rig).len(), 1);
    killed.kill();
    let left = exec_credentials_files(&rig);
    assert_eq!(
        left.len(),
        1,
        "a SIGKILLed exec cannot remove its file: {left:?}"
    );

    let next = exec_detached(&rig, &["true"]);
    assert!(next.status.success(), "{}", text(&next.stderr));
    assert_no_exec_credentials_file(&rig);
}

#[test]
fn exec_with_a_built_in_role_exports_the_role_and_files_the_mfa_session() {
    let rig = Rig::new();
    configured_with_built_in_role(&rig);
    login(&rig, "123456");
    let script = r#"
        echo "env=$AWS_ACCESS_KEY_ID"
        echo "file=$(sed -n 's/^aws_access_key_id = //p' "$AWS_SHARED_CREDENTIALS_FILE")"
        echo "sections=$(grep '^\[' "$AWS_SHARED_CREDENTIALS_FILE")""#;
    let out = detached(
        &rig,
        "aws-mfa-proc",
        &["exec", "--profile", "production", "--", "sh", "-c", script],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let session = detached(&rig, "aws-mfa-proc", &["--profile", "mfa"]);
    let session: serde_json::Value = serde_json::from_slice(&session.stdout).unwrap();
    let role = detached(&rig, "aws-mfa-proc", &["--profile", "production"]);
    let role: serde_json::Value = serde_json::from_slice(&role.stdout).unwrap();
    assert!(
        stdout.contains(&format!("env={}", role["AccessKeyId"].as_str().unwrap())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "file={}",
            session["AccessKeyId"].as_str().unwrap()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("sections=[mfa]"), "{stdout}");
}
