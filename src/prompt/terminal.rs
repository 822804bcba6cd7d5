//! The controlling terminal: the one channel to the person that works under every
//! caller (`/dev/tty` on Unix, `CONIN$`/`CONOUT$` on Windows).
//!
//! Invariants:
//! - nothing is read from stdin or written to stdout/stderr here;
//! - hidden answers are read with echo off, and Ctrl-C restores the terminal before
//!   the program ends (exit 130);
//! - with no controlling terminal (IDE, cron, `setsid`), [`Terminal::present`] fails at once;
//! - every text written here (questions and messages) has its control characters
//!   escaped: a value from AWS or a config cannot move the cursor, retitle the window
//!   or fake a line.

use std::io::Write;

use super::PromptError;
use crate::error::escape_controls;
use crate::secret::Secret;

/// The person at the terminal.
pub(crate) trait Terminal {
    /// Fails at once if there is no controlling terminal.
    fn present(&self) -> Result<(), PromptError>;
    /// Asks, and reads the answer with echo off.
    fn read_secret(&mut self, question: &str) -> Result<Secret<String>, PromptError>;
    /// Asks, and reads a line that shows as it is typed.
    fn read_line(&mut self, question: &str) -> Result<String, PromptError>;
    /// Tells the person something, best effort.
    fn tell(&mut self, message: &str);
}

/// Ctrl-C at the prompt: rpassword turns off ISIG, reads the 0x03 byte and raises
/// SIGINT itself. Were that to kill us, the terminal would stay in raw mode. So while a
/// prompt is open SIGINT is swallowed, rpassword restores the terminal and returns
/// `Interrupted`; at any other time SIGINT does what it always does.
mod interrupt {
    #[cfg(unix)]
    static DEFAULT_ACTION: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
        std::sync::OnceLock::new();

    pub(super) struct Held;

    #[cfg(unix)]
    pub(super) fn hold() -> Held {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let flag = DEFAULT_ACTION.get_or_init(|| {
            let flag = Arc::new(AtomicBool::new(true));
            let _ = signal_hook::flag::register_conditional_default(
                signal_hook::consts::SIGINT,
                flag.clone(),
            );
            flag
        });
        flag.store(false, Ordering::SeqCst);
        Held
    }

    #[cfg(not(unix))]
    pub(super) fn hold() -> Held {
        Held
    }

    impl Drop for Held {
        fn drop(&mut self) {
            #[cfg(unix)]
            if let Some(flag) = DEFAULT_ACTION.get() {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }
}

/// A terminal that another program has (`exec --server`'s command): never asked, so
/// a code comes from a dialog or `mfa_process`, or the answer names `login`.
pub(crate) struct Elsewhere(pub String);

impl Terminal for Elsewhere {
    fn present(&self) -> Result<(), PromptError> {
        Err(PromptError::NoTerminal(format!(
            "the terminal belongs to `{}`",
            crate::error::clip(&self.0, 40)
        )))
    }
    fn read_secret(&mut self, _: &str) -> Result<Secret<String>, PromptError> {
        Err(self.present().unwrap_err())
    }
    fn read_line(&mut self, _: &str) -> Result<String, PromptError> {
        Err(self.present().unwrap_err())
    }
    fn tell(&mut self, _: &str) {}
}

/// The real controlling terminal.
pub(crate) struct ControllingTerminal;

#[cfg(unix)]
const TTY: (&str, &str) = ("/dev/tty", "/dev/tty");
#[cfg(windows)]
const TTY: (&str, &str) = ("CONIN$", "CONOUT$");

impl ControllingTerminal {
    fn open() -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(TTY.1)
    }
    fn open_in() -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new().read(true).open(TTY.0)
    }
}

fn interrupted_or(e: std::io::Error) -> PromptError {
    match e.kind() {
        std::io::ErrorKind::Interrupted | std::io::ErrorKind::UnexpectedEof => {
            PromptError::Interrupted
        }
        _ => PromptError::Io(e.to_string()),
    }
}

/// Why the terminal cannot be opened, in the person's words.
fn no_terminal(e: std::io::Error) -> PromptError {
    // ENXIO: the process has no controlling terminal (an IDE, cron, `setsid`).
    PromptError::NoTerminal(match e.raw_os_error() {
        Some(6) => "no controlling terminal".into(),
        _ => e.to_string(),
    })
}

impl Terminal for ControllingTerminal {
    fn present(&self) -> Result<(), PromptError> {
        Self::open().map(drop).map_err(no_terminal)
    }

    fn read_secret(&mut self, question: &str) -> Result<Secret<String>, PromptError> {
        self.present()?;
        let _sigint = interrupt::hold();
        rpassword::prompt_password(escape_controls(question))
            .map(Secret::new)
            .map_err(|e| {
                self.tell(""); // end the prompt's line before the error is printed
                interrupted_or(e)
            })
    }

    fn read_line(&mut self, question: &str) -> Result<String, PromptError> {
        use std::io::BufRead;
        let mut tty = Self::open().map_err(no_terminal)?;
        write!(tty, "{}", escape_controls(question)).map_err(interrupted_or)?;
        tty.flush().map_err(interrupted_or)?;
        let mut line = String::new();
        let input = Self::open_in().map_err(no_terminal)?;
        match std::io::BufReader::new(input).read_line(&mut line) {
            Ok(0) => Err(PromptError::Interrupted),
            Ok(_) => Ok(line.trim_end_matches(['\r', '\n']).to_string()),
            Err(e) => Err(interrupted_or(e)),
        }
    }

    fn tell(&mut self, message: &str) {
        if let Ok(mut tty) = Self::open() {
            let _ = writeln!(tty, "{}", escape_controls(message));
        }
    }
}

/// The in-memory twin: answers from a script; remembers what it was asked and told.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Scripted {
    pub answers: std::collections::VecDeque<String>,
    pub absent: bool,
    pub asked: Vec<String>,
    pub told: Vec<String>,
}

#[cfg(test)]
impl Scripted {
    pub(crate) fn answering(answers: &[&str]) -> Scripted {
        Scripted {
            answers: answers.iter().map(|a| a.to_string()).collect(),
            ..Scripted::default()
        }
    }
}

#[cfg(test)]
impl Terminal for Scripted {
    fn present(&self) -> Result<(), PromptError> {
        if self.absent {
            return Err(PromptError::NoTerminal("no controlling terminal".into()));
        }
        Ok(())
    }
    fn read_secret(&mut self, question: &str) -> Result<Secret<String>, PromptError> {
        self.read_line(question).map(Secret::new)
    }
    fn read_line(&mut self, question: &str) -> Result<String, PromptError> {
        self.present()?;
        self.asked.push(question.to_string());
        self.answers.pop_front().ok_or(PromptError::Interrupted)
    }
    fn tell(&mut self, message: &str) {
        self.told.push(message.to_string());
    }
}
