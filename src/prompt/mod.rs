//! Where MFA codes come from. A code source is one small trait ([`CodeSource`]); the
//! person at the controlling terminal is one source ([`Typed`] over a [`Terminal`]).
//!
//! Invariants:
//! - questions and notices go to the person directly (the terminal device), never to
//!   stdout (the SDK's) or stderr (hidden by most callers);
//! - stdin is never read: under Node it is a pipe that never closes;
//! - a source that can never answer says so at once, in [`CodeSource::ready`].

mod terminal;

pub(crate) use terminal::{ControllingTerminal, Terminal};

#[derive(Debug, thiserror::Error)]
pub(crate) enum PromptError {
    #[error("no terminal to ask on ({0})")]
    NoTerminal(String),
    #[error("interrupted at the prompt")]
    Interrupted,
    #[error("reading from the terminal failed: {0}")]
    Io(String),
}

/// A source of MFA codes.
pub(crate) trait CodeSource {
    /// Fails fast when no answer can ever come (e.g. no terminal).
    fn ready(&mut self) -> Result<(), PromptError>;
    /// Asks once and returns the raw answer.
    fn ask(&mut self, question: &str) -> Result<String, PromptError>;
    /// Tells the person something, best effort.
    fn tell(&mut self, message: &str);
}

/// Codes typed by the person at a terminal, hidden as they type.
pub(crate) struct Typed<'a>(pub &'a mut dyn Terminal);

impl CodeSource for Typed<'_> {
    fn ready(&mut self) -> Result<(), PromptError> {
        self.0.present()
    }
    fn ask(&mut self, question: &str) -> Result<String, PromptError> {
        self.0.read_secret(question).map(|s| s.expose().clone())
    }
    fn tell(&mut self, message: &str) {
        self.0.tell(message)
    }
}

#[cfg(test)]
pub(crate) use terminal::Scripted;
