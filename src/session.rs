//! The core: cache → lock → re-check → code → STS → store.
//!
//! Invariants:
//! - credentials with less than the refresh margin left are never returned from the
//!   cache (see [`crate::cache`]);
//! - one session per long-term identity and MFA device (the item name says which), so
//!   every profile that chains from it shares one code;
//! - only the holder of the identity's lock asks for a code; the others wait, then find
//!   the fresh session in the cache;
//! - an answer that is not 6 digits is asked again without calling STS; a code STS
//!   rejects is asked again; after [`TRIES`] answers it gives up;
//! - a session that STS issued is returned even if storing it fails, so no code is wasted.

use crate::cache::{self, Cache};
use crate::codes::UsedCodes;
use crate::config::{KeySource, Settings, Target};
use crate::credentials::{LongTermKeys, SessionCredentials, iso8601};
use crate::lock::{self, LockError};
use crate::prompt::{CodeSource, PromptError};
use crate::runtime::{LazyRuntime, RuntimeError, file_name};
use crate::store::{Lookup, StoreError};
use crate::sts::{Sts, StsError};
use crate::system::Clock;

/// How many answers the person gets before we give up.
pub(crate) const TRIES: usize = 3;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error("{0}")]
    Keychain(#[from] StoreError),
    #[error("{0}")]
    Lock(#[from] LockError),
    #[error("{0}")]
    Runtime(#[from] RuntimeError),
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
    #[error(
        "STS issued credentials that expire at {0}, which this machine's clock says has passed. Fix the clock (e.g. enable NTP) and retry"
    )]
    ExpiredOnArrival(String),
}

/// Whether a fresh cached session may be returned, or a new one must be made.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Return the cached session if it is fresh (credential mode).
    Cached,
    /// Ask for a code now, unless another process refreshed while we waited (`login`).
    Refresh,
}

/// The side effects the core needs.
pub(crate) struct Deps<'a> {
    pub cache: &'a Cache,
    pub sts: &'a dyn Sts,
    pub codes: &'a mut dyn CodeSource,
    pub clock: &'a dyn Clock,
    pub runtime: &'a LazyRuntime<'a>,
}

/// What [`get`] served.
pub(crate) struct Served {
    pub credentials: SessionCredentials,
    /// The MFA session it used to make a role, if it needed one.
    pub mfa_session: Option<SessionCredentials>,
}

/// The name of the empty file touched whenever `target`'s credentials are refreshed
/// (direnv watches it). It holds nothing.
pub(crate) fn stamp_name(target: &Target) -> String {
    file_name(&cache::item(target), "refreshed")
}

