//! AWS Sign-In sessions (issue #19), steps 2 and 3: aws-mfa-proc against the stand-in
//! Sign-In service (proven against botocore in signin.rs) and moto for STS.
//!
//! - Same-device: `login signin` opens the stand-in browser (`BROWSER`, which forks and
//!   returns at once, as real browser commands do), which follows the sign-in to the
//!   loopback callback; the SDKs then get the sign-in profile and a role chained from
//!   it with no prompt.
//! - Cross-device: `login signin --remote` prints the URL on the terminal and reads the
//!   code the page shows from the terminal.
//! - 16 callers across a refresh make exactly one `refresh_token` grant.
//! - The session ends (`TOKEN_EXPIRED`, `USER_CREDENTIALS_CHANGED`): with neither
//!   terminal nor browser the call fails at once naming `aws-mfa-proc login signin`; at
//!   a desktop one caller opens the browser and the others wait for it; at a terminal
//!   it signs in again there.
//! - Nothing the run leaves (files, outputs, screens) holds the refresh token or the key.

use std::time::Instant;

use serde_json::Value;

use crate::rig::Rig;
use crate::signin_standin::{self as standin, SignIn, TokenCall};
use crate::support::*;

const CONFIG: &str = "\
[profile signin]
credential_process = aws-mfa-proc --profile signin
aws_mfa_proc_source = sign-in
region = eu-west-1

[profile production]
role_arn = arn:aws:iam::222222222222:role/Role-Name-To-Assume
source_profile = signin
region = eu-west-1
";

/// What must never show up anywhere: the refresh tokens and the DPoP key.
const NEVER_SHOWN: [&str; 2] = [standin::REFRESH_PREFIX, "PRIVATE KEY"];

pub(crate) struct World {
    pub rig: Rig,
    pub signin: SignIn,
}

/// A rig with the sign-in config, the stand-in on `AWS_ENDPOINT_URL_SIGNIN` and a
/// stand-in browser on `BROWSER`; not signed in yet.
pub(crate) fn world() -> World {
    world_with(CONFIG)
}

/// [`world`] with `config` as ~/.aws/config.
pub(crate) fn world_with(config: &str) -> World {
    let signin = SignIn::start();
    let mut rig = Rig::new();
    rig.write_config(config);
    rig.set_env("AWS_ENDPOINT_URL_SIGNIN", signin.url());
    let browser = rig.dir().join("browser");
    // Fetches in the background, following the redirect to the callback, and returns.
    std::fs::write(
        &browser,
        "#!/bin/sh\n( /usr/bin/curl -sfL --max-time 30 -o /dev/null \"$1\" & )\nexit 0\n",
    )
    .unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&browser, executable).unwrap();
    rig.set_env("BROWSER", browser.to_str().unwrap());
    World { rig, signin }
}

/// [`world`], signed in with `login signin` (same-device); returns the screen.
pub(crate) fn signed_in(world: &World) -> String {
    let mut pty = world.rig.pty("aws-mfa-proc", &["login", "signin"]);
    pty.expect("cached until");
    let (status, screen) = pty.wait();
    assert!(status.success(), "{screen}");
    screen
}

