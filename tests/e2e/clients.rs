//! One code serves every real client: the AWS CLI, boto3, the JS SDK v3 and osls.
//! Afterwards no secret sits in any file or in the most verbose stderr.

use crate::rig::Rig;
use crate::support::*;

const BOTO3: &str = "\
import boto3
print(boto3.Session(profile_name='production').client('sts').get_caller_identity()['Arn'])
";

const JS_V3: &str = "\
const { fromIni } = require('@aws-sdk/credential-providers');
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
const client = new STSClient({ region: 'eu-west-1', credentials: fromIni({ profile: 'production' }) });
client.send(new GetCallerIdentityCommand({})).then(r => console.log(r.Arn), e => { console.error(e); process.exit(1); });
";

#[test]
fn one_code_serves_the_cli_boto3_js_v3_and_osls() {
    let rig = Rig::new();
    configured(&rig);
    // 1. The AWS CLI asks once, on the terminal, and gets the role.
    let mut pty = rig.pty(
        "aws",
        &["sts", "get-caller-identity", "--profile", "production"],
    );
    pty.expect(PROMPT);
    pty.send_line("123456");
    pty.expect("assumed-role/Role-Name-To-Assume");
    let (status, _) = pty.wait();
    assert!(status.success());

    // From here on there is no terminal at all: any prompt would fail the call.
    // Fixtures in the role's account: a bucket, and a stack for `sls info`.
    let production = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--profile", "production"]);
        let out = detached(&rig, "aws", &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    };
    production(&["s3", "mb", "s3://seed-bucket"]);
    production(&[
        "cloudformation",
        "create-stack",
        "--stack-name",
        "seed-service-dev",
        "--template-body",
        r#"{"Resources":{"B":{"Type":"AWS::S3::Bucket"}}}"#,
    ]);
    let cli = detached(&rig, "aws", &["s3", "ls", "--profile", "production"]);
    assert!(cli.status.success(), "{}", text(&cli.stderr));
    assert!(text(&cli.stdout).contains("seed-bucket"));

    // 2. boto3.
    let script = rig.dir().join("boto3_check.py");
    std::fs::write(&script, BOTO3).unwrap();
    let python = rig.python();
    let boto3 = detached(&rig, python.to_str().unwrap(), &[script.to_str().unwrap()]);
    assert!(boto3.status.success(), "{}", text(&boto3.stderr));
    assert!(text(&boto3.stdout).contains("assumed-role/Role-Name-To-Assume"));

    // 3. The JS SDK v3.
    let script = rig.dir().join("js_v3_check.js");
    std::fs::write(&script, JS_V3).unwrap();
    let node_path = rig.node_dir().join("node_modules");
    let js = run(rig
        .command("setsid")
        .args(["node", script.to_str().unwrap()])
        .env("NODE_PATH", &node_path));
    assert!(js.status.success(), "{}", text(&js.stderr));
    assert!(text(&js.stdout).contains("assumed-role/Role-Name-To-Assume"));

    // 4. osls (`sls`), on the JS SDK v3.
    let service = rig.dir().join("service");
    std::fs::create_dir_all(&service).unwrap();
    std::fs::write(
        service.join("serverless.yml"),
        "service: seed-service\nframeworkVersion: '4'\nprovider:\n  name: aws\n  runtime: nodejs20.x\n  region: eu-west-1\n  stage: dev\n",
    )
    .unwrap();
    let sls = run(rig
        .command("setsid")
        .args(["sls", "info", "--aws-profile", "production"])
        .current_dir(&service)
        .env("SLS_TELEMETRY_DISABLED", "1")
        .env("SLS_NOTIFICATIONS_MODE", "off"));
    assert!(
        sls.status.success(),
        "{}\n{}",
        text(&sls.stdout),
        text(&sls.stderr)
    );
    assert!(
        text(&sls.stdout).contains("seed-service"),
        "{}",
        text(&sls.stdout)
    );

    // 5. Nothing secret on disk, and nothing in stderr at the most verbose level.
    let verbose = detached(&rig, "aws-mfa-proc", &["-vv", "--profile", "mfa"]);
    assert!(verbose.status.success(), "{}", text(&verbose.stderr));
    let stdout = text(&verbose.stdout);
    assert!(
        stdout.contains(MOTO_SESSION_SECRET),
        "the helper did emit the session"
    );
    let stderr = text(&verbose.stderr);
    assert!(
        stderr.contains("cache hit"),
        "verbose logging is on: {stderr}"
    );
    for secret in [
        LONG_TERM_SECRET,
        MOTO_SESSION_SECRET,
        MOTO_SESSION_TOKEN_START,
    ] {
        assert!(!stderr.contains(secret), "stderr leaks a secret: {stderr}");
        let leaks = files_containing(rig.dir(), secret);
        assert!(leaks.is_empty(), "plaintext secret in {leaks:?}");
    }
}
