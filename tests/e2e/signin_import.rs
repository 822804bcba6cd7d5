//! AWS Sign-In sessions (issue #19), step 4: the ways in for a person who has no keys.
//!
//! - `import --from-login-session SRC`: a session `aws login` made (a cache file in the
//!   AWS CLI's format, as signin.rs proves botocore reads it) moves into the keychain;
//!   the plaintext file goes, profile SRC runs aws-mfa-proc (every other byte of the
//!   config kept, a 0600 backup), and boto3 and the AWS CLI chain a role from it with
//!   no prompt. What it refuses, it refuses changing nothing, naming the fix.
//! - `setup --sign-in` at a terminal asks only a name and a region, appends the
//!   profile and signs in (in the stand-in browser, or with `--remote` by the pasted
//!   code).

use std::path::PathBuf;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::onboarding::{backups_of, mode};
use crate::rig::Rig;
use crate::signin_flows::{World, assert_nothing_leaked, world_with};
use crate::signin_standin::{self as standin, DpopKey, SignIn};
use crate::support::*;

/// An `aws login` profile, a role chained from it, and lines that must stay as they are.
const LOGIN_CONFIG: &str = "\
# written by hand, then by `aws login`
[profile src]
login_session = arn:aws:iam::111111111111:user/alice
region = eu-west-1
output = json

[profile production]
role_arn = arn:aws:iam::222222222222:role/Role-Name-To-Assume
source_profile = src
region = eu-west-1
";

/// The front door as `import` and `setup` must name it: by its absolute path.
fn front_door() -> &'static str {
    env!("CARGO_BIN_EXE_aws-mfa-proc")
}

