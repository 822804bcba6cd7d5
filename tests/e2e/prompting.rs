//! The prompt: on the terminal only, re-asked on bad input, never waited for in vain.

use std::time::Instant;

use crate::standin;
use crate::support::*;

/// The number after `next code comes in`, if the text has one.
fn seconds_to_next_code(text: &str) -> Option<u32> {
    let after = text.split_once("next code comes in ")?.1;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
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
    assert_failed_before_the_sts_deadline("a call without a terminal", start.elapsed());
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "stdout must stay empty on failure");
    let stderr = text(&out.stderr);
    let message = the_message(&stderr);
    assert!(message.contains("profile `mfa`"), "{message}");
    assert!(
        message.contains("aws-mfa-proc login --profile mfa"),
        "{message}"
    );
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

#[test]
fn a_code_typed_again_after_it_was_accepted_is_refused_without_calling_sts() {
    let (rig, sts) = with_standin();
    login(&rig, "123456");
    let mut pty = rig.pty("aws-mfa-proc", &["login", "--profile", "mfa"]);
    pty.expect(PROMPT);
    pty.send_line("123456");
    // Everything the terminal shows between the answer and the prompt asked again.
    let notice = pty.expect(PROMPT);
    assert!(notice.contains("already used"), "{notice}");
    assert!(seconds_to_next_code(&notice).is_some(), "{notice}");
    assert_eq!(sts.codes(), ["123456"], "the reused code never reached STS");

    pty.send_line("234567");
    pty.expect("cached until");
    assert!(pty.wait().0.success());
    assert_eq!(sts.codes(), ["123456", "234567"]);
}

#[test]
fn ctrl_c_at_the_prompt_restores_the_terminal_exits_130_and_stores_nothing() {
    let (rig, sts) = with_standin();
    let stderr = rig.dir().join("captured/ctrl-c.stderr");
    // The shell survives a SIGINT (its trap is reset to the default in the tool), so it
    // can show the tool's exit status and the terminal's settings before and after.
    let script = r#"trap : INT
echo "before: $(stty -g)"
aws-mfa-proc --profile mfa 2>"$1"
echo "exit: $?"
echo "after: $(stty -g)"
echo "settings: $(stty -a | tr '\n' ' ')""#;
    let mut pty = rig.pty("sh", &["-c", script, "sh", stderr.to_str().unwrap()]);
    pty.expect(PROMPT);
    pty.send(b"\x03");
    let (status, screen) = pty.wait();
    assert!(status.success(), "{screen}");

    let line = |label: &str| {
        screen
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} line; the screen:\n{screen}"))
            .trim()
            .to_string()
    };
    assert_eq!(line("exit: "), "130", "{screen}");
    assert_eq!(
        line("after: "),
        line("before: "),
        "the terminal was restored"
    );
    let settings = line("settings: ");
    for flag in ["icanon", "isig"] {
        assert!(
            settings.split_whitespace().any(|f| f == flag),
            "{flag} is off: {settings}"
        );
    }
    let stderr = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        the_message(&stderr).contains("interrupted at the MFA prompt"),
        "{stderr}"
    );

    // Nothing was stored: without a terminal there is still no session to serve.
    assert!(
        !detached(&rig, "aws-mfa-proc", &["--profile", "mfa"])
            .status
            .success()
    );
    assert!(sts.codes().is_empty());
}
