//! Where MFA codes come from: the person, through the controlling terminal only.
//!
//! Invariants:
//! - questions and notices go to the terminal device (`/dev/tty`, `CONIN$`/`CONOUT$`),
//!   never to stdout (the SDK's) or stderr (hidden by most callers);
//! - stdin is never read: under Node it is a pipe that never closes;
//! - with no controlling terminal, [`CodeSource::ready`] fails at once.

use std::io::Write;

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("no terminal to ask on ({0})")]
    NoTerminal(String),
    #[error("interrupted at the prompt")]
    Interrupted,
    #[error("reading from the terminal failed: {0}")]
    Io(String),
}

/// A source of MFA codes. The terminal in real use; a script in tests.
pub trait CodeSource {
    /// Fails fast when no answer can ever come (no terminal).
    fn ready(&mut self) -> Result<(), PromptError>;
    /// Asks once and returns the raw answer.
    fn ask(&mut self, question: &str) -> Result<String, PromptError>;
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

    pub struct Held;

    #[cfg(unix)]
    pub fn hold() -> Held {
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
    pub fn hold() -> Held {
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

/// The controlling terminal.
pub struct Terminal;

#[cfg(unix)]
const TTY_OUT: &str = "/dev/tty";
#[cfg(windows)]
const TTY_OUT: &str = "CONOUT$";

impl Terminal {
    fn open_out() -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new().write(true).open(TTY_OUT)
    }
}

impl CodeSource for Terminal {
    fn ready(&mut self) -> Result<(), PromptError> {
        #[cfg(unix)]
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(|e| PromptError::NoTerminal(e.to_string()))?;
        #[cfg(windows)]
        Self::open_out().map_err(|e| PromptError::NoTerminal(e.to_string()))?;
        Ok(())
    }

    fn ask(&mut self, question: &str) -> Result<String, PromptError> {
        let _sigint = interrupt::hold();
        rpassword::prompt_password(question).map_err(|e| match e.kind() {
            std::io::ErrorKind::Interrupted | std::io::ErrorKind::UnexpectedEof => {
                self.tell(""); // end the prompt's line before the error is printed
                PromptError::Interrupted
            }
            _ => PromptError::Io(e.to_string()),
        })
    }

    fn tell(&mut self, message: &str) {
        if let Ok(mut tty) = Self::open_out() {
            let _ = writeln!(tty, "{message}");
        }
    }
}
