//! The core: cache → lock → re-check → obtain (a code and STS, or AWS Sign-In: see
//! [`signin`]) → store.
//!
//! Invariants:
//! - credentials with less than their target's margin left are never returned from
//!   the cache (see [`crate::cache`] and [`Target::margin`]);
//! - one session per long-term identity and MFA device (the item name says which), so
//!   every profile that chains from it shares one code;
//! - only the holder of the identity's lock asks for a code; the others wait, then find
//!   the fresh session in the cache;
//! - an answer that is not 6 digits is asked again without calling STS; a code STS
//!   rejects is asked again; after [`TRIES`] answers it gives up;
//! - a session that STS issued is returned even if storing it fails, so no code is wasted;
//!   why it was not stored is one warning line on stderr (e.g. a full kernel quota).

mod signin;

pub(crate) use signin::SignInError;

use crate::aws::{AwsError, SignInService, Sts};
use crate::browser::Browser;
use crate::cache::{self, Cache};
use crate::cancel::Cancels;
use crate::codes::UsedCodes;
use crate::config::{KeySource, Settings, Target};
use crate::credentials::{LongTermKeys, SessionCredentials, iso8601};
use crate::lock::{self, LockError};
use crate::prompt::{CodeSource, Kind, PromptError};
use crate::runtime::{LazyRuntime, RuntimeError, file_name};
use crate::store::{Lookup, StoreError};
use crate::system::{Clock, Environment};

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
    Aws(#[from] AwsError),
    #[error("{0}")]
    SignIn(#[from] SignInError),
    #[error("{}", no_prompt(.0, .1, .2))]
    NoPrompt(String, String, Option<String>),
    #[error("interrupted at the MFA prompt; nothing was changed")]
    Interrupted,
    #[error(
        "the MFA prompt was cancelled; nothing was changed. Run `aws-mfa-proc login --profile {0}` when you want to be asked"
    )]
    Cancelled(String),
    #[error(
        "nobody answered the MFA dialog within {seconds} s. Run `aws-mfa-proc login --profile {profile}` when you are there",
        seconds = crate::prompt::DIALOG_DEADLINE.as_secs(),
        profile = .0
    )]
    Unanswered(String),
    #[error(
        "the MFA prompt this call was waiting for was cancelled or went unanswered. Run `aws-mfa-proc login --profile {0}`"
    )]
    CancelledElsewhere(String),
    #[error(
        "the MFA prompt was cancelled {ago} s ago — run `aws-mfa-proc login --profile {profile}` (no new dialog opens for {cooldown} s after a cancel)",
        ago = .0,
        profile = .1,
        cooldown = crate::cancel::COOLDOWN.num_seconds()
    )]
    RecentlyCancelled(i64, String),
    #[error(
        "{0} printed {1}, not a 6-digit code. Fix the command (`mfa_process`, `aws_mfa_proc_prompt`)"
    )]
    NotACode(String, &'static str),
    #[error(
        "AWS rejected the code from {0}. Check that it makes codes for {1} (and that the clock is right)"
    )]
    ProgramCodeRejected(String, String),
    #[error("{0}")]
    Prompt(PromptError),
    #[error("{0}, or run `aws-mfa-proc login --profile {1}` in a terminal")]
    DialogFailed(String, String),
    #[error(
        "no valid MFA code after {TRIES} tries. Wait for a fresh code and run `aws-mfa-proc login --profile {0}`"
    )]
    TooManyTries(String),
    #[error(
        "no long-term keys are stored for `{0}` in the {1}. Run `aws-mfa-proc add {0}` (or pass --source-profile PROFILE to read them from ~/.aws/credentials)"
    )]
    NoKeys(String, String),
    #[error(
        "the long-term keys of `{0}` were stored in the {1} (noted in {2}), and this call reached the {3} instead. Run it where the {1} is reachable (for a Secret Service: with your login session's DBUS_SESSION_BUS_ADDRESS), or store them here: `aws-mfa-proc add {0}`"
    )]
    KeysElsewhere(String, String, String, String),
    #[error(
        "the long-term keys stored for `{0}` are unreadable ({1}). Store them again with `aws-mfa-proc add {0}`"
    )]
    BadKeys(String, String),
    #[error(
        "STS issued credentials that expire at {0}, which this machine's clock says has passed. Fix the clock (e.g. enable NTP) and retry"
    )]
    ExpiredOnArrival(String),
}

