//! The process's view of the world that is not a file or a service: its environment
//! variables and the clock. Both are traits, passed in, so no code reads them directly.
//!
//! Invariants:
//! - nothing outside this module calls `std::env::var` or `Utc::now`, and every wait on
//!   time alone (a lock poll, the next TOTP period, a retry) is a [`Clock::sleep`];
//! - an empty variable counts as unset, as the AWS SDKs treat it;
//! - each trait has an in-memory twin ([`FakeEnv`], [`FixedClock`]) for unit tests.

use chrono::{DateTime, Utc};

/// Environment variables.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// No variables at all (the fuzzer's environment).
pub struct NoEnv;

impl Environment for NoEnv {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
}

/// The clock, so tests can move it: every wait (a lock poll, the next TOTP period, a
/// retry) sleeps through it, so the twin passes time without waiting.
pub trait Clock {
    fn now(&self) -> DateTime<Utc>;
    fn sleep(&self, period: std::time::Duration);
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep(&self, period: std::time::Duration) {
        std::thread::sleep(period)
    }
}

/// The AWS variables that carry credentials: never handed to a program that is not
/// meant to have them (dialogs, `mfa_process`), and replaced wholesale by `exec`.
pub const CREDENTIAL_VARIABLES: [&str; 4] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
];

#[cfg(any(test, feature = "twins"))]
pub use twins::{FakeEnv, FixedClock};

#[cfg(any(test, feature = "twins"))]
mod twins {
    use super::*;
    use std::cell::Cell;
    use std::collections::HashMap;

    /// A fixed set of variables.
    #[derive(Default)]
    pub struct FakeEnv(pub HashMap<String, String>);

    impl FakeEnv {
        pub fn with(mut self, name: &str, value: impl Into<String>) -> FakeEnv {
            self.0.insert(name.to_string(), value.into());
            self
        }
    }

    impl Environment for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).filter(|v| !v.is_empty()).cloned()
        }
    }

    /// A clock that moves only when told, or when slept on: a sleep passes at once and
    /// moves it on by as long.
    pub struct FixedClock(pub Cell<DateTime<Utc>>);

    impl Default for FixedClock {
        fn default() -> FixedClock {
            FixedClock::new()
        }
    }

    impl FixedClock {
        pub fn new() -> FixedClock {
            FixedClock(Cell::new(Utc::now()))
        }
        pub fn advance(&self, by: chrono::Duration) {
            self.0.set(self.0.get() + by);
        }
    }

    impl Clock for FixedClock {
        fn now(&self) -> DateTime<Utc> {
            self.0.get()
        }
        fn sleep(&self, period: std::time::Duration) {
            self.advance(chrono::Duration::from_std(period).expect("a short sleep"));
        }
    }
}
