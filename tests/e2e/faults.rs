//! STS failing in each way AWS (or the network) fails: one message that names the
//! profile and the fix, exit 1, an empty stdout, and no more STS calls than the fault
//! deserves. The stand-in picks the fault by the code typed (see standin.rs).

use std::time::Instant;

use crate::rig::Run;
use crate::standin::{self, StandIn};
use crate::support::*;

/// No session yet: the prompt comes, `code` is typed once; how the call ended.
fn typing(code: &str) -> (Run, StandIn) {
    let (rig, sts) = with_standin();
    let run = asked_once(&rig, code);
    (run, sts)
}

/// Types `code` at the prompt and checks that the code was asked for only once.
fn asked_once(rig: &crate::rig::Rig, code: &str) -> Run {
    let started = Instant::now();
    let (run, screen) = answer_prompt_with(rig, code);
    eprintln!(
        "answered {code}: the call ended after {:?}",
        started.elapsed()
    );
    assert_eq!(prompts_on(&screen), 1, "asked once; the screen:\n{screen}");
    run
}

#[test]
fn http_500_every_time_is_tried_three_times_then_reported_as_kept_failing() {
    let (run, sts) = typing(standin::HTTP_500);
    assert_failed_with(&run, &["kept failing"]);
    assert_eq!(sts.calls_with(standin::HTTP_500), 3);
}

#[test]
fn throttling_every_time_is_retried_then_reported_as_throttling() {
    let (run, sts) = typing(standin::THROTTLED);
    assert_failed_with(&run, &["throttling"]);
    assert_eq!(sts.calls_with(standin::THROTTLED), 3);
}

#[test]
fn sts_that_never_answers_is_given_up_on_within_the_overall_bound() {
    let (run, sts) = typing(standin::NO_ANSWER);
    assert_failed_with(&run, &["did not answer within"]);
    let calls = sts.calls_with(standin::NO_ANSWER);
    assert!((1..=3).contains(&calls), "{calls} calls");
}

#[test]
fn request_expired_points_at_the_clock() {
    let (run, sts) = typing(standin::REQUEST_EXPIRED);
    assert_failed_with(&run, &["clock"]);
    assert_eq!(sts.calls_with(standin::REQUEST_EXPIRED), 1);
}

#[test]
fn an_invalid_long_term_key_says_to_store_it_again_with_add() {
    let (run, sts) = typing(standin::INVALID_KEYS);
    assert_failed_with(&run, &["aws-mfa-proc add"]);
    assert_eq!(sts.calls_with(standin::INVALID_KEYS), 1);
}

#[test]
fn a_wrong_mfa_serial_names_mfa_serial_after_one_call_and_no_second_prompt() {
    let (run, sts) = typing(standin::WRONG_SERIAL);
    assert_failed_with(&run, &["mfa_serial"]);
    assert_eq!(sts.codes(), [standin::WRONG_SERIAL]);
}

#[test]
fn a_refused_connection_says_it_cannot_reach_sts() {
    let rig = with_sts_at("http://127.0.0.1:1");
    assert_failed_with(&asked_once(&rig, "123456"), &["cannot reach STS"]);
}

#[test]
fn a_host_name_that_does_not_resolve_says_it_cannot_resolve_it() {
    let rig = with_sts_at("http://aws-mfa-proc-test.invalid");
    assert_failed_with(&asked_once(&rig, "123456"), &["cannot resolve"]);
}