/// Credentials for `target`, from the cache, or made anew: an MFA session from a code,
/// a role from the MFA session (which may in turn need a code).
pub(crate) fn get(
    target: &Target,
    deps: &mut Deps<'_>,
    mode: Mode,
) -> Result<Served, SessionError> {
    let before = deps.cache.cached(target, deps.clock.now())?;
    if mode == Mode::Cached
        && let Some(s) = before.as_ref().filter(|s| fresh(s, deps.clock))
    {
        crate::debug!(
            "cache hit for `{}`, expires {}",
            target.profile(),
            iso8601(s.expiration)
        );
        return Ok(Served {
            credentials: s.clone(),
            mfa_session: None,
        });
    }
    let dir = deps.runtime.dir()?;
    let _guard = lock::acquire::<SessionError>(dir, &cache::item(target), lock::WAIT, || Ok(()))?;
    // Someone else may have refreshed while we waited for the lock.
    if let Some(s) = deps.cache.cached(target, deps.clock.now())? {
        let changed = before.as_ref().map(|b| b.expiration) != Some(s.expiration);
        if fresh(&s, deps.clock) && (mode == Mode::Cached || changed) {
            crate::debug!("another process refreshed `{}`", target.profile());
            return Ok(Served {
                credentials: s,
                mfa_session: None,
            });
        }
    }
    let (credentials, mfa_session) = match target {
        Target::Session(settings) => {
            let keys = long_term_keys(deps.cache, settings)?;
            deps.codes
                .ready()
                .map_err(|e| SessionError::NoTerminal(e.to_string(), settings.profile.clone()))?;
            (ask_and_exchange(settings, &keys, deps)?, None)
        }
        Target::Role(role) => {
            let mfa = get(&Target::Session(role.mfa.clone()), deps, mode)?.credentials;
            crate::debug!("assuming {} for `{}`", role.role_arn, role.profile);
            (deps.sts.assume_role(role, &mfa)?, Some(mfa))
        }
    };
    if credentials.expiration <= deps.clock.now() {
        return Err(SessionError::ExpiredOnArrival(iso8601(
            credentials.expiration,
        )));
    }
    match deps.cache.store(target, &credentials, deps.clock.now()) {
        Ok(()) => {
            let _ = dir.write_file(&stamp_name(target), b"");
        }
        Err(e) => deps.codes.tell(&format!(
            "aws-mfa-proc: warning: the new credentials work but could not be cached ({e}); you will be asked again next time"
        )),
    }
    Ok(Served {
        credentials,
        mfa_session,
    })
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
    let used = UsedCodes::new(deps.runtime.dir()?);
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

fn long_term_keys(cache: &Cache, settings: &Settings) -> Result<LongTermKeys, SessionError> {
    match &settings.keys {
        KeySource::SharedProfile { keys, .. } => Ok(keys.clone()),
        KeySource::Keychain(name) => match cache.keys(name)? {
            Lookup::Found(keys) => Ok(keys),
            Lookup::Missing => Err(SessionError::NoKeys(name.clone(), cache.vault.describe())),
            Lookup::Unreadable(why) => Err(SessionError::BadKeys(name.clone(), why.to_string())),
        },
    }
}

fn fresh(session: &SessionCredentials, clock: &dyn Clock) -> bool {
    cache::fresh_at(session, clock.now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_DURATION, RoleSettings};
    use crate::kernel::MemoryKernel;
    use crate::prompt::{Scripted, Typed};
    use crate::secret::Secret;
    use crate::system::{FakeEnv, FixedClock};
    use chrono::{DateTime, Utc};
    use std::cell::{Cell, RefCell};

    /// Accepts any code but `000000`, and counts calls.
    struct FakeSts {
        calls: RefCell<Vec<String>>,
        /// The MFA session key each AssumeRole was made with.
        roles: RefCell<Vec<String>>,
        now: Cell<DateTime<Utc>>,
    }

    /// A well-formed access key ID, numbered.
    fn key_id(prefix: &str, n: usize) -> String {
        format!("{prefix}{n:0>12}")
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
                access_key_id: key_id("ASIA", self.calls.borrow().len()),
                secret_access_key: Secret::new("sessionsecret".into()),
                session_token: Secret::new("sessiontoken".into()),
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
                access_key_id: key_id("ASIAROLE", self.roles.borrow().len()),
                secret_access_key: Secret::new("rolesecret".into()),
                session_token: Secret::new("roletoken".into()),
                expiration: self.now.get() + chrono::Duration::from_std(role.duration).unwrap(),
                source_access_key_id: session.source_access_key_id.clone(),
            })
        }
    }

    struct World {
        cache: Cache,
        sts: FakeSts,
        clock: FixedClock,
        terminal: Scripted,
        target: Target,
        env: FakeEnv,
        _home: tempfile::TempDir,
    }

    impl World {
        fn new(answers: &[&str]) -> World {
            let clock = FixedClock::new();
            let cache = Cache::memory(Box::new(MemoryKernel::default()));
            cache
                .vault
                .put_record(
                    &cache::keys_item("mfa"),
                    &LongTermKeys {
                        access_key_id: "AKIAEXAMPLE00001".into(),
                        secret_access_key: Secret::new("longterm".into()),
                    },
                    None,
                )
                .unwrap();
            let home = tempfile::tempdir().unwrap();
            World {
                cache,
                sts: FakeSts {
                    calls: RefCell::default(),
                    roles: RefCell::default(),
                    now: Cell::new(clock.now()),
                },
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
                }),
                env: FakeEnv::default().with("HOME", home.path().to_str().unwrap()),
                _home: home,
            }
        }

        fn get(&mut self, mode: Mode) -> Result<SessionCredentials, SessionError> {
            let runtime = LazyRuntime::new(&self.env);
            let mut codes = Typed(&mut self.terminal);
            let mut deps = Deps {
                cache: &self.cache,
                sts: &self.sts,
                codes: &mut codes,
                clock: &self.clock,
                runtime: &runtime,
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
        w.cache.vault.put_raw(&cache::item(&w.target), b"garbage");
        w.get(Mode::Cached).unwrap();
        assert!(w.cache.cached(&w.target, w.clock.now()).unwrap().is_some());
    }

    #[test]
    fn missing_keys_name_the_add_command_before_asking() {
        let mut w = World::new(&["123456"]);
        w.cache.vault.delete(&cache::keys_item("mfa")).unwrap();
        let err = w.get(Mode::Cached).unwrap_err().to_string();
        assert!(err.contains("aws-mfa-proc add mfa"), "{err}");
        assert_eq!(w.asked(), 0);
    }
}
