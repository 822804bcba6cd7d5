//! One login serves the Go v2 (Terraform's), Go v1 (rclone), Ruby and Rust SDKs, no terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::rig::Rig;
use crate::support::*;
use crate::tools;

/// What the caller identity of `production`'s role contains.
const ROLE: &str = "assumed-role/Role-Name-To-Assume";
/// The account of `production`'s role.
const ROLE_ACCOUNT: u64 = 222_222_222_222;

#[test]
fn go_sdk_v2_terraforms_sdk_gets_the_role_with_no_prompt_after_one_login() {
    let rig = logged_in();
    // It retries a response whose connection Go closed under it, as the current SDK does
    // (see tests/go/sdk-go-v2-check/main.go).
    let go = installed(&rig.deps_bin().join("sdk-go-v2-check"));
    let arn = production_caller(&rig, go.to_str().unwrap(), &[]);
    assert!(arn.contains(ROLE), "{arn}");
    assert_one_get_session_token(&rig);
}

#[test]
fn go_sdk_v1_rclone_gets_the_role_with_no_prompt_after_one_login() {
    let rig = logged_in();
    let rclone = installed(Path::new("/usr/bin/rclone"));
    object_put_through_production(&rig, "sdk-bucket", "dir/f.txt");
    let mut cmd = detached_with_profile(&rig, "production", rclone.to_str().unwrap());
    // A remote from the environment alone (tests/rclone/README.md); the rig's environment
    // has no AWS_CA_BUNDLE, which rclone cannot take.
    cmd.args([
        "lsf",
        "-R",
        "x:sdk-bucket",
        "--s3-endpoint",
        &rig.moto_url(),
    ])
    .env("RCLONE_CONFIG", "/dev/null")
    .env("RCLONE_CONFIG_X_TYPE", "s3")
    .env("RCLONE_CONFIG_X_PROVIDER", "Other")
    .env("RCLONE_CONFIG_X_ENV_AUTH", "true");
    let listing = succeeded_without_prompt(run(&mut cmd));
    assert!(listing.lines().any(|key| key == "dir/f.txt"), "{listing}");
    let recorded = assert_one_get_session_token(&rig);
    // rclone prints no ARN, but its listing was signed with a key of the role's account
    // (the MFA session's key is moto's fixed one, of another account). moto itself would
    // list the bucket for any account.
    let key = signing_key(&recorded, "GET ", "/sdk-bucket?");
    assert_eq!(account_of(key), ROLE_ACCOUNT, "{key} signed the listing");
}

