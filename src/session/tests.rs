//! The core against in-memory twins: a scripted terminal, a fake STS, a fixed clock.
use super::*;
use crate::aws::twin::{MemoryAws, key_id};
use crate::browser::twin::FakeBrowser;
use crate::config::{DEFAULT_DURATION, RoleSettings};
use crate::kernel::MemoryKernel;
use crate::prompt::{Scripted, Typed};
use crate::secret::Secret;
use crate::system::{FakeEnv, FixedClock};

mod signin;

pub(super) struct World {
    cache: Cache,
    sts: MemoryAws,
    clock: FixedClock,
    terminal: Scripted,
    target: Target,
    env: FakeEnv,
    browser: FakeBrowser,
    remote: bool,
    _home: tempfile::TempDir,
}

impl World {
    fn new(answers: &[&str]) -> World {
        let clock = FixedClock::new();
        let cache = Cache::memory(Box::new(MemoryKernel::default()));
        cache
            .store_keys(
                "mfa",
                &LongTermKeys {
                    access_key_id: "AKIAEXAMPLE00001".into(),
                    secret_access_key: Secret::new("longterm".into()),
                    rotated_from: None,
                },
            )
            .unwrap();
        let home = tempfile::tempdir().unwrap();
        World {
            cache,
            sts: MemoryAws::new(clock.now(), &[]),
            clock,
            terminal: Scripted::answering(answers),
            target: Target::Session(Settings {
                profile: "mfa".into(),
                mfa_serial: "arn:aws:iam::111111111111:mfa/alice".into(),
                region: "eu-west-1".into(),
                profile_region: Some("eu-west-1".into()),
                duration: DEFAULT_DURATION,
                keys: KeySource::Keychain("mfa".into()),
                endpoint: None,
                iam_endpoint: None,
                codes: Default::default(),
            }),
            env: FakeEnv::default().with("HOME", home.path().to_str().unwrap()),
            browser: FakeBrowser::none("no desktop (DISPLAY) and no BROWSER"),
            remote: false,
            _home: home,
        }
    }

    fn get(&mut self, mode: Mode) -> Result<SessionCredentials, SessionError> {
        let mut terminal = std::mem::take(&mut self.terminal);
        let result = self.get_with(&mut Typed(&mut terminal), mode);
        self.terminal = terminal;
        result
    }

    /// [`World::get`] with another code source.
    fn get_with(
        &mut self,
        codes: &mut dyn CodeSource,
        mode: Mode,
    ) -> Result<SessionCredentials, SessionError> {
        let runtime = LazyRuntime::new(&self.env);
        let mut deps = Deps {
            cache: &self.cache,
            sts: &self.sts,
            codes,
            clock: &self.clock,
            runtime: &runtime,
            signin: &self.sts,
            env: &self.env,
            browser: &self.browser,
            remote: self.remote,
        };
        get(&self.target, &mut deps, mode).map(|served| served.credentials)
    }

    fn asked(&self) -> usize {
        self.terminal.asked.len()
    }

    /// Turns the world's profile into a role assumed with its MFA session.
    fn into_role(mut self) -> World {
        let Target::Session(mfa) = self.target.clone() else {
            unreachable!()
        };
        self.target = Target::Role(RoleSettings {
            profile: "production".into(),
            role_arn: "arn:aws:iam::222222222222:role/Admin".into(),
            duration: std::time::Duration::from_secs(3600),
            region: "eu-west-1".into(),
            profile_region: None,
            endpoint: None,
            external_id: None,
            session_name: None,
            source_identity: None,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            mfa,
        });
        self
    }

    fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
        self.sts.now.set(self.clock.now());
    }
}

#[test]
fn the_first_call_asks_and_the_second_is_served_from_the_cache() {
    let mut w = World::new(&["123456"]);
    let first = w.get(Mode::Cached).unwrap();
    let second = w.get(Mode::Cached).unwrap();
    assert_eq!(first.access_key_id, second.access_key_id);
    assert_eq!(w.asked(), 1);
    assert_eq!(w.sts.calls.borrow().len(), 1);
}

#[test]
fn a_session_inside_the_refresh_margin_is_not_returned() {
    let mut w = World::new(&["123456", "654321"]);
    w.get(Mode::Cached).unwrap();
    w.advance(chrono::Duration::hours(12) - chrono::Duration::minutes(16));
    w.get(Mode::Cached).unwrap();
    assert_eq!(w.asked(), 1, "16 minutes left is still fresh");
    w.advance(chrono::Duration::minutes(6));
    let renewed = w.get(Mode::Cached).unwrap();
    assert_eq!(w.asked(), 2, "10 minutes left asks again");
    assert!(renewed.remaining(w.clock.now()) > chrono::Duration::hours(11));
}

