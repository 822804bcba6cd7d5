//! Many callers at once (Terraform, `make -j`, a shell loop with `&`): only the holder
//! of the identity's lock asks; the others wait and then get the same session.

use std::time::{Duration, Instant};

use crate::rig::Rig;
use crate::standin;
use crate::support::*;

#[test]
fn sixteen_parallel_callers_on_one_terminal_see_one_prompt_and_share_one_sts_call() {
    let (rig, sts) = with_standin();
    expired_session(&rig);
    let mut crowd = rig.pty_crowd(16, "aws-mfa-proc", &["--profile", "mfa"]);
    crowd.expect(PROMPT);
    let typed = Instant::now();
    // The slow code keeps the holder inside STS for a second: the others pile up.
    crowd.send_line(standin::SLOW_CODE);
    let (runs, screen) = crowd.wait_crowd();
    eprintln!(
        "all 16 callers finished {:?} after the code was typed",
        typed.elapsed()
    );

    assert_eq!(
        prompts_on(&screen),
        1,
        "one prompt in all; the screen:\n{screen}"
    );
    assert_eq!(
        sts.codes(),
        ["100001", standin::SLOW_CODE],
        "one GetSessionToken"
    );
    for (i, run) in runs.iter().enumerate() {
        assert!(run.status.success(), "caller {}: {}", i + 1, run.stderr);
        assert_standin_session(&run.stdout);
        assert_eq!(
            run.stdout,
            runs[0].stdout,
            "caller {} got another session",
            i + 1
        );
    }
}

#[test]
fn eight_parallel_aws_cli_calls_through_a_role_profile_see_one_prompt_and_all_succeed() {
    let rig = Rig::new();
    configured(&rig);
    let args = [
        "sts",
        "get-caller-identity",
        "--profile",
        "production",
        "--query",
        "Arn",
        "--output",
        "text",
    ];
    let mut crowd = rig.pty_crowd(8, "aws", &args);
    crowd.expect(PROMPT);
    crowd.send_line("123456");
    let (runs, screen) = crowd.wait_crowd();

    assert_eq!(
        prompts_on(&screen),
        1,
        "one prompt in all; the screen:\n{screen}"
    );
    for (i, run) in runs.iter().enumerate() {
        assert!(run.status.success(), "aws call {}: {}", i + 1, run.stderr);
        assert!(
            run.stdout.contains("assumed-role/Role-Name-To-Assume"),
            "aws call {}: {}",
            i + 1,
            run.stdout
        );
    }
}

#[test]
fn when_the_caller_at_the_prompt_is_killed_a_waiting_caller_asks_instead() {
    let (rig, sts) = with_standin();
    let holder = at_the_prompt(&rig);
    let mut waiter = rig.pty_captured("aws-mfa-proc", &["--profile", "mfa"]);
    // While the holder asks, the waiter must not ask too.
    waiter.assert_not_shown_for(PROMPT, Duration::from_secs(2));

    let killed = Instant::now();
    holder.kill();
    waiter.expect(PROMPT);
    eprintln!(
        "the waiter asked {:?} after the holder was killed",
        killed.elapsed()
    );
    waiter.send_line("123456");
    let (run, screen) = waiter.wait_captured();

    assert!(run.status.success(), "{}", run.stderr);
    assert_standin_session(&run.stdout);
    assert_eq!(prompts_on(&screen), 1, "{screen}");
    assert_eq!(sts.codes(), ["123456"]);
}
