//! Running a helper program (a dialog, `mfa_process`, `ykman`) for its answer.
//!
//! Invariants:
//! - the program never sees AWS credentials in its environment;
//! - it runs under a deadline: past it, it is killed, and the caller hears `TimedOut`;
//! - its stdout (the code) is held in a buffer that is zeroed when dropped; of its
//!   stderr (when captured) only the last line is kept, for the error message.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::system::{CREDENTIAL_VARIABLES, Environment};

const POLL: Duration = Duration::from_millis(20);

/// How a program ended.
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Zeroizing<String>,
    /// The last non-empty line of stderr, if it was captured.
    pub stderr_tail: String,
}

#[derive(Debug)]
pub(crate) enum ProgramError {
    Spawn(std::io::Error),
    TimedOut,
}

/// `command` without AWS credentials in its environment.
pub(crate) fn without_credentials(command: &mut Command) -> &mut Command {
    for name in CREDENTIAL_VARIABLES {
        command.env_remove(name);
    }
    command
}

/// Runs `command` (stdout captured; stdin and stderr as the caller set them) and waits
/// for it until `deadline`.
pub(crate) fn run(mut command: Command, deadline: Instant) -> Result<Finished, ProgramError> {
    let mut child = without_credentials(command.stdout(Stdio::piped()))
        .spawn()
        .map_err(ProgramError::Spawn)?;
    let stdout = reader(&mut child, true);
    let stderr = reader(&mut child, false);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProgramError::TimedOut);
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let stderr_tail = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    Ok(Finished {
        status,
        stdout,
        stderr_tail,
    })
}

/// A thread that reads the child's stdout (or stderr) to the end, if it is piped.
fn reader(child: &mut Child, stdout: bool) -> std::thread::JoinHandle<Zeroizing<String>> {
    let pipe: Option<Box<dyn Read + Send>> = if stdout {
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>)
    } else {
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>)
    };
    std::thread::spawn(move || {
        let mut bytes = Zeroizing::new(Vec::with_capacity(4096));
        if let Some(mut pipe) = pipe {
            let _ = pipe.by_ref().take(64 * 1024).read_to_end(&mut bytes);
        }
        Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned())
    })
}

/// Where `program` is on the `PATH` of `env`.
pub(crate) fn on_path(env: &dyn Environment, program: &str) -> Option<PathBuf> {
    let path = env.var("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The controlling terminal as a program's stdin and stderr, so a touch or passphrase
/// prompt reaches the person; `None` if there is none.
pub(crate) fn terminal_stdio() -> Option<(Stdio, Stdio)> {
    #[cfg(unix)]
    let (input, output) = ("/dev/tty", "/dev/tty");
    #[cfg(windows)]
    let (input, output) = ("CONIN$", "CONOUT$");
    let stdin = std::fs::OpenOptions::new().read(true).open(input).ok()?;
    let stderr = std::fs::OpenOptions::new().write(true).open(output).ok()?;
    Some((Stdio::from(stdin), Stdio::from(stderr)))
}