#[test]
fn ruby_sdk_gets_the_role_with_no_prompt_after_one_login() {
    let rig = logged_in();
    let ruby = installed(Path::new("/usr/bin/ruby"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ruby/sdk-ruby-check.rb");
    // This SDK version runs the credential_process twice per process: the second is a
    // cache hit.
    let arn = production_caller(&rig, ruby.to_str().unwrap(), &[script.to_str().unwrap()]);
    assert!(arn.contains(ROLE), "{arn}");
    assert_one_get_session_token(&rig);
}

#[test]
fn rust_sdk_gets_the_role_with_no_prompt_after_one_login() {
    let rig = logged_in();
    let example = rust_sdk_check();
    // aws-config sends the chain's AssumeRole to AWS_ENDPOINT_URL too: moto's role ARN
    // proves it.
    let arn = production_caller(&rig, example.to_str().unwrap(), &[]);
    assert!(arn.contains(ROLE), "{arn}");
    assert_one_get_session_token(&rig);
}

/// The config and stored keys, moto recording, and one login at the terminal
/// with code `123456`.
fn logged_in() -> Rig {
    let rig = Rig::new();
    configured(&rig);
    rig.moto_start_recording();
    login(&rig, "123456");
    rig
}

/// `program` with no terminal (as [`detached`]) and `AWS_PROFILE=profile`.
fn detached_with_profile(rig: &Rig, profile: &str, program: &str) -> Command {
    let mut cmd = rig.command("setsid");
    cmd.arg(program).env("AWS_PROFILE", profile);
    cmd
}

/// Runs `program args…` as `production`'s caller with no terminal; it must succeed with
/// no prompt. Returns its stdout.
fn production_caller(rig: &Rig, program: &str, args: &[&str]) -> String {
    let mut cmd = detached_with_profile(rig, "production", program);
    cmd.args(args);
    succeeded_without_prompt(run(&mut cmd))
}

/// The stdout of a run that succeeded and never showed the prompt.
fn succeeded_without_prompt(out: std::process::Output) -> String {
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{}\n{stderr}", text(&out.stdout));
    assert_eq!(prompts_on(&stderr), 0, "{stderr}");
    text(&out.stdout)
}

/// A bucket made with the AWS CLI through `production`, holding one object at `key`.
fn object_put_through_production(rig: &Rig, bucket: &str, key: &str) {
    let file = rig.dir().join("object.txt");
    std::fs::write(&file, "in the role's account\n").unwrap();
    let production = |args: &[&str]| {
        let out = detached(rig, "aws", &[args, &["--profile", "production"]].concat());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    };
    production(&["s3", "mb", &format!("s3://{bucket}")]);
    production(&[
        "s3",
        "cp",
        file.to_str().unwrap(),
        &format!("s3://{bucket}/{key}"),
    ]);
}

/// Exactly one GetSessionToken reached moto since [`logged_in`]: the login's, and the
/// role chain's AssumeRole reached moto too (AWS_ENDPOINT_URL or the caller's own
/// endpoint setting). Forgets the recording, which holds session tokens; returns it.
fn assert_one_get_session_token(rig: &Rig) -> String {
    let recorded = rig.moto_recorded_requests();
    tools::forget_moto_recording(rig);
    assert_eq!(
        tools::calls_to(&recorded, "GetSessionToken"),
        1,
        "{recorded}"
    );
    assert!(tools::calls_to(&recorded, "AssumeRole") > 0, "{recorded}");
    eprintln!("DEBUG\n{recorded}");
    recorded
}

/// The access key ID that signed the one recorded request starting with `method` whose
/// URL contains `path`.
pub fn signing_key<'r>(recorded: &'r str, method: &str, path: &str) -> &'r str {
    let lines: Vec<&str> = recorded
        .lines()
        .filter(|line| line.starts_with(method) && line.contains(path))
        .collect();
    let [line] = lines[..] else {
        panic!("expected one {method}…{path} request:\n{recorded}");
    };
    let key = line
        .split(" key=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next());
    key.unwrap_or_else(|| panic!("no key in {line:?}"))
}

/// The account an access key ID belongs to, decoded as AWS encodes it (and moto does
/// for the keys it issues): the 48 bits after the 4-letter prefix, base32, bits 7 to 46.
pub fn account_of(key: &str) -> u64 {
    let bits = key.bytes().skip(4).take(10).fold(0u64, |acc, c| {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("{key} is not an access key ID"),
        };
        acc << 5 | u64::from(value)
    });
    ((bits >> 2) & 0x7fff_ffff_ff80) >> 7
}

/// `path`, which scripts/install-test-deps.sh installs.
pub fn installed(path: &Path) -> PathBuf {
    assert!(
        path.exists(),
        "{} missing: run scripts/install-test-deps.sh",
        path.display()
    );
    path.to_owned()
}

/// examples/rust_sdk_check, built now by cargo (a no-op when it is up to date):
/// `cargo test --test e2e` alone builds no examples, and `CARGO_BIN_EXE_*` names only
/// binaries. Cargo reports where the executable is (also under CARGO_TARGET_DIR).
pub fn rust_sdk_check() -> PathBuf {
    // The profile of this build, roughly: no second build of every dependency.
    let profile = if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    };
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--example",
            "rust_sdk_check",
            "--profile",
            profile,
        ])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo");
    assert!(out.status.success(), "cargo build --example rust_sdk_check");
    text(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|message| {
            message["reason"] == "compiler-artifact"
                && message["target"]["name"] == "rust_sdk_check"
        })
        .and_then(|artifact| artifact["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the example's executable")
}
