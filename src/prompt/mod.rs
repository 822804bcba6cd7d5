//! Where MFA codes come from. A code source is one small trait ([`CodeSource`]); the
//! drivers are the terminal ([`Typed`] over a [`Terminal`]), desktop dialogs
//! ([`dialog`]) and programs (`mfa_process`, `ykman`: [`command`]). [`choose`] picks one.
//!
//! Invariants:
//! - questions and notices go to the person directly (the terminal device, a dialog),
//!   never to stdout (the SDK's) or stderr (hidden by most callers);
//! - stdin is never read: under Node it is a pipe that never closes;
//! - with nothing to ask on, the choice fails at once, naming every way out;
//! - secrets never reach a dialog's or program's argv or environment: codes come back
//!   on their stdout.

mod command;
/// The crate's one `unsafe` call (see its invariants).
#[cfg(windows)]
#[allow(unsafe_code)]
mod credui;
mod dialog;
mod program;
mod terminal;

pub(crate) use command::{CommandSource, Program};
#[cfg(windows)]
pub(crate) use credui::answer_if_asked as show_credui_if_asked;
pub(crate) use dialog::{DEADLINE as DIALOG_DEADLINE, Dialog};
pub(crate) use terminal::{ControllingTerminal, Elsewhere, Terminal};

use crate::config::{Driver, Settings};
use crate::system::Environment;

#[derive(Debug, thiserror::Error)]
pub(crate) enum PromptError {
    #[error("no terminal to ask on ({0})")]
    NoTerminal(String),
    #[error("interrupted at the prompt")]
    Interrupted,
    #[error("reading from the terminal failed: {0}")]
    Io(String),
    #[error("cancelled in the dialog")]
    Cancelled,
    #[error("no answer in the dialog within {} s", .0.as_secs())]
    TimedOut(std::time::Duration),
    #[error("{0}")]
    Program(String),
    /// Nothing can ask: why.
    #[error("{0}")]
    Unavailable(String),
}

/// Who answers, which decides what happens after a bad answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A person at the terminal: asked again.
    Terminal,
    /// A person at a dialog: asked again; a cancel stops every waiting caller.
    Dialog,
    /// A program: never asked again for the same code.
    Program,
}

/// A source of MFA codes.
pub(crate) trait CodeSource {
    /// Fails fast when no answer can ever come (e.g. no terminal).
    fn ready(&mut self) -> Result<(), PromptError>;
    /// Asks once and returns the raw answer.
    fn ask(&mut self, question: &str) -> Result<String, PromptError>;
    /// Tells the person something, best effort.
    fn tell(&mut self, message: &str);
    fn kind(&self) -> Kind;
    /// What the person knows this source as, for messages.
    fn name(&self) -> String;
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
    fn kind(&self) -> Kind {
        Kind::Terminal
    }
    fn name(&self) -> String {
        "the terminal".into()
    }
}

/// Nothing to ask on: fails when asked, saying why (a cache hit never asks).
pub(crate) struct Unavailable(pub String);

impl CodeSource for Unavailable {
    fn ready(&mut self) -> Result<(), PromptError> {
        Err(PromptError::Unavailable(self.0.clone()))
    }
    fn ask(&mut self, _: &str) -> Result<String, PromptError> {
        Err(PromptError::Unavailable(self.0.clone()))
    }
    fn tell(&mut self, _: &str) {}
    /// Never asks, so neither the dialog cooldown nor asking again applies.
    fn kind(&self) -> Kind {
        Kind::Program
    }
    fn name(&self) -> String {
        "no prompt".into()
    }
}

/// What would ask for a code: `mfa_process` first (as aws-vault), then the prompt that
/// `AWS_MFA_PROC_PROMPT` or `aws_mfa_proc_prompt` names, else auto: the terminal if
/// there is one, then a desktop dialog, else the reason there is none.
pub(crate) fn choose<'a>(
    settings: &Settings,
    env: &dyn Environment,
    terminal: &'a mut dyn Terminal,
) -> Result<Box<dyn CodeSource + 'a>, String> {
    if let Some(line) = &settings.codes.mfa_process {
        return Ok(Box::new(CommandSource::new(Program::Shell(line.clone()))));
    }
    let named = env
        .var("AWS_MFA_PROC_PROMPT")
        .map(|v| Driver::parse(&v).ok_or(v))
        .transpose()
        .map_err(|v| {
            format!(
                "AWS_MFA_PROC_PROMPT is `{}`, not one of terminal, zenity, kdialog, osascript, wincredui, ykman",
                crate::error::clip(&v, 40)
            )
        })?
        .or(settings.codes.prompt);
    let has_terminal = terminal.present();
    let driver = match named {
        Some(driver) => driver,
        None => match (&has_terminal, desktop_dialog(env)) {
            (Ok(()), _) => Driver::Terminal,
            (Err(_), Some(dialog)) => dialog,
            (Err(why), None) => {
                return Err(format!(
                    "{why} and no desktop dialog (DISPLAY with zenity or kdialog)"
                ));
            }
        },
    };
    Ok(match driver {
        Driver::Terminal => Box::new(Typed(terminal)),
        Driver::Ykman => Box::new(CommandSource::new(Program::Ykman {
            account: settings
                .codes
                .ykman_account
                .clone()
                .or_else(|| env.var("YKMAN_OATH_CREDENTIAL_NAME"))
                .unwrap_or_else(|| settings.mfa_serial.clone()),
            device: env.var("YKMAN_OATH_DEVICE_SERIAL"),
            profile: settings.profile.clone(),
        })),
        dialog => {
            if let Some(program) = Dialog::program(dialog)
                && program::on_path(env, program).is_none()
            {
                return Err(format!(
                    "the prompt is {} but `{program}` is not on PATH",
                    dialog.name()
                ));
            }
            Box::new(Dialog::new(dialog))
        }
    })
}