/// The AWS CLI's cache file of [`standin::PERSON`]'s session in `dir`, as
/// `LoginCredentialsLoader.save_token` writes it (see signin.rs), its credentials
/// having expired at `expired_at`; the refresh token is bound to a fresh key the
/// stand-in knows.
fn cli_cache_file(signin: &SignIn, dir: &std::path::Path, expires_at: &str) -> PathBuf {
    let key = DpopKey::generate();
    let seeded = signin.seed(&key);
    let token = json!({
        "accessToken": {
            "accessKeyId": "ASIACLICACHED0000001",
            "secretAccessKey": "cliCachedSecret",
            "sessionToken": "cliCachedSessionToken",
            "accountId": "111111111111",
            "expiresAt": expires_at,
        },
        "tokenType": "aws_sigv4",
        "clientId": standin::SAME_DEVICE,
        "refreshToken": seeded.refresh_token,
        "idToken": "unused.by.refresh",
        "dpopKey": key.pem(),
    });
    std::fs::create_dir_all(dir).unwrap();
    let digest: String = Sha256::digest(standin::PERSON.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let file = dir.join(format!("{digest}.json"));
    std::fs::write(&file, token.to_string()).unwrap();
    file
}

fn a_minute_ago() -> String {
    (Utc::now() - Duration::minutes(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A [`World`] with [`LOGIN_CONFIG`] and the AWS CLI's cache under
/// `AWS_LOGIN_CACHE_DIRECTORY`; returns the cache file.
fn logged_in_with_the_aws_cli(config: &str, expires_at: &str) -> (World, PathBuf) {
    let mut w = world_with(config);
    let dir = w.rig.dir().join("login-cache");
    w.rig
        .set_env("AWS_LOGIN_CACHE_DIRECTORY", dir.to_str().unwrap());
    let file = cli_cache_file(&w.signin, &dir, expires_at);
    (w, file)
}

const BOTO3_PRODUCTION: &str = r#"
import json, boto3
identity = boto3.Session(profile_name="production").client("sts").get_caller_identity()
print(json.dumps({"arn": identity["Arn"]}))
"#;

#[test]
fn import_moves_an_aws_login_session_into_the_keychain_and_every_tool_chains_from_it() {
    let (w, cache_file) = logged_in_with_the_aws_cli(LOGIN_CONFIG, &a_minute_ago());

    let out = run(w
        .rig
        .command("aws-mfa-proc")
        .args(["import", "--from-login-session", "src"]));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");

    assert!(!cache_file.exists(), "the plaintext cache file is gone");
    assert!(stdout.contains(cache_file.to_str().unwrap()), "{stdout}");
    let expected = LOGIN_CONFIG.replace(
        &format!("login_session = {}\n", standin::PERSON),
        &format!(
            "credential_process = {} --profile src\naws_mfa_proc_source = sign-in\n",
            front_door()
        ),
    );
    assert_eq!(
        std::fs::read_to_string(w.rig.config_path()).unwrap(),
        expected
    );
    let backups = backups_of(&w.rig.config_path());
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(mode(&backups[0]), 0o600);
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), LOGIN_CONFIG);
    assert!(stdout.contains(backups[0].to_str().unwrap()), "{stdout}");

    // boto3 and the AWS CLI chain the role from it, with no terminal and no prompt.
    let python = w.rig.python();
    let boto3 = detached(&w.rig, python.to_str().unwrap(), &["-c", BOTO3_PRODUCTION]);
    assert!(boto3.status.success(), "{}", text(&boto3.stderr));
    let shown: Value = serde_json::from_str(text(&boto3.stdout).trim()).unwrap();
    assert!(
        shown["arn"]
            .as_str()
            .unwrap()
            .contains("assumed-role/Role-Name-To-Assume"),
        "{shown}"
    );
    let cli = detached(
        &w.rig,
        "aws",
        &["sts", "get-caller-identity", "--profile", "production"],
    );
    assert!(cli.status.success(), "{}", text(&cli.stderr));
    assert!(
        text(&cli.stdout).contains("assumed-role/Role-Name-To-Assume"),
        "{}",
        text(&cli.stdout)
    );
    let grants: Vec<String> = w
        .signin
        .token_calls()
        .into_iter()
        .map(|c| c.grant)
        .collect();
    assert_eq!(
        grants,
        ["refresh_token"],
        "the imported token, refreshed once"
    );
    assert_eq!(w.signin.refreshes(), 1, "{:?}", w.signin.token_calls());

    assert_nothing_leaked(
        &w.rig,
        &[&stdout, &stderr, &text(&boto3.stderr), &text(&cli.stderr)],
    );
}

#[test]
fn import_refuses_what_it_cannot_move_changing_nothing_and_naming_the_fix() {
    let no_session = LOGIN_CONFIG.replace(&format!("login_session = {}\n", standin::PERSON), "");
    // (what is wrong, the config, the profile, the cache file's expiresAt or none,
    //  words of the message)
    type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, &'a [&'a str]);
    let cases: [Case; 4] = [
        (
            "no such profile",
            LOGIN_CONFIG,
            "nosuch",
            Some("2099-01-01T00:00:00Z"),
            &["no profile `nosuch`", "setup --sign-in"],
        ),
        (
            "no login_session",
            &no_session,
            "src",
            Some("2099-01-01T00:00:00Z"),
            &["no `login_session` line", "aws login --profile NAME"],
        ),
        (
            "no cache file",
            LOGIN_CONFIG,
            "src",
            None,
            &["no cached sign-in", "aws login --profile src"],
        ),
        (
            "an ended session",
            LOGIN_CONFIG,
            "src",
            Some("2020-01-01T00:00:00Z"),
            &["has ended", "aws login --profile src"],
        ),
    ];
    let signin = SignIn::start();
    for (case, config, profile, expires_at, words) in cases {
        let mut rig = Rig::without_keychain();
        rig.write_config(config);
        let dir = rig.dir().join("login-cache");
        rig.set_env("AWS_LOGIN_CACHE_DIRECTORY", dir.to_str().unwrap());
        let file = expires_at.map(|at| cli_cache_file(&signin, &dir, at));

        let out =
            run(rig
                .command("aws-mfa-proc")
                .args(["import", "--from-login-session", profile]));

        assert!(!out.status.success(), "{case}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        let message = the_message(&stderr);
        for word in words {
            assert!(message.contains(word), "{case}: {message}");
        }
        assert!(message.contains("nothing was changed"), "{case}: {message}");
        assert!(
            !message.contains(standin::REFRESH_PREFIX),
            "{case}: {message}"
        );
        assert_eq!(
            std::fs::read_to_string(rig.config_path()).unwrap(),
            config,
            "{case}"
        );
        assert!(backups_of(&rig.config_path()).is_empty(), "{case}");
        if let Some(file) = file {
            assert!(file.exists(), "{case}: the cache file must stay");
        }
    }
}

/// A config that was there before setup: setup must keep every byte of it.
const EARLIER_CONFIG: &str = "# mine\n[profile other]\nregion = us-east-1\n";

/// What `setup --sign-in` must have appended for `signin` in `region`.
fn appended(region: &str) -> String {
    format!(
        "{EARLIER_CONFIG}\n[profile signin]\ncredential_process = {} --profile signin\naws_mfa_proc_source = sign-in\nregion = {region}\n",
        front_door()
    )
}

/// The credential_process document for `signin`, with no terminal.
fn served(rig: &Rig) -> Value {
    let out = detached(rig, "aws-mfa-proc", &["--profile", "signin"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_str(&text(&out.stdout)).unwrap()
}

#[test]
fn setup_sign_in_asks_a_name_and_a_region_appends_the_profile_and_signs_in_in_the_browser() {
    let w = world_with(EARLIER_CONFIG);
    let mut pty = w.rig.pty("aws-mfa-proc", &["setup", "--sign-in"]);
    pty.expect("Profile name [signin]: ");
    pty.send_line("");
    pty.expect("Region [eu-west-1]: ");
    pty.send_line("eu-central-1");
    pty.expect("Signed in:");
    let (status, screen) = pty.wait();
    assert!(status.success(), "{screen}");
    assert!(!screen.contains("Access key"), "no keys asked: {screen}");
    assert!(
        screen.contains("sign in to AWS for profile `signin` in the browser"),
        "{screen}"
    );

    assert_eq!(
        std::fs::read_to_string(w.rig.config_path()).unwrap(),
        appended("eu-central-1")
    );
    let backups = backups_of(&w.rig.config_path());
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(mode(&backups[0]), 0o600);
    assert_eq!(
        std::fs::read_to_string(&backups[0]).unwrap(),
        EARLIER_CONFIG
    );
    let grants: Vec<String> = w
        .signin
        .token_calls()
        .into_iter()
        .map(|c| c.grant)
        .collect();
    assert_eq!(grants, ["authorization_code"]);
    assert_eq!(served(&w.rig)["AccessKeyId"], "ASIASIGNIN0000000001");
    assert_nothing_leaked(&w.rig, &[&screen]);
}

#[test]
fn setup_sign_in_remote_reads_the_pages_code_from_the_terminal() {
    let mut w = world_with(EARLIER_CONFIG);
    w.rig.set_env("BROWSER", "");
    let mut pty = w
        .rig
        .pty("aws-mfa-proc", &["setup", "--sign-in", "--remote"]);
    pty.expect("Profile name [signin]: ");
    pty.send_line("");
    pty.expect("Region [eu-west-1]: ");
    pty.send_line("");
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
        .unwrap_or_else(|| panic!("no code on the page of {url}: {page}\n{shown}"));
    pty.send_line(code);
    pty.expect("Signed in:");
    let (status, screen) = pty.wait();
    assert!(status.success(), "{screen}");
    assert_eq!(
        std::fs::read_to_string(w.rig.config_path()).unwrap(),
        appended("eu-west-1")
    );
    assert_eq!(served(&w.rig)["AccessKeyId"], "ASIASIGNIN0000000001");
    assert_nothing_leaked(&w.rig, &[&screen]);
}

#[test]
fn doctor_checks_the_sign_in_endpoint_and_its_clock_and_console_points_at_a_role() {
    let w = crate::signin_flows::world();
    crate::signin_flows::signed_in(&w);
    let doctor = run(w.rig.command("aws-mfa-proc").args(["doctor", "signin"]));
    let report = text(&doctor.stdout);
    let line = report
        .lines()
        .find(|l| l.contains("sign-in endpoint"))
        .unwrap_or_else(|| panic!("no sign-in endpoint check:\n{report}"));
    assert!(
        line.starts_with('✓') && line.contains(w.signin.url()) && line.contains("s from its clock"),
        "{line}"
    );

    // An endpoint that does not answer is a ✗ naming it.
    let dead = "http://127.0.0.1:9/";
    let doctor = run(w
        .rig
        .command("aws-mfa-proc")
        .args(["doctor", "signin"])
        .env("AWS_ENDPOINT_URL_SIGNIN", dead));
    let report = text(&doctor.stdout);
    assert!(
        report.lines().any(|l| l.starts_with('✗')
            && l.contains("sign-in endpoint")
            && l.contains("127.0.0.1:9")),
        "{report}"
    );

    let console = crate::rig::Run::from(detached(
        &w.rig,
        "aws-mfa-proc",
        &["console", "signin", "--print"],
    ));
    assert_eq!(console.status.code(), Some(1), "{}", console.stdout);
    let message = the_message(&console.stderr);
    assert!(
        message.contains("AWS Sign-In session") && message.contains("production"),
        "{message}"
    );
}