#[test]
fn answers_are_judged_before_sts_sees_them() {
    // (answers typed, codes that reached STS, prompts shown, succeeded)
    let cases: &[(&[&str], &[&str], usize, bool)] = &[
        (&["abc", "12345", "123456"], &["123456"], 3, true),
        (&["123 456"], &["123456"], 1, true),
        (&["000000", "123456"], &["000000", "123456"], 2, true),
        (
            &["000000", "x", "000000", "123456"],
            &["000000", "000000"],
            3,
            false,
        ),
    ];
    for (answers, sent, asked, ok) in cases {
        let mut w = World::new(answers);
        let result = w.get(Mode::Cached);
        assert_eq!(result.is_ok(), *ok, "{answers:?}");
        if !ok {
            assert!(matches!(result, Err(SessionError::TooManyTries(_))));
        }
        assert_eq!(&*w.sts.calls.borrow(), sent, "{answers:?}");
        assert_eq!(w.asked(), *asked, "{answers:?}");
    }
}

#[test]
fn without_a_terminal_the_error_says_to_run_login() {
    let mut w = World::new(&[]);
    w.terminal.absent = true;
    let err = w.get(Mode::Cached).unwrap_err().to_string();
    assert!(err.contains("aws-mfa-proc login --profile mfa"), "{err}");
    assert_eq!(w.sts.calls.borrow().len(), 0);
}

#[test]
fn the_same_code_twice_spends_no_second_sts_call() {
    let mut w = World::new(&["123456", "123456", "234567"]);
    w.get(Mode::Cached).unwrap();
    w.get(Mode::Refresh).unwrap();
    assert_eq!(*w.sts.calls.borrow(), vec!["123456", "234567"]);
    assert!(
        w.terminal
            .told
            .iter()
            .any(|t| t.contains("already used") && t.contains("next code comes in"))
    );
}

#[test]
fn a_role_is_assumed_once_and_then_served_from_the_cache() {
    let mut w = World::new(&["123456"]).into_role();
    for _ in 0..5 {
        let role = w.get(Mode::Cached).unwrap();
        assert_eq!(role.access_key_id, key_id("ASIAROLE", 1));
    }
    assert_eq!(w.asked(), 1);
    assert_eq!(w.sts.calls.borrow().len(), 1);
    assert_eq!(w.sts.roles.borrow().len(), 1);
}

#[test]
fn an_expiring_role_is_renewed_without_a_code_while_the_mfa_session_lasts() {
    let mut w = World::new(&["123456"]).into_role();
    w.get(Mode::Cached).unwrap();
    w.advance(chrono::Duration::minutes(50));
    let renewed = w.get(Mode::Cached).unwrap();
    assert_eq!(renewed.access_key_id, key_id("ASIAROLE", 2));
    assert_eq!(w.asked(), 1, "no second code");
    assert_eq!(
        *w.sts.roles.borrow(),
        vec![key_id("ASIA", 1), key_id("ASIA", 1)]
    );
}

#[test]
fn login_asks_even_when_the_session_is_fresh() {
    let mut w = World::new(&["123456", "234567"]);
    w.get(Mode::Cached).unwrap();
    w.get(Mode::Refresh).unwrap();
    assert_eq!(w.asked(), 2);
}

#[test]
fn a_corrupt_cached_item_is_a_miss_and_is_replaced() {
    let mut w = World::new(&["123456"]);
    w.cache.damage(&w.target);
    w.get(Mode::Cached).unwrap();
    assert!(w.cache.cached(&w.target, w.clock.now()).unwrap().is_some());
}

#[test]
fn missing_keys_name_the_add_command_before_asking() {
    let mut w = World::new(&["123456"]);
    w.cache.delete_keys("mfa").unwrap();
    let err = w.get(Mode::Cached).unwrap_err().to_string();
    assert!(err.contains("aws-mfa-proc add mfa"), "{err}");
    assert_eq!(w.asked(), 0);
}

/// A dialog or a program, answering from a script.
struct Source {
    kind: Kind,
    answers: std::collections::VecDeque<Result<&'static str, PromptError>>,
    asked: usize,
}

impl Source {
    fn new(kind: Kind, answers: Vec<Result<&'static str, PromptError>>) -> Source {
        Source {
            kind,
            answers: answers.into(),
            asked: 0,
        }
    }
}

impl CodeSource for Source {
    fn ready(&mut self) -> Result<(), PromptError> {
        Ok(())
    }
    fn ask(&mut self, _: &str) -> Result<String, PromptError> {
        self.asked += 1;
        self.answers
            .pop_front()
            .unwrap_or(Err(PromptError::Cancelled))
            .map(String::from)
    }
    fn tell(&mut self, _: &str) {}
    fn kind(&self) -> Kind {
        self.kind
    }
    fn name(&self) -> String {
        "mfa_process `make-code`".into()
    }
}