/// The desktop dialog this platform offers here, if any.
fn desktop_dialog(env: &dyn Environment) -> Option<Driver> {
    if cfg!(target_os = "macos") {
        return Some(Driver::Osascript);
    }
    if cfg!(windows) {
        return Some(Driver::Wincredui);
    }
    let display = env.var("DISPLAY").is_some() || env.var("WAYLAND_DISPLAY").is_some();
    if !display {
        return None;
    }
    [Driver::Zenity, Driver::Kdialog].into_iter().find(|d| {
        Dialog::program(*d)
            .and_then(|p| program::on_path(env, p))
            .is_some()
    })
}

#[cfg(test)]
pub(crate) use terminal::Scripted;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CodeSettings, DEFAULT_DURATION, KeySource};
    use crate::system::FakeEnv;

    fn settings(codes: CodeSettings) -> Settings {
        Settings {
            profile: "mfa".into(),
            mfa_serial: "arn:aws:iam::111111111111:mfa/alice".into(),
            region: "eu-west-1".into(),
            profile_region: None,
            duration: DEFAULT_DURATION,
            keys: KeySource::Keychain("mfa".into()),
            endpoint: None,
            iam_endpoint: None,
            codes,
        }
    }

    #[test]
    fn the_code_source_is_chosen_in_the_documented_order() {
        let bin = tempfile::tempdir().unwrap();
        std::fs::write(bin.path().join("zenity"), "").unwrap();
        let path = bin.path().to_str().unwrap().to_string();
        let process = || CodeSettings {
            mfa_process: Some("oathtool --totp -b X".into()),
            ..CodeSettings::default()
        };
        let prompt = |d| CodeSettings {
            prompt: Some(d),
            ..CodeSettings::default()
        };
        // (settings, environment, a terminal?, chosen source or the error's start)
        type Case<'a> = (CodeSettings, Vec<(&'a str, &'a str)>, bool, &'a str);
        let cases: Vec<Case> = vec![
            (
                process(),
                vec![("AWS_MFA_PROC_PROMPT", "zenity")],
                true,
                "mfa_process `oathtool --totp -b X`",
            ),
            (CodeSettings::default(), vec![], true, "the terminal"),
            (
                CodeSettings::default(),
                vec![("DISPLAY", ":1"), ("PATH", &path)],
                true,
                "the terminal",
            ),
            (
                CodeSettings::default(),
                vec![("DISPLAY", ":1"), ("PATH", &path)],
                false,
                "the zenity dialog",
            ),
            (
                CodeSettings::default(),
                vec![("WAYLAND_DISPLAY", "w"), ("PATH", &path)],
                false,
                "the zenity dialog",
            ),
            (
                CodeSettings::default(),
                vec![("PATH", &path)],
                false,
                "no terminal",
            ),
            (
                CodeSettings::default(),
                vec![("DISPLAY", ":1"), ("PATH", "/nonexistent")],
                false,
                "no terminal",
            ),
            (prompt(Driver::Ykman), vec![], true, "ykman"),
            (
                prompt(Driver::Ykman),
                vec![("AWS_MFA_PROC_PROMPT", "terminal")],
                true,
                "the terminal",
            ),
            (
                prompt(Driver::Kdialog),
                vec![("PATH", &path)],
                false,
                "the prompt is kdialog but `kdialog` is not on PATH",
            ),
            // This binary shows it: nothing to find on PATH.
            (
                prompt(Driver::Wincredui),
                vec![("PATH", "/nonexistent")],
                false,
                "the Windows credential dialog",
            ),
            (
                CodeSettings::default(),
                vec![("AWS_MFA_PROC_PROMPT", "gui")],
                true,
                "AWS_MFA_PROC_PROMPT is `gui`",
            ),
        ];
        for (codes, vars, has_terminal, expected) in cases {
            let env = vars
                .iter()
                .fold(FakeEnv::default(), |e, (k, v)| e.with(k, *v));
            let mut terminal = Scripted {
                absent: !has_terminal,
                ..Scripted::default()
            };
            let chosen = match choose(&settings(codes), &env, &mut terminal) {
                Ok(source) => source.name(),
                Err(why) => why,
            };
            assert!(
                chosen.starts_with(expected),
                "{vars:?}, terminal {has_terminal}: {chosen}"
            );
        }
    }
}
