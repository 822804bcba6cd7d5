//! The program's errors, their exit codes, and the one line each becomes.
//!
//! Invariants:
//! - every error the person sees is one line on stderr, prefixed `aws-mfa-proc: `,
//!   that says what happened, for which profile, and what to run; control characters
//!   (from a profile name, a file, or a service's answer) are escaped, and no message is
//!   longer than [`MAX_MESSAGE`];
//! - exit codes: 1 for any failure, 130 after Ctrl-C at a prompt; `exec` passes on
//!   its program's own.

use super::exec::ExecError;
use crate::config::ConfigError;
use crate::error::{MAX_MESSAGE, one_line};
use crate::runtime::RuntimeError;
use crate::session::SessionError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("{}{source}", profile_prefix(.profile, .source))]
    Config {
        profile: Option<String>,
        source: ConfigError,
    },
    #[error("profile `{0}`: {1}")]
    Session(String, SessionError),
    #[error("profile `{0}`: {1}")]
    Keychain(String, StoreError),
    /// The keychain failed before any profile was chosen (`setup`).
    #[error("{0}")]
    Store(StoreError),
    #[error("profile `{0}`: {1}")]
    Runtime(String, RuntimeError),
    #[error("{0}")]
    Input(String),
    /// Ctrl-C at a prompt: exit 130, as a shell expects.
    #[error("{0}")]
    Interrupted(String),
    #[error("cannot write to stdout: {0}")]
    Output(std::io::Error),
    #[error("profile `{0}`: {1}")]
    Exec(String, ExecError),
}

impl Error {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Error::Session(_, SessionError::Interrupted) | Error::Interrupted(_) => 130,
            _ => 1,
        }
    }

    /// The message as printed: one line, bounded.
    pub(crate) fn line(&self) -> String {
        one_line(&format!("aws-mfa-proc: {self}"), MAX_MESSAGE)
    }
}

fn profile_prefix(profile: &Option<String>, source: &ConfigError) -> String {
    match (profile, source.names_profile()) {
        (Some(p), false) => format!("profile `{p}`: "),
        _ => String::new(),
    }
}
