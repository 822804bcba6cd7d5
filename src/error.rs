//! The program's errors, their exit codes, and how a message becomes one line.
//!
//! Invariants:
//! - every error the person sees is one line on stderr, prefixed `aws-mfa-proc: `,
//!   that says what happened, for which profile, and what to run; control characters
//!   (from a profile name, a file, or a service's answer) are escaped, and no message is
//!   longer than [`MAX_MESSAGE`];
//! - exit codes: 1 for any failure, 130 after Ctrl-C at a prompt; `exec` passes on
//!   its program's own.

use crate::commands::exec::ExecError;
use crate::config::ConfigError;
use crate::runtime::RuntimeError;
use crate::session::SessionError;
use crate::store::StoreError;

/// The longest message printed.
pub(crate) const MAX_MESSAGE: usize = 2000;

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

/// `error: cause: cause…`, for errors from other crates.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `text` with control characters escaped (`\n`, `\u{1b}`), cut to `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    clip(&escape_controls(text), max)
}

/// `text` with every control character escaped (`\n`, `\u{1b}`): what a terminal
/// shows of it is what it says, never a command to the terminal or a line of its own.
pub(crate) fn escape_controls(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let shown: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            shown
        })
        .collect()
}

/// `text` cut to at most `max` characters, marked with `…` when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_bounded_line() {
        assert_eq!(one_line("a\nb\tc\u{1b}[31m", 100), r"a\nb\tc\u{1b}[31m");
        let long = "x".repeat(100_000);
        assert_eq!(one_line(&long, 300).chars().count(), 301);
        assert_eq!(clip("héllo", 2), "hé…");
    }
}