/// The message when nothing can ask for a code: what happened, then every way out.
fn no_prompt(detail: &str, profile: &str, valid_until: &Option<String>) -> String {
    let what = match valid_until {
        None => format!("there is no valid MFA session and {detail}"),
        Some(until) => format!(
            "cannot ask for a new MFA code: {detail} (the cached session stays valid until {until})"
        ),
    };
    format!(
        "{what}. Run `aws-mfa-proc login --profile {profile}` in a terminal, or set `aws_mfa_proc_prompt` (zenity, kdialog, ykman) or `mfa_process` in the profile"
    )
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
    /// AWS Sign-In, the environment that says where it is, and the browser it opens.
    pub signin: &'a dyn SignInService,
    pub env: &'a dyn Environment,
    pub browser: &'a dyn Browser,
    /// `login --remote`: sign in on another device (the URL and the code on the
    /// terminal) instead of this machine's browser.
    pub remote: bool,
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
        && let Some(s) = before.as_ref().filter(|s| fresh(s, target, deps.clock))
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
    let mfa = target.mfa();
    let cancels = Cancels::new(dir, &cache::session_item(&mfa.keys, &mfa.mfa_serial));
    let started = deps.clock.now();
    if mode == Mode::Cached
        && deps.codes.kind() == Kind::Dialog
        && let Some(ago) = cancels.cooling(started)
    {
        return Err(SessionError::RecentlyCancelled(ago, mfa.profile.clone()));
    }
    let _guard = lock::acquire(
        dir,
        &cache::item(target),
        lock::WAIT,
        deps.clock,
        || match cancels.last() {
            Some(at) if at >= started => Err(SessionError::CancelledElsewhere(mfa.profile.clone())),
            _ => Ok(()),
        },
    )?;
    // Someone else may have refreshed while we waited for the lock.
    if let Some(s) = deps.cache.cached(target, deps.clock.now())? {
        let changed = before.as_ref().map(|b| b.expiration) != Some(s.expiration);
        if fresh(&s, target, deps.clock) && (mode == Mode::Cached || changed) {
            crate::debug!("another process refreshed `{}`", target.profile());
            return Ok(Served {
                credentials: s,
                mfa_session: None,
            });
        }
    }
    let (credentials, mfa_session) = match target {
        Target::Session(settings) if settings.is_sign_in() => {
            (signin::obtain(settings, deps, mode)?, None)
        }
        Target::Session(settings) => {
            let keys = long_term_keys(deps.cache, settings)?;
            let valid_until = before
                .as_ref()
                .filter(|s| fresh(s, target, deps.clock))
                .map(|s| iso8601(s.expiration));
            deps.codes.ready().map_err(|e| {
                SessionError::NoPrompt(e.to_string(), settings.profile.clone(), valid_until.clone())
            })?;
            let session = ask_and_exchange(settings, &keys, deps, &cancels, valid_until)?;
            cancels.clear();
            (session, None)
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
        Err(e) => {
            let line = format!(
                "the new credentials of `{}` work but could not be cached ({e}); you will be asked again next time",
                target.profile()
            );
            crate::log::notice(&format!("warning: {line}"));
            // The AWS CLI shows a helper's stderr only when it fails: tell the person
            // where they were asked, unless that is where stderr goes.
            if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                deps.codes.tell(&format!("aws-mfa-proc: warning: {line}"));
            }
        }
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
    cancels: &Cancels<'_>,
    valid_until: Option<String>,
) -> Result<SessionCredentials, SessionError> {
    let question = format!(
        "MFA code for profile `{}` ({}): ",
        settings.profile, settings.mfa_serial
    );
    let used = UsedCodes::new(deps.runtime.dir()?);
    let person = deps.codes.kind() != Kind::Program;
    let profile = || settings.profile.clone();
    let (mut tries, mut empty) = (0, 0);
    while tries < TRIES {
        let answer = deps.codes.ask(&question).map_err(|e| {
            // Only a person's cancel (or an unanswered dialog) stops the other callers
            // and holds dialogs back; Ctrl-C at a terminal reaches every caller on it
            // anyway, and a dialog that never showed was no one's answer.
            if matches!(e, PromptError::Cancelled | PromptError::TimedOut(_)) {
                cancels.mark(deps.clock.now());
            }
            match e {
                PromptError::Interrupted => SessionError::Interrupted,
                PromptError::Cancelled => SessionError::Cancelled(profile()),
                PromptError::TimedOut(_) => SessionError::Unanswered(profile()),
                e @ (PromptError::NoTerminal(_) | PromptError::Unavailable(_)) => {
                    SessionError::NoPrompt(e.to_string(), profile(), valid_until.clone())
                }
                PromptError::Program(why) if deps.codes.kind() == Kind::Dialog => {
                    SessionError::DialogFailed(why, profile())
                }
                other => SessionError::Prompt(other),
            }
        })?;
        // As authenticator apps show it, "123 456" is a code too.
        let code: String = answer.split_whitespace().collect();
        let code = code.as_str();
        if code.is_empty() && person && empty < TRIES {
            // An empty Enter (or OK) is not an answer: ask again, without using a try.
            empty += 1;
            continue;
        }
        tries += 1;
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            if !person {
                let what = if code.is_empty() {
                    "nothing"
                } else {
                    "something else"
                };
                return Err(SessionError::NotACode(deps.codes.name(), what));
            }
            deps.codes
                .tell("A code is 6 digits from your authenticator app. Try again.");
            continue;
        }
        if let Some(wait) = used.wait_for_next(&settings.mfa_serial, code, deps.clock.now()) {
            if person {
                deps.codes.tell(&format!(
                    "That code was already used, and AWS takes each code once. The next code comes in {wait} s."
                ));
            } else {
                // A program would print the same code again: wait for the next one.
                deps.clock
                    .sleep(std::time::Duration::from_secs(wait as u64 + 1));
            }
            continue;
        }
        match deps.sts.get_session_token(settings, keys, code) {
            Ok(session) => {
                used.remember(&settings.mfa_serial, code, deps.clock.now());
                return Ok(session);
            }
            Err(AwsError::WrongCode) if !person => {
                return Err(SessionError::ProgramCodeRejected(
                    deps.codes.name(),
                    settings.mfa_serial.clone(),
                ));
            }
            Err(AwsError::WrongCode) => deps
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
            Lookup::Missing => Err(match cache.keys_elsewhere(name) {
                Some((kept, note)) => {
                    SessionError::KeysElsewhere(name.clone(), kept, note, cache.describe())
                }
                None => SessionError::NoKeys(name.clone(), cache.describe()),
            }),
            Lookup::Unreadable(why) => Err(SessionError::BadKeys(name.clone(), why.to_string())),
        },
        KeySource::SignIn { .. } => unreachable!("a sign-in profile has no long-term keys"),
    }
}

fn fresh(session: &SessionCredentials, target: &Target, clock: &dyn Clock) -> bool {
    cache::fresh_at(session, clock.now(), target.margin())
}

#[cfg(test)]
mod tests;
