//! Desktop dialogs that ask for a code when there is no terminal (IDEs, desktop apps):
//! zenity or kdialog on Linux, osascript on macOS, the credential dialog on Windows
//! (shown by this binary itself, run again as `aws-mfa-proc-full __credui TEXT`: see
//! `credui.rs`). Every dialog is a program run under the deadline, answering on stdout.
//!
//! Invariants:
//! - a dialog names the profile and the MFA device, hides what is typed, and is the
//!   only window: notices (a rejected code) are shown in the next dialog's text;
//! - no dialog outlives [`DEADLINE`], counted from the first one: it closes, and the
//!   caller hears `TimedOut`, before a waiting caller's 45 s lock deadline;
//! - Cancel (or Escape) is `Cancelled`; a dialog that could not be shown (no X server
//!   at `DISPLAY`, say) is an error naming the cause, never a cancel: only a person
//!   cancels, and only a person's cancel holds other dialogs back;
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
/// The hidden first argument that makes `aws-mfa-proc-full` show Windows' credential
/// dialog (`aws-mfa-proc-full __credui TEXT`) and print the code.
pub(crate) const CREDUI_ARG: &str = "__credui";

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

    /// The program on PATH that shows this dialog; `None` for Windows' credential
    /// dialog, which this binary shows itself.
    pub(crate) fn program(driver: Driver) -> Option<&'static str> {
        match driver {
            Driver::Zenity => Some("zenity"),
            Driver::Kdialog => Some("kdialog"),
            Driver::Osascript => Some("osascript"),
            _ => None,
        }
    }

    /// What shows this dialog, in messages.
    fn shown_by(driver: Driver) -> &'static str {
        Dialog::program(driver).unwrap_or("the credential dialog")
    }

    fn command(&self, text: &str, seconds: u64) -> Command {
        let mut command = Command::new(Dialog::program(self.driver).unwrap_or_default());
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
                // This very binary (without its path, spawning "" fails and says so).
                command = Command::new(std::env::current_exe().unwrap_or_default());
                command.arg(CREDUI_ARG).arg(text);
                // CREATE_NO_WINDOW: no console window flashes up behind the dialog when
                // the caller (an IDE) has none.
                #[cfg(windows)]
                std::os::windows::process::CommandExt::creation_flags(&mut command, 0x0800_0000);
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
                    Dialog::shown_by(self.driver)
                )));
            }
        };
        judged(self.driver, &finished)
    }

    fn tell(&mut self, message: &str) {
        self.notice = Some(message.to_string());
    }

    fn kind(&self) -> Kind {
        Kind::Dialog
    }

    fn name(&self) -> String {
        match Dialog::program(self.driver) {
            Some(program) => format!("the {program} dialog"),
            None => "the Windows credential dialog".into(),
        }
    }
}

/// What a dialog program's ending means.
fn judged(driver: Driver, finished: &program::Finished) -> Result<String, PromptError> {
    let program = Dialog::shown_by(driver);
    let said = &finished.stderr_tail;
    match (driver, finished.status.code()) {
        (_, Some(0)) => Ok(finished
            .stdout
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string()),
        _ if never_shown(said) => Err(PromptError::Program(format!(
            "{program} could not show its dialog ({}); check DISPLAY",
            crate::error::clip(said, 200)
        ))),
        (Driver::Zenity, Some(5)) => Err(PromptError::TimedOut(DEADLINE)),
        // `__credui` says why in one line.
        (Driver::Wincredui, Some(2)) if !said.is_empty() => {
            Err(PromptError::Program(crate::error::clip(said, 200)))
        }
        (_, Some(1)) => Err(PromptError::Cancelled),
        _ if said.contains("-1712") => Err(PromptError::TimedOut(DEADLINE)),
        _ if said.contains("-128") => Err(PromptError::Cancelled),
        (_, code) => Err(PromptError::Program(format!(
            "{program} ended with {} ({})",
            code.map_or("a signal".into(), |c| format!("exit code {c}")),
            crate::error::clip(said, 200)
        ))),
    }
}

/// Whether a dialog program's last words say it never reached a display: GTK's
/// "cannot open display", Qt's "could not connect to display".
fn never_shown(stderr_tail: &str) -> bool {
    let said = stderr_tail.to_ascii_lowercase();
    said.contains("cannot open display")
        || said.contains("connect to display")
        || said.contains("cannot connect to x server")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_credential_dialog_is_this_binary_again_with_the_text_and_no_secret() {
        let text = "MFA code for profile `mfa`\n(arn:aws:iam::123456789012:mfa/alice)";
        let command = Dialog::new(Driver::Wincredui).command(text, 40);
        assert_eq!(
            command.get_program(),
            std::env::current_exe().unwrap().as_os_str()
        );
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, [CREDUI_ARG, text]);
        assert_eq!(command.get_envs().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_dialog_that_never_showed_is_an_error_naming_why_and_only_a_person_cancels() {
        use std::os::unix::process::ExitStatusExt;
        // (driver, exit code, last stderr line, the outcome's start)
        let cases = [
            (Driver::Zenity, 0, "", "Ok 123456"),
            (Driver::Zenity, 1, "", "Err cancelled"),
            (
                Driver::Zenity,
                1,
                "(zenity:1): Gtk-WARNING **: 08:17:09.552: cannot open display: :77",
                "Err zenity could not show its dialog ((zenity:1): Gtk-WARNING **: 08:17:09.552: cannot open display: :77); check DISPLAY",
            ),
            (
                Driver::Kdialog,
                1,
                "qt.qpa.xcb: could not connect to display :77",
                "Err kdialog could not show its dialog",
            ),
            (Driver::Zenity, 5, "", "Err no answer"),
            (
                Driver::Zenity,
                3,
                "oops",
                "Err zenity ended with exit code 3 (oops)",
            ),
            (
                Driver::Osascript,
                1,
                "execution error: User canceled. (-128)",
                "Err cancelled",
            ),
            (Driver::Wincredui, 0, "", "Ok 123456"),
            (Driver::Wincredui, 1, "", "Err cancelled"),
            (
                Driver::Wincredui,
                2,
                "the credential dialog could not be shown (Windows error 1400)",
                "Err the credential dialog could not be shown (Windows error 1400)",
            ),
            (
                Driver::Wincredui,
                101,
                "thread 'main' panicked",
                "Err the credential dialog ended with exit code 101",
            ),
        ];
        for (driver, code, stderr, expected) in cases {
            let finished = program::Finished {
                status: std::process::ExitStatus::from_raw(code << 8),
                stdout: zeroize::Zeroizing::new("123456\n".into()),
                stderr_tail: stderr.into(),
            };
            let got = match judged(driver, &finished) {
                Ok(code) => format!("Ok {code}"),
                Err(e) => format!("Err {e}"),
            };
            assert!(
                got.starts_with(expected),
                "{driver:?} {code} {stderr:?}: {got}"
            );
        }
    }
}
