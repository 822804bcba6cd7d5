//! The core: cache → lock → re-check → code → STS → store → emit.
//!
//! Invariants:
//! - credentials with less than [`REFRESH_MARGIN`] left are never returned from the cache;
//! - one session per long-term identity and MFA device (the keychain item name says
//!   which), so every profile that chains from it shares one code;
//! - only the holder of the identity's lock asks for a code; the others wait, then find
//!   the fresh session in the keychain;
//! - an answer that is not 6 digits is asked again without calling STS; a code STS
//!   rejects is asked again; after [`TRIES`] answers it gives up;
//! - a session that STS issued is returned even if storing it fails, so no code is wasted.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::codes::UsedCodes;
use crate::config::{KeySource, REFRESH_MARGIN, Settings, Target};
use crate::credentials::{LongTermKeys, SessionCredentials, iso8601};
use crate::lock::{self, LockError};
use crate::prompt::{CodeSource, PromptError};
use crate::store::{self, Lookup, StoreError, Vault};
use crate::sts::{Sts, StsError};

/// How many answers the person gets before we give up.
pub const TRIES: usize = 3;

/// The clock, behind a trait so tests can move it.
pub trait Clock {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    Keychain(#[from] StoreError),
    #[error("{0}")]
    Lock(#[from] LockError),
    #[error("{0}")]
    Sts(#[from] StsError),
    #[error(
        "there is no valid MFA session and {0}. Run `aws-mfa-proc login --profile {1}` in a terminal, then retry"
    )]
    NoTerminal(String, String),
    #[error("interrupted at the MFA prompt; nothing was changed")]
    Interrupted,
    #[error("{0}")]
    Prompt(PromptError),
    #[error(
        "no valid MFA code after {TRIES} tries. Wait for a fresh code and run `aws-mfa-proc login --profile {0}`"
    )]
    TooManyTries(String),
    #[error(
        "no long-term keys are stored for `{0}` in the {1}. Run `aws-mfa-proc add {0}` (or pass --source-profile PROFILE to read them from ~/.aws/credentials)"
    )]
    NoKeys(String, String),
    #[error(
        "the long-term keys stored for `{0}` are unreadable ({1}). Store them again with `aws-mfa-proc add {0}`"
    )]
    BadKeys(String, String),
}

/// Whether a fresh cached session may be returned, or a new one must be made.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Return the cached session if it is fresh (credential mode).
    Cached,
    /// Ask for a code now, unless another process refreshed while we waited (`login`).
    Refresh,
}

/// The side effects the core needs.
pub struct Deps<'a> {
    pub vault: &'a Vault,
    pub sts: &'a dyn Sts,
    pub codes: &'a mut dyn CodeSource,
    pub clock: &'a dyn Clock,
    /// Private per-user directory for locks and spent-code records.
    pub runtime_dir: PathBuf,
}

/// The keychain item that caches what `target` asks for.
pub fn item(target: &Target) -> String {
    match target {
        Target::Session(s) => store::session_item(&s.keys.id(), &s.mfa_serial),
        Target::Role(r) => store::role_item(&r.mfa.keys.id(), &r.mfa.mfa_serial, &r.role_arn),
    }
}

/// The cached credentials as they are, if readable (for `status`).
pub fn cached(vault: &Vault, target: &Target) -> Result<Option<SessionCredentials>, StoreError> {
    Ok(match vault.get_session(&item(target))? {
        Lookup::Found(s) if belongs_to(&s, &target.mfa().keys) => Some(s),
        _ => None,
    })
}

/// The front door's only question: is there a fresh copy of `target`'s credentials in
/// the kernel keyring? Never connects to the keychain, never asks, never calls STS.
pub fn fresh_copy(
    vault: &Vault,
    target: &Target,
    now: DateTime<Utc>,
) -> Option<SessionCredentials> {
    vault
        .session_copy(&item(target))
        .filter(|s| belongs_to(s, &target.mfa().keys) && fresh_at(s, now))
}