/// The credential_process document `aws-mfa-proc --profile signin` prints with no
/// terminal; the run must succeed.
fn served(rig: &Rig) -> Value {
    let out = detached(rig, "aws-mfa-proc", &["--profile", "signin"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_str(&text(&out.stdout)).unwrap()
}

fn grants(signin: &SignIn) -> Vec<String> {
    signin.token_calls().into_iter().map(|c| c.grant).collect()
}

/// No file of the run, and none of `shown`, holds the refresh token or the key.
pub(crate) fn assert_nothing_leaked(rig: &Rig, shown: &[&str]) {
    for needle in NEVER_SHOWN {
        for dir in [rig.dir(), rig.stdout_dir()] {
            let found = files_containing(dir, needle);
            assert!(found.is_empty(), "{needle} in {found:?}");
        }
        for text in shown {
            assert!(!text.contains(needle), "{needle} shown: {text}");
        }
    }
}

#[test]
fn same_device_login_then_every_caller_gets_the_profile_and_its_role_with_no_prompt() {
    let w = world();
    let screen = signed_in(&w);
    assert!(
        screen.contains("sign in to AWS for profile `signin` in the browser"),
        "{screen}"
    );
    assert_eq!(
        w.signin.token_calls(),
        [TokenCall {
            grant: "authorization_code".into(),
            outcome: Ok("ASIASIGNIN0000000001".into())
        }]
    );
    let doc = served(&w.rig);
    assert_eq!(doc["AccessKeyId"], "ASIASIGNIN0000000001", "{doc}");
    assert!(
        doc["SecretAccessKey"]
            .as_str()
            .unwrap()
            .starts_with(standin::SECRET_PREFIX)
    );
    // The AWS CLI chains the role from it (AssumeRole at moto), with no prompt.
    let out = detached(
        &w.rig,
        "aws",
        &["sts", "get-caller-identity", "--profile", "production"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("assumed-role/Role-Name-To-Assume"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(grants(&w.signin).len(), 1, "no other token call");
    let status = run(w.rig.command("aws-mfa-proc").args(["status", "signin"]));
    assert!(
        text(&status.stdout).contains(&format!("signed in as {}", standin::PERSON)),
        "{}",
        text(&status.stdout)
    );
    assert_nothing_leaked(&w.rig, &[&screen, &text(&out.stderr)]);
}

#[test]
fn remote_login_prints_the_url_and_reads_the_pages_code_from_the_terminal() {
    let mut w = world();
    // No browser at all: the cross-device flow needs none.
    w.rig.set_env("BROWSER", "");
    let mut pty = w.rig.pty("aws-mfa-proc", &["login", "signin", "--remote"]);
    let shown = pty.expect("Code from the browser: ");
    let url = shown
        .split_whitespace()
        .find(|word| word.contains("/v1/authorize?"))
        .unwrap_or_else(|| panic!("no URL on the terminal: {shown}"));
    assert!(url.contains("devtools%2Fcross-device"), "{url}");
    let page = run(std::process::Command::new("/usr/bin/curl").args(["-sf", url]));
    let page = text(&page.stdout);
    let code = page
        .split(standin::CODE_OPEN)
        .nth(1)
        .and_then(|rest| rest.split(standin::CODE_CLOSE).next())
        .unwrap_or_else(|| panic!("no code on the page: {page}"));
    pty.send_line(code);
    pty.expect("cached until");
    let (status, screen) = pty.wait();
    assert!(status.success(), "{screen}");
    assert_eq!(grants(&w.signin), ["authorization_code"]);
    assert_eq!(served(&w.rig)["AccessKeyId"], "ASIASIGNIN0000000001");
    assert_nothing_leaked(&w.rig, &[&screen]);
}

#[test]
fn sixteen_parallel_callers_across_a_refresh_make_one_refresh_grant() {
    let w = world();
    // The sign-in's credentials come with less than the 5-minute margin left: every
    // caller finds them stale and must refresh.
    w.signin.expire_next_in(299);
    signed_in(&w);
    let (runs, screen) = w
        .rig
        .pty_crowd(16, "aws-mfa-proc", &["--profile", "signin"])
        .wait_crowd();
    let keys: Vec<String> = runs
        .iter()
        .map(|r| {
            assert!(r.status.success(), "{}", r.stderr);
            let doc: Value = serde_json::from_str(&r.stdout).unwrap();
            doc["AccessKeyId"].as_str().unwrap().to_string()
        })
        .collect();
    eprintln!(
        "refresh grants under 16 parallel callers: {}",
        w.signin.refreshes()
    );
    assert_eq!(w.signin.refreshes(), 1, "{:?}", w.signin.token_calls());
    assert!(keys.iter().all(|k| k == "ASIASIGNIN0000000002"), "{keys:?}");
    let stderr: Vec<&str> = runs.iter().map(|r| r.stderr.as_str()).collect();
    assert_nothing_leaked(&w.rig, &[&screen, &stderr.join("\n")]);
}

#[test]
fn an_ended_session_with_neither_terminal_nor_browser_fails_at_once_naming_login() {
    let mut w = world();
    w.signin.expire_next_in(299);
    signed_in(&w);
    w.signin.fail_next_with("TOKEN_EXPIRED");
    w.rig.set_env("BROWSER", "");
    let started = Instant::now();
    let out = detached(&w.rig, "aws-mfa-proc", &["--profile", "signin"]);
    assert_failed_before_the_sts_deadline("an ended sign-in", started.elapsed());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let message = the_message(&stderr);
    assert!(message.contains("has ended"), "{stderr}");
    assert!(message.contains("aws-mfa-proc login signin"), "{stderr}");
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn an_ended_session_at_a_desktop_opens_the_browser_once_while_the_other_callers_wait() {
    let w = world();
    w.signin.expire_next_in(299);
    signed_in(&w);
    w.signin.fail_next_with("TOKEN_EXPIRED");
    // Four callers with no terminal, at once: one signs in again, the others wait for it.
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = w.rig.command("setsid");
            cmd.args(["aws-mfa-proc", "--profile", "signin"]);
            std::thread::spawn(move || run(&mut cmd))
        })
        .collect();
    let keys: Vec<String> = callers
        .into_iter()
        .map(|caller| {
            let out = caller.join().unwrap();
            assert!(out.status.success(), "{}", text(&out.stderr));
            let doc: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
            doc["AccessKeyId"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        grants(&w.signin),
        ["authorization_code", "refresh_token", "authorization_code"],
        "one refresh found the session ended, one sign-in followed"
    );
    assert!(keys.iter().all(|k| k == "ASIASIGNIN0000000002"), "{keys:?}");
}

#[test]
fn an_ended_session_at_a_terminal_signs_in_again_there() {
    let w = world();
    w.signin.expire_next_in(299);
    signed_in(&w);
    w.signin.fail_next_with("USER_CREDENTIALS_CHANGED");
    let mut pty = w.rig.pty_captured("aws-mfa-proc", &["--profile", "signin"]);
    pty.expect("password or credentials changed");
    pty.expect("signing in again");
    let (run, screen) = pty.wait_captured();
    assert!(run.status.success(), "{screen}\n{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["AccessKeyId"], "ASIASIGNIN0000000002", "{doc}");
    assert_nothing_leaked(&w.rig, &[&screen, &run.stderr]);
}

#[test]
fn logout_forgets_the_sign_in_and_its_credentials() {
    let mut w = world();
    signed_in(&w);
    served(&w.rig);
    let out = run(w.rig.command("aws-mfa-proc").args(["logout", "signin"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Signed `signin` out"),
        "{}",
        text(&out.stdout)
    );
    w.rig.set_env("BROWSER", "");
    let out = detached(&w.rig, "aws-mfa-proc", &["--profile", "signin"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(
        the_message(&text(&out.stderr)).contains("is not signed in"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(grants(&w.signin), ["authorization_code"]);
}