#[test]
fn a_program_is_never_asked_twice_for_a_code() {
    // (what the program prints, the error, codes that reached STS)
    let cases: &[(&str, &str, &[&str])] = &[
        ("", "printed nothing", &[]),
        ("12345", "printed something else", &[]),
        (
            "000000",
            "AWS rejected the code from mfa_process `make-code`",
            &["000000"],
        ),
    ];
    for (printed, error, sent) in cases {
        let mut w = World::new(&[]);
        let mut program = Source::new(Kind::Program, vec![Ok(printed), Ok("123456")]);
        let err = w
            .get_with(&mut program, Mode::Cached)
            .unwrap_err()
            .to_string();
        assert!(err.contains(error), "{printed:?}: {err}");
        assert_eq!(program.asked, 1, "{printed:?}");
        assert_eq!(&*w.sts.calls.borrow(), sent, "{printed:?}");
    }
}

#[test]
fn a_cancelled_dialog_opens_no_new_dialog_for_a_minute_but_login_asks() {
    let mut w = World::new(&[]);
    let mut dialog = Source::new(Kind::Dialog, vec![Err(PromptError::Cancelled)]);
    let err = w.get_with(&mut dialog, Mode::Cached).unwrap_err();
    assert!(matches!(err, SessionError::Cancelled(_)), "{err}");

    w.advance(chrono::Duration::seconds(30));
    let mut again = Source::new(Kind::Dialog, vec![Ok("123456")]);
    let err = w
        .get_with(&mut again, Mode::Cached)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cancelled 30 s ago") && err.contains("login"),
        "{err}"
    );
    assert_eq!(again.asked, 0, "no dialog opened");

    let mut login = Source::new(Kind::Dialog, vec![Ok("123456")]);
    w.get_with(&mut login, Mode::Refresh).unwrap();
    assert_eq!(login.asked, 1);

    // A terminal is never held back by a cancel.
    let mut w = World::new(&["123456"]);
    let mut dialog = Source::new(Kind::Dialog, vec![Err(PromptError::Cancelled)]);
    let _ = w.get_with(&mut dialog, Mode::Cached);
    w.get(Mode::Cached).unwrap();
}

#[test]
fn an_empty_answer_uses_no_try() {
    let mut w = World::new(&["", "", "x", "", "123456"]);
    w.get(Mode::Cached).unwrap();
    assert_eq!(*w.sts.calls.borrow(), vec!["123456"]);
}

#[test]
fn a_program_that_prints_a_spent_code_is_asked_again_once_the_next_code_is_due() {
    let mut w = World::new(&[]);
    let mut first = Source::new(Kind::Program, vec![Ok("123456")]);
    w.get_with(&mut first, Mode::Cached).unwrap();
    let before = w.clock.now();
    // A program prints what its authenticator shows: the same code, until the next one.
    let mut again = Source::new(Kind::Program, vec![Ok("123456"), Ok("234567")]);
    w.get_with(&mut again, Mode::Refresh).unwrap();
    assert_eq!(again.asked, 2);
    assert_eq!(*w.sts.calls.borrow(), vec!["123456", "234567"]);
    // It waited (on the clock, not the wall) into the next 30 s step, and no longer.
    let step = |t: chrono::DateTime<chrono::Utc>| t.timestamp().div_euclid(30);
    assert_eq!(step(w.clock.now()), step(before) + 1);
    assert!(w.clock.now() - before <= chrono::Duration::seconds(31));
}

#[test]
fn only_a_persons_cancel_holds_the_next_dialog_back() {
    // (how the first prompt ended, whether a dialog 30 s later is held back)
    let cases = [
        (Kind::Dialog, PromptError::Cancelled, true),
        (
            Kind::Dialog,
            PromptError::TimedOut(std::time::Duration::from_secs(40)),
            true,
        ),
        (
            Kind::Dialog,
            PromptError::Program(
                "zenity could not show its dialog (cannot open display: :77)".into(),
            ),
            false,
        ),
        (Kind::Terminal, PromptError::Interrupted, false),
    ];
    for (kind, ending, held_back) in cases {
        let what = ending.to_string();
        let mut w = World::new(&[]);
        let mut first = Source::new(kind, vec![Err(ending)]);
        assert!(w.get_with(&mut first, Mode::Cached).is_err());
        w.advance(chrono::Duration::seconds(30));
        let mut dialog = Source::new(Kind::Dialog, vec![Ok("123456")]);
        let second = w.get_with(&mut dialog, Mode::Cached);
        assert_eq!(second.is_err(), held_back, "after {what}: {second:?}");
        assert_eq!(dialog.asked, usize::from(!held_back), "after {what}");
    }
}