/// Credentials for `target`, from the keychain, or made anew: an MFA session from a
/// code, a role from the MFA session (which may in turn need a code).
pub fn get(
    target: &Target,
    deps: &mut Deps<'_>,
    mode: Mode,
) -> Result<SessionCredentials, SessionError> {
    let item = item(target);
    let before = cached(deps.vault, target)?;
    if mode == Mode::Cached
        && let Some(s) = before.as_ref().filter(|s| fresh(s, deps.clock))
    {
        crate::debug!(
            "cache hit for `{}`, expires {}",
            target.profile(),
            iso8601(s.expiration)
        );
        return Ok(s.clone());
    }
    let guard = lock::acquire(&deps.runtime_dir, &item, lock::WAIT)?;
    // Someone else may have refreshed while we waited for the lock.
    if let Some(s) = cached(deps.vault, target)? {
        let changed = before.as_ref().map(|b| b.expiration) != Some(s.expiration);
        if fresh(&s, deps.clock) && (mode == Mode::Cached || changed) {
            crate::debug!("another process refreshed `{}`", target.profile());
            return Ok(s);
        }
    }
    let fresh_credentials = match target {
        Target::Session(settings) => {
            let keys = long_term_keys(deps.vault, settings)?;
            deps.codes
                .ready()
                .map_err(|e| SessionError::NoTerminal(e.to_string(), settings.profile.clone()))?;
            ask_and_exchange(settings, &keys, deps)?
        }
        Target::Role(role) => {
            let mfa = get(&Target::Session(role.mfa.clone()), deps, mode)?;
            crate::debug!("assuming {} for `{}`", role.role_arn, role.profile);
            deps.sts.assume_role(role, &mfa)?
        }
    };
    match deps.vault.put_session(&item, &fresh_credentials) {
        Ok(()) => guard.touch_stamp(),
        Err(e) => deps.codes.tell(&format!(
            "aws-mfa-proc: warning: the new credentials work but could not be cached ({e}); you will be asked again next time"
        )),
    }
    Ok(fresh_credentials)
}

fn ask_and_exchange(
    settings: &Settings,
    keys: &LongTermKeys,
    deps: &mut Deps<'_>,
) -> Result<SessionCredentials, SessionError> {
    let question = format!(
        "MFA code for profile `{}` ({}): ",
        settings.profile, settings.mfa_serial
    );
    let used = UsedCodes::new(&deps.runtime_dir);
    for _ in 0..TRIES {
        let answer = deps.codes.ask(&question).map_err(|e| match e {
            PromptError::Interrupted => SessionError::Interrupted,
            PromptError::NoTerminal(d) => SessionError::NoTerminal(d, settings.profile.clone()),
            other => SessionError::Prompt(other),
        })?;
        // As authenticator apps show it, "123 456" is a code too.
        let code: String = answer.split_whitespace().collect();
        let code = code.as_str();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            deps.codes
                .tell("A code is 6 digits from your authenticator app. Try again.");
            continue;
        }
        if let Some(wait) = used.wait_for_next(&settings.mfa_serial, code, deps.clock.now()) {
            deps.codes.tell(&format!(
                "That code was already used, and AWS takes each code once. The next code comes in {wait} s."
            ));
            continue;
        }
        match deps.sts.get_session_token(settings, keys, code) {
            Ok(session) => {
                used.remember(&settings.mfa_serial, code, deps.clock.now());
                return Ok(session);
            }
            Err(StsError::WrongCode) => deps
                .codes
                .tell("AWS rejected that code. Wait for the next one and try again."),
            Err(e) => return Err(e.into()),
        }
    }
    Err(SessionError::TooManyTries(settings.profile.clone()))
}

fn long_term_keys(vault: &Vault, settings: &Settings) -> Result<LongTermKeys, SessionError> {
    match &settings.keys {
        KeySource::SharedProfile { keys, .. } => Ok(keys.clone()),
        KeySource::Keychain(name) => {
            match vault.get_record::<LongTermKeys>(&store::keys_item(name))? {
                Lookup::Found(keys) => Ok(keys),
                Lookup::Missing => Err(SessionError::NoKeys(name.clone(), vault.describe())),
                Lookup::Unreadable(why) => Err(SessionError::BadKeys(name.clone(), why)),
            }
        }
    }
}

/// A cached session made from other keys than the profile's current ones is not ours.
fn belongs_to(session: &SessionCredentials, keys: &KeySource) -> bool {
    match keys {
        KeySource::SharedProfile { keys, .. } => session.source_access_key_id == keys.access_key_id,
        KeySource::Keychain(_) => true,
    }
}

fn fresh(session: &SessionCredentials, clock: &dyn Clock) -> bool {
    fresh_at(session, clock.now())
}

