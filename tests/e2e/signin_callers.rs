//! AWS Sign-In sessions (issue #19), step 3: after one same-device login, real callers
//! get the role that chains from the sign-in profile with no terminal and no prompt:
//! boto3, the JS SDK v3, the Go SDK v2 (Terraform's), rclone (Go v1), Ruby, Rust, and
//! Serverless 3 (JS v2) under `exec`. Not one more token call is made for them, and
//! nothing of the sign-in leaks into a file or stderr, even at the most verbose level.

use std::path::Path;

use crate::sdks::{
    ROLE, installed, object_put_through_production, production_caller, rust_sdk_check,
};
use crate::signin_flows::{assert_nothing_leaked, signed_in, world};
use crate::support::*;
use crate::tools;

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
fn every_sdk_gets_the_role_from_a_sign_in_profile_with_no_prompt() {
    let w = world();
    signed_in(&w);
    let rig = &w.rig;
    let mut stderrs = Vec::new();

    // boto3.
    let script = rig.dir().join("boto3_check.py");
    std::fs::write(&script, BOTO3).unwrap();
    let python = rig.python();
    let arn = production_caller(rig, python.to_str().unwrap(), &[script.to_str().unwrap()]);
    assert!(arn.contains(ROLE), "boto3: {arn}");

    // The JS SDK v3.
    let script = rig.dir().join("js_v3_check.js");
    std::fs::write(&script, JS_V3).unwrap();
    let js = run(rig
        .command("setsid")
        .args(["node", script.to_str().unwrap()])
        .env("NODE_PATH", rig.node_dir().join("node_modules")));
    assert!(js.status.success(), "{}", text(&js.stderr));
    assert!(
        text(&js.stdout).contains(ROLE),
        "JS v3: {}",
        text(&js.stdout)
    );
    stderrs.push(text(&js.stderr));

    // The Go SDK v2 (Terraform's AWS provider).
    let go = installed(&rig.deps_bin().join("sdk-go-v2-check"));
    let arn = production_caller(rig, go.to_str().unwrap(), &[]);
    assert!(arn.contains(ROLE), "Go v2: {arn}");

    // rclone (the Go SDK v1).
    let rclone = installed(Path::new("/usr/bin/rclone"));
    object_put_through_production(rig, "signin-bucket", "dir/f.txt");
    let listing = run(rig
        .command("setsid")
        .arg(&rclone)
        .args([
            "lsf",
            "-R",
            "x:signin-bucket",
            "--s3-endpoint",
            &rig.moto_url(),
        ])
        .env("AWS_PROFILE", "production")
        .env("RCLONE_CONFIG", "/dev/null")
        .env("RCLONE_CONFIG_X_TYPE", "s3")
        .env("RCLONE_CONFIG_X_PROVIDER", "Other")
        .env("RCLONE_CONFIG_X_ENV_AUTH", "true"));
    assert!(
        listing.status.success(),
        "rclone: {}",
        text(&listing.stderr)
    );
    assert!(
        text(&listing.stdout).lines().any(|key| key == "dir/f.txt"),
        "rclone: {}",
        text(&listing.stdout)
    );

    // Ruby.
    let ruby = installed(Path::new("/usr/bin/ruby"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ruby/sdk-ruby-check.rb");
    let arn = production_caller(rig, ruby.to_str().unwrap(), &[script.to_str().unwrap()]);
    assert!(arn.contains(ROLE), "Ruby: {arn}");

    // Rust.
    let example = rust_sdk_check();
    let arn = production_caller(rig, example.to_str().unwrap(), &[]);
    assert!(arn.contains(ROLE), "Rust: {arn}");

    // Serverless 3 (JS v2, which cannot chain) under exec of the sign-in profile.
    let stack = detached(
        rig,
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
    let sls = tools::serverless_v3(rig);
    let mut cmd = rig.command("setsid");
    cmd.args(["aws-mfa-proc", "exec", "--profile", "signin", "--"])
        .arg(&sls)
        .args(["info", "--aws-profile", "production"])
        .current_dir(&service)
        .env("SLS_TELEMETRY_DISABLED", "1")
        .env("SLS_NOTIFICATIONS_MODE", "off");
    let out = run(tools::js_v2_against_moto(rig, &mut cmd));
    assert!(
        out.status.success(),
        "sls: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("seed-service-dev"),
        "{}",
        text(&out.stdout)
    );

    // One sign-in served them all: no refresh was needed, and no prompt came.
    assert_eq!(
        w.signin.token_calls().len(),
        1,
        "{:?}",
        w.signin.token_calls()
    );
    let verbose = detached(rig, "aws-mfa-proc", &["-vv", "--profile", "signin"]);
    assert!(verbose.status.success(), "{}", text(&verbose.stderr));
    stderrs.push(text(&verbose.stderr));
    let stderrs: Vec<&str> = stderrs.iter().map(String::as_str).collect();
    assert_nothing_leaked(rig, &stderrs);
}
