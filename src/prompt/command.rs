//! Codes from a program: `mfa_process` (any command, as aws-vault runs it) and `ykman`
//! (a YubiKey's OATH account).
//!
//! Invariants:
//! - `mfa_process` runs through the platform shell: `/bin/sh -c LINE`, or on Windows
//!   `cmd /D /S /C "LINE"`, which runs the line exactly as written (/S takes off only
//!   the outer quotes; /D skips AutoRun commands); `ykman` is
//!   run directly, `ykman [--device SERIAL] oath accounts code --single -- NAME`: the
//!   `--` keeps an account name that starts with `-` from being read as an option;
//! - with a terminal, the program's stdin and stderr are the terminal (a touch or
//!   passphrase prompt reaches the person); without one, stdin is empty, stderr is
//!   kept for the error message, and for ykman a desktop notification asks for the touch;
//! - its trimmed stdout is the code; a failing program, an empty or malformed answer is
//!   an error naming the program, never retried;
//! - no AWS credentials in its environment, and it is killed at [`DEADLINE`].

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::program::{self, ProgramError};
use super::{CodeSource, Kind, PromptError};

/// How long a program may take (a YubiKey waits for a touch).
pub(crate) const DEADLINE: Duration = Duration::from_secs(40);

/// Where the program comes from.
pub(crate) enum Program {
    /// `mfa_process`, a shell command line.
    Shell(String),
    /// ykman, for this OATH account, on this device (`YKMAN_OATH_DEVICE_SERIAL`).
    Ykman {
        account: String,
        device: Option<String>,
        /// What the person is asked to touch the key for (notification text).
        profile: String,
    },
}

pub(crate) struct CommandSource {
    program: Program,
}

impl CommandSource {
    pub(crate) fn new(program: Program) -> CommandSource {
        CommandSource { program }
    }

    fn command(&self) -> Command {
        match &self.program {
            Program::Shell(line) => shell(line),
            Program::Ykman {
                account, device, ..
            } => {
                let mut command = Command::new("ykman");
                if let Some(device) = device {
                    command.args(["--device", device]);
                }
                command.args(["oath", "accounts", "code", "--single", "--", account]);
                command
            }
        }
    }

    /// Best effort, never waited for: a desktop notice that the key wants a touch.
    fn notify_touch(&self) {
        let Program::Ykman { profile, .. } = &self.program else {
            return;
        };
        let text = format!("Touch your YubiKey for the MFA code of profile `{profile}`");
        let mut notify = Command::new("notify-send");
        notify.args(["--expire-time=15000", "aws-mfa-proc", &text]);
        let mut fallback = Command::new("zenity");
        fallback
            .args(["--notification", &format!("--text={text}")])
            .env("NO_AT_BRIDGE", "1");
        for mut command in [notify, fallback] {
            let spawned = program::without_credentials(&mut command)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            if let Ok(mut child) = spawned {
                std::thread::spawn(move || child.wait());
                return;
            }
        }
    }
}

#[cfg(not(windows))]
fn shell(line: &str) -> Command {
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(line);
    command
}

#[cfg(windows)]
fn shell(line: &str) -> Command {
    use std::os::windows::process::CommandExt;
    let mut command = Command::new("cmd");
    command.raw_arg(format!("/D /S /C \"{line}\""));
    command
}

impl CodeSource for CommandSource {
    fn ready(&mut self) -> Result<(), PromptError> {
        Ok(())
    }

    fn ask(&mut self, _question: &str) -> Result<String, PromptError> {
        let mut command = self.command();
        match program::terminal_stdio() {
            Some((stdin, stderr)) => {
                command.stdin(stdin).stderr(stderr);
            }
            None => {
                command.stdin(Stdio::null()).stderr(Stdio::piped());
                self.notify_touch();
            }
        }
        let failed = |detail: String| PromptError::Program(format!("{} {detail}", self.name()));
        let finished = match program::run(command, Instant::now() + DEADLINE) {
            Ok(finished) => finished,
            Err(ProgramError::TimedOut) => {
                return Err(failed(format!(
                    "gave no code within {} s",
                    DEADLINE.as_secs()
                )));
            }
            Err(ProgramError::Spawn(e)) => return Err(failed(format!("cannot start: {e}"))),
        };
        if !finished.status.success() {
            let tail = match finished.stderr_tail.as_str() {
                "" => String::new(),
                tail => format!(": {}", crate::error::clip(tail, 200)),
            };
            return Err(failed(format!("failed ({}){tail}", finished.status)));
        }
        Ok(finished.stdout.trim().to_string())
    }

    fn tell(&mut self, _message: &str) {}

    fn kind(&self) -> Kind {
        Kind::Program
    }

    fn name(&self) -> String {
        match &self.program {
            Program::Shell(line) => format!("mfa_process `{}`", crate::error::clip(line, 80)),
            Program::Ykman { .. } => "ykman".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ykman_account_that_looks_like_an_option_stays_an_account() {
        let source = CommandSource::new(Program::Ykman {
            account: "--device=other".into(),
            device: Some("12345678".into()),
            profile: "mfa".into(),
        });
        let command = source.command();
        let args: Vec<_> = command.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "--device",
                "12345678",
                "oath",
                "accounts",
                "code",
                "--single",
                "--",
                "--device=other"
            ]
        );
    }
}