fn fresh_at(session: &SessionCredentials, now: DateTime<Utc>) -> bool {
    session
        .remaining(now)
        .to_std()
        .is_ok_and(|left| left >= REFRESH_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_DURATION, RoleSettings};
    use crate::secret::Secret;
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;

    struct FixedClock(Cell<DateTime<Utc>>);
    impl Clock for FixedClock {
        fn now(&self) -> DateTime<Utc> {
            self.0.get()
        }
    }

    /// Answers from a script, and remembers what it was asked and told.
    #[derive(Default)]
    struct Script {
        answers: VecDeque<&'static str>,
        no_terminal: bool,
        asked: usize,
        told: Vec<String>,
    }
    impl CodeSource for Script {
        fn ready(&mut self) -> Result<(), PromptError> {
            if self.no_terminal {
                return Err(PromptError::NoTerminal("No such device or address".into()));
            }
            Ok(())
        }
        fn ask(&mut self, _question: &str) -> Result<String, PromptError> {
            self.asked += 1;
            self.answers
                .pop_front()
                .map(String::from)
                .ok_or(PromptError::Interrupted)
        }
        fn tell(&mut self, message: &str) {
            self.told.push(message.to_string());
        }
    }

    /// Accepts any code but `000000`, and counts calls.
    struct FakeSts {
        calls: RefCell<Vec<String>>,
        /// The MFA session key each AssumeRole was made with.
        roles: RefCell<Vec<String>>,
        now: Cell<DateTime<Utc>>,
    }
    impl Sts for FakeSts {
        fn get_session_token(
            &self,
            s: &Settings,
            keys: &LongTermKeys,
            code: &str,
        ) -> Result<SessionCredentials, StsError> {
            self.calls.borrow_mut().push(code.to_string());
            if code == "000000" {
                return Err(StsError::WrongCode);
            }
            Ok(SessionCredentials {
                access_key_id: format!("ASIA{}", self.calls.borrow().len()),
                secret_access_key: Secret::new("session-secret".into()),
                session_token: Secret::new("session-token".into()),
                expiration: self.now.get() + chrono::Duration::from_std(s.duration).unwrap(),
                source_access_key_id: keys.access_key_id.clone(),
            })
        }

        fn assume_role(
            &self,
            role: &RoleSettings,
            session: &SessionCredentials,
        ) -> Result<SessionCredentials, StsError> {
            self.roles.borrow_mut().push(session.access_key_id.clone());
            Ok(SessionCredentials {
                access_key_id: format!("ASIAROLE{}", self.roles.borrow().len()),
                secret_access_key: Secret::new("role-secret".into()),
                session_token: Secret::new("role-token".into()),
                expiration: self.now.get() + chrono::Duration::from_std(role.duration).unwrap(),
                source_access_key_id: session.source_access_key_id.clone(),
            })
        }
    }

    struct World {
        vault: Vault,
        sts: FakeSts,
        clock: FixedClock,
        codes: Script,
        target: Target,
        dir: tempfile::TempDir,
    }

    impl World {
        fn new(answers: &[&'static str]) -> World {
            let now = Utc::now();
            let vault = Vault::memory();
            vault
                .put_record(
                    &store::keys_item("mfa"),
                    &LongTermKeys {
                        access_key_id: "AKIAEXAMPLE".into(),
                        secret_access_key: Secret::new("long-term".into()),
                    },
                )
                .unwrap();
            World {
                vault,
                sts: FakeSts {
                    calls: RefCell::default(),
                    roles: RefCell::default(),
                    now: Cell::new(now),
                },
                clock: FixedClock(Cell::new(now)),
                codes: Script {
                    answers: answers.iter().copied().collect(),
                    ..Script::default()
                },
                target: Target::Session(Settings {
                    profile: "mfa".into(),
                    mfa_serial: "arn:aws:iam::111111111111:mfa/alice".into(),
                    region: "eu-west-1".into(),
                    profile_region: Some("eu-west-1".into()),
                    duration: DEFAULT_DURATION,
                    keys: KeySource::Keychain("mfa".into()),
                    endpoint: None,
                }),
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn get(&mut self, mode: Mode) -> Result<SessionCredentials, SessionError> {
            let mut deps = Deps {
                vault: &self.vault,
                sts: &self.sts,
                codes: &mut self.codes,
                clock: &self.clock,
                runtime_dir: self.dir.path().join("locks"),
            };
            get(&self.target, &mut deps, mode)
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
                mfa,
            });
            self
        }

        fn advance(&self, by: chrono::Duration) {
            self.clock.0.set(self.clock.0.get() + by);
            self.sts.now.set(self.clock.0.get());
        }
    }

    #[test]
    fn the_first_call_asks_and_the_second_is_served_from_the_keychain() {
        let mut w = World::new(&["123456"]);
        let first = w.get(Mode::Cached).unwrap();
        let second = w.get(Mode::Cached).unwrap();
        assert_eq!(first.access_key_id, second.access_key_id);
        assert_eq!(w.codes.asked, 1);
        assert_eq!(w.sts.calls.borrow().len(), 1);
    }

    #[test]
    fn a_session_inside_the_refresh_margin_is_not_returned() {
        let mut w = World::new(&["123456", "654321"]);
        w.get(Mode::Cached).unwrap();
        w.advance(chrono::Duration::hours(12) - chrono::Duration::minutes(16));
        w.get(Mode::Cached).unwrap();
        assert_eq!(w.codes.asked, 1, "16 minutes left is still fresh");
        w.advance(chrono::Duration::minutes(6));
        let renewed = w.get(Mode::Cached).unwrap();
        assert_eq!(w.codes.asked, 2, "10 minutes left asks again");
        assert!(renewed.remaining(w.clock.now()) > chrono::Duration::hours(11));
    }

    #[test]
    fn a_malformed_answer_is_asked_again_without_calling_sts() {
        let mut w = World::new(&["abc", "12345", "123456"]);
        w.get(Mode::Cached).unwrap();
        assert_eq!(w.codes.asked, 3);
        assert_eq!(*w.sts.calls.borrow(), vec!["123456"]);
    }

    #[test]
    fn a_code_typed_as_the_app_shows_it_with_a_space_is_a_code() {
        let mut w = World::new(&["123 456"]);
        w.get(Mode::Cached).unwrap();
        assert_eq!(*w.sts.calls.borrow(), vec!["123456"]);
    }

    #[test]
    fn a_rejected_code_is_asked_again_and_three_failures_give_up() {
        let mut w = World::new(&["000000", "123456"]);
        w.get(Mode::Cached).unwrap();
        assert_eq!(w.codes.asked, 2);
        assert!(w.codes.told.iter().any(|t| t.contains("rejected")));

        let mut w = World::new(&["000000", "x", "000000", "123456"]);
        let err = w.get(Mode::Cached).unwrap_err();
        assert!(matches!(err, SessionError::TooManyTries(_)), "{err}");
        assert_eq!(w.codes.asked, 3);
    }

    #[test]
    fn without_a_terminal_the_error_says_to_run_login() {
        let mut w = World::new(&[]);
        w.codes.no_terminal = true;
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
            w.codes
                .told
                .iter()
                .any(|t| t.contains("already used") && t.contains("next code comes in"))
        );
    }

    #[test]
    fn a_role_is_assumed_once_and_then_served_from_the_keychain() {
        let mut w = World::new(&["123456"]).into_role();
        for _ in 0..5 {
            let role = w.get(Mode::Cached).unwrap();
            assert_eq!(role.access_key_id, "ASIAROLE1");
        }
        assert_eq!(w.codes.asked, 1);
        assert_eq!(w.sts.calls.borrow().len(), 1);
        assert_eq!(w.sts.roles.borrow().len(), 1);
    }

    #[test]
    fn an_expiring_role_is_renewed_without_a_code_while_the_mfa_session_lasts() {
        let mut w = World::new(&["123456"]).into_role();
        w.get(Mode::Cached).unwrap();
        w.advance(chrono::Duration::minutes(50));
        let renewed = w.get(Mode::Cached).unwrap();
        assert_eq!(renewed.access_key_id, "ASIAROLE2");
        assert_eq!(w.codes.asked, 1, "no second code");
        assert_eq!(*w.sts.roles.borrow(), vec!["ASIA1", "ASIA1"]);
    }

    #[test]
    fn login_asks_even_when_the_session_is_fresh() {
        let mut w = World::new(&["123456", "234567"]);
        w.get(Mode::Cached).unwrap();
        w.get(Mode::Refresh).unwrap();
        assert_eq!(w.codes.asked, 2);
    }

    #[test]
    fn a_corrupt_cached_item_is_a_miss_and_is_replaced() {
        let mut w = World::new(&["123456"]);
        w.vault.put(&item(&w.target), b"garbage").unwrap();
        w.get(Mode::Cached).unwrap();
        assert!(cached(&w.vault, &w.target).unwrap().is_some());
    }

    #[test]
    fn missing_keys_name_the_add_command_before_asking() {
        let mut w = World::new(&["123456"]);
        w.vault.delete(&store::keys_item("mfa")).unwrap();
        let err = w.get(Mode::Cached).unwrap_err().to_string();
        assert!(err.contains("aws-mfa-proc add mfa"), "{err}");
        assert_eq!(w.codes.asked, 0);
    }
}
