//! The prompt: on the terminal only, re-asked on bad input, never waited for in vain.

use std::time::Instant;

use crate::rig::Rig;
use crate::standin::{self, StandIn};
use crate::support::*;

/// A rig whose STS is the stand-in, with the issue's config and stored keys.
fn with_standin() -> (Rig, StandIn) {
    let sts = StandIn::start();
    let mut rig = Rig::new();
    rig.set_env("AWS_ENDPOINT_URL_STS", sts.url());
    configured(&rig);
    (rig, sts)
}

#[test]
fn a_rejected_code_is_asked_again_and_the_next_one_works() {
    let (rig, sts) = with_standin();
    let mut pty = rig.pty("aws-mfa-proc", &["--profile", "mfa"]);
    pty.expect(PROMPT);
    pty.send_line(standin::WRONG_CODE);
    pty.expect("AWS rejected that code");
    pty.expect(PROMPT);
    pty.send_line("123456");
    pty.expect(r#""Version":1"#);
    let (status, _) = pty.wait();
    assert!(status.success());
    assert_eq!(sts.codes(), [standin::WRONG_CODE, "123456"]);
}

#[test]
fn an_answer_that_is_not_six_digits_is_asked_again_without_calling_sts() {
    let (rig, sts) = with_standin();
    let mut pty = rig.pty("aws-mfa-proc", &["--profile", "mfa"]);
    pty.expect(PROMPT);
    pty.send_line("abc");
    pty.expect("6 digits");
    pty.expect(PROMPT);
    pty.send_line("123456");
    pty.expect(r#""Version":1"#);
    let (status, _) = pty.wait();
    assert!(status.success());
    assert_eq!(sts.codes(), ["123456"]);
}

#[test]
fn three_bad_answers_give_up_with_empty_stdout() {
    let (rig, sts) = with_standin();
    let mut pty = rig.pty("aws-mfa-proc", &["--profile", "mfa"]);
    for answer in ["1", standin::WRONG_CODE, "x"] {
        pty.expect(PROMPT);
        pty.send_line(answer);
    }
    pty.expect("no valid MFA code after 3 tries");
    let (status, output) = pty.wait();
    assert!(!status.success());
    assert!(!output.contains("\"Version\""), "{output}");
    assert_eq!(sts.codes(), [standin::WRONG_CODE]);
}

#[test]
fn without_a_terminal_an_expired_session_fails_at_once_and_names_login() {
    let (rig, sts) = with_standin();
    let start = Instant::now();
    let out = detached(&rig, "aws-mfa-proc", &["--profile", "mfa"]);
    eprintln!("no-terminal failure took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "stdout must stay empty on failure");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("profile `mfa`"), "{stderr}");
    assert!(
        stderr.contains("aws-mfa-proc login --profile mfa"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one message: {stderr}");
    assert!(sts.codes().is_empty());
}

#[test]
fn a_session_with_ten_minutes_left_is_not_emitted_but_renewed() {
    let (rig, sts) = with_standin();
    login(&rig, "123456");
    // Served from the keychain while it is fresh...
    let cached = detached(&rig, "aws-mfa-proc", &["--profile", "mfa"]);
    assert!(cached.status.success(), "{}", text(&cached.stderr));
    // ...but 11 h 50 min later (10 min left) it asks for a code instead.
    let mut pty = rig.pty(
        "faketime",
        &["-f", "+710m", "aws-mfa-proc", "--profile", "mfa"],
    );
    pty.expect(PROMPT);
    pty.send_line("234567");
    pty.expect(r#""Version":1"#);
    let (status, _) = pty.wait();
    assert!(status.success());
    assert_eq!(sts.codes(), ["123456", "234567"]);
}

#[test]
fn the_cached_document_is_what_every_sdk_parses() {
    let (rig, _sts) = with_standin();
    login(&rig, "123456");
    let out = detached(&rig, "aws-mfa-proc", &[]);
    assert!(
        out.status.success(),
        "a bare call finds the only helper profile: {}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one JSON object: {stdout}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["Version"], 1);
    assert_eq!(doc["SecretAccessKey"], standin::SESSION_SECRET);
    assert!(
        doc["SessionToken"]
            .as_str()
            .unwrap()
            .starts_with(standin::SESSION_TOKEN_PREFIX)
    );
    let expiration = doc["Expiration"].as_str().unwrap();
    assert!(
        expiration.ends_with('Z') && !expiration.contains('.'),
        "{expiration}"
    );
    assert_eq!(doc.as_object().unwrap().len(), 5, "{doc}");
}
