//! Desktop dialogs that ask for a code when there is no terminal (IDEs, desktop apps):
//! zenity or kdialog on Linux, osascript on macOS, the credential dialog on Windows.
//!
//! Invariants:
//! - a dialog names the profile and the MFA device, hides what is typed, and is the
//!   only window: notices (a rejected code) are shown in the next dialog's text;
//! - no dialog outlives [`DEADLINE`], counted from the first one: it closes, and the
//!   caller hears `TimedOut`, before a waiting caller's 45 s lock deadline;
//! - Cancel (or Escape) is `Cancelled`;
//! - the code comes back on the dialog's stdout; nothing secret is in its argv or
//!   environment.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::program::{self, ProgramError};
use super::{CodeSource, Kind, PromptError};
use crate::config::Driver;

/// How long the person has, over every dialog of one prompt.
pub(crate) const DEADLINE: Duration = Duration::from_secs(40);
/// The title of every dialog, for the person and for window searches.
pub(crate) const TITLE: &str = "aws-mfa-proc";

pub(crate) struct Dialog {
    driver: Driver,
    /// Shown above the question in the next dialog.
    notice: Option<String>,
    deadline: Option<Instant>,
}

impl Dialog {
    pub(crate) fn new(driver: Driver) -> Dialog {
        Dialog {
            driver,
            notice: None,
            deadline: None,
        }
    }

    /// The program that shows this dialog.
    pub(crate) fn program(driver: Driver) -> &'static str {
        match driver {
            Driver::Zenity => "zenity",
            Driver::Kdialog => "kdialog",
            Driver::Osascript => "osascript",
            _ => "powershell",
        }
    }

    fn command(&self, text: &str, seconds: u64) -> Command {
        let mut command = Command::new(Dialog::program(self.driver));
        match self.driver {
            Driver::Zenity => {
                command
                    .args(["--entry", "--hide-text", "--width=420"])
                    .arg(format!("--title={TITLE}"))
                    .arg(format!("--text={text}"))
                    .arg(format!("--timeout={seconds}"))
                    // No accessibility bus: it would start daemons that outlive us.
                    .env("NO_AT_BRIDGE", "1");
            }
            Driver::Kdialog => {
                command.args(["--title", TITLE, "--password", text]);
            }
            Driver::Osascript => {
                let quoted = text.replace('\\', "\\\\").replace('"', "\\\"");
                command.args([
                    "-e",
                    &format!(
                        "set answer to display dialog \"{quoted}\" default answer \"\" with hidden answer with title \"{TITLE}\" giving up after {seconds}"
                    ),
                    "-e",
                    "if gave up of answer then error number -1712",
                    "-e",
                    "text returned of answer",
                ]);
            }
            _ => {
                let quoted = text.replace('\'', "''");
                command.args([
                    "-NoProfile",
                    "-NonInteractive",
                    "-Command",
                    &format!(
                        "$c = $Host.UI.PromptForCredential('{TITLE}', '{quoted}', 'MFA code', ''); if ($c) {{ $c.GetNetworkCredential().Password }} else {{ exit 1 }}"
                    ),
                ]);
            }
        }
        command
    }
}

impl CodeSource for Dialog {
    fn ready(&mut self) -> Result<(), PromptError> {
        Ok(())
    }

    fn ask(&mut self, question: &str) -> Result<String, PromptError> {
        let deadline = *self
            .deadline
            .get_or_insert_with(|| Instant::now() + DEADLINE);
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_secs(1) {
            return Err(PromptError::TimedOut(DEADLINE));
        }
        let text = match self.notice.take() {
            Some(notice) => format!("{notice}\n\n{}", question.trim_end_matches([' ', ':'])),
            None => question.trim_end_matches([' ', ':']).to_string(),
        };
        let mut command = self.command(&text, left.as_secs());
        command.stdin(Stdio::null()).stderr(Stdio::piped());
        let finished = match program::run(command, deadline) {
            Ok(finished) => finished,
            Err(ProgramError::TimedOut) => return Err(PromptError::TimedOut(DEADLINE)),
            Err(ProgramError::Spawn(e)) => {
                return Err(PromptError::Program(format!(
                    "cannot start {}: {e}",
                    Dialog::program(self.driver)
                )));
            }
        };
        match (self.driver, finished.status.code()) {
            (_, Some(0)) => Ok(finished
                .stdout
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string()),
            (Driver::Zenity, Some(5)) => Err(PromptError::TimedOut(DEADLINE)),
            (_, Some(1)) => Err(PromptError::Cancelled),
            _ if finished.stderr_tail.contains("-1712") => Err(PromptError::TimedOut(DEADLINE)),
            _ if finished.stderr_tail.contains("-128") => Err(PromptError::Cancelled),
            (_, code) => Err(PromptError::Program(format!(
                "{} ended with {} ({})",
                Dialog::program(self.driver),
                code.map_or("a signal".into(), |c| format!("exit code {c}")),
                crate::error::clip(&finished.stderr_tail, 200)
            ))),
        }
    }

    fn tell(&mut self, message: &str) {
        self.notice = Some(message.to_string());
    }

    fn kind(&self) -> Kind {
        Kind::Dialog
    }

    fn name(&self) -> String {
        format!("the {} dialog", Dialog::program(self.driver))
    }
}
