//! A program on a pseudo-terminal, as a person at a shell runs it, and how programs
//! ended ([`Run`]).

use std::{
    fmt::Debug,
    fs, io,
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

use expectrl::{Expect, Needle, Session, process::unix::WaitStatus, session::OsSession};

use super::{POLL, PTY_TIMEOUT};

/// A program running on a pseudo-terminal; see [`Rig::pty`].
///
/// Dropping it kills the program, and everything else in its process group (a
/// [`Rig::pty_crowd`]'s copies), if it still runs.
pub struct Pty {
    session: OsSession,
    /// Everything the terminal showed so far.
    screen: Vec<u8>,
    /// `screen[..matched]` was consumed by earlier [`Pty::expect`] calls.
    matched: usize,
    /// Where the program's (or each crowd member's) output goes, if not to the screen.
    captures: Vec<Capture>,
    /// The program has been waited for.
    ended: bool,
}

/// Files that one program's stdout, stderr and exit status are written to.
pub(super) struct Capture {
    pub(super) stdout: PathBuf,
    pub(super) stderr: Option<PathBuf>,
    /// Holds the exit code as text; only for [`Rig::pty_crowd`] members.
    pub(super) status: Option<PathBuf>,
}

/// How one program ended, with its stdout and stderr captured apart from the terminal
/// (from [`Pty::wait_captured`], [`Pty::wait_crowd`], or a finished `Command`).
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Pty {
    pub(super) fn spawn(command: Command, captures: Vec<Capture>) -> Pty {
        let shown = format!("{command:?}");
        let session =
            Session::spawn(command).unwrap_or_else(|e| panic!("spawn on a pty: {shown}: {e}"));
        Pty {
            session,
            screen: Vec::new(),
            matched: 0,
            captures,
            ended: false,
        }
    }

    /// Waits up to 30 s for `needle` (a `&str`, or a [`Regex`]) in the output after the
    /// previous match, and returns that output up to the end of the match. Panics with
    /// the whole screen on a timeout or when the program's output ends first.
    pub fn expect<N: Needle + Debug>(&mut self, needle: N) -> String {
        let deadline = Instant::now() + PTY_TIMEOUT;
        loop {
            let eof = self.read_available();
            let pending = &self.screen[self.matched..];
            let found = needle
                .check(pending, eof)
                .unwrap_or_else(|e| panic!("needle {needle:?}: {e}"));
            if let Some(end) = found.iter().map(|m| m.end()).max() {
                let text = String::from_utf8_lossy(&pending[..end]).into_owned();
                self.matched += end;
                return text;
            }
            if eof {
                panic!(
                    "output ended before {needle:?}; the screen:\n{}",
                    self.screen()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "no {needle:?} within {PTY_TIMEOUT:?}; the screen:\n{}",
                    self.screen()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Types `line` and Enter.
    pub fn send_line(&mut self, line: &str) {
        self.session.send_line(line).expect("write to the pty");
    }

    /// Types raw bytes, e.g. `b"\x03"` (Ctrl-C) with no Enter after it.
    pub fn send(&mut self, bytes: &[u8]) {
        self.session.send(bytes).expect("write to the pty");
    }

    /// Reads the terminal for `window` and panics, with the screen, if `text` shows up
    /// after the previous match. (It cannot prove `text` would never come; it shows that
    /// it did not come while the test looked.)
    pub fn assert_not_shown_for(&mut self, text: &str, window: Duration) {
        let until = Instant::now() + window;
        while Instant::now() < until {
            let eof = self.read_available();
            let pending = String::from_utf8_lossy(&self.screen[self.matched..]).into_owned();
            assert!(
                !pending.contains(text),
                "{text:?} showed up; the screen:\n{}",
                self.screen()
            );
            if eof {
                return;
            }
            thread::sleep(POLL);
        }
    }

    /// Runs `command` (built by the caller, environment and all) on a new
    /// pseudo-terminal, which is its controlling terminal and its stdin, stdout and stderr.
    pub fn on_a_terminal(command: Command) -> Pty {
        Pty::spawn(command, Vec::new())
    }

    /// The program's process id.
    pub fn pid(&self) -> u32 {
        self.session.get_process().pid().as_raw() as u32
    }

    /// Kills the program with SIGKILL, as `kill -9` or the OOM killer would, and reaps it.
    pub fn kill(mut self) {
        self.session
            .get_process_mut()
            .kill(expectrl::process::unix::Signal::SIGKILL)
            .expect("kill the program on the pty");
        let status = self.finish();
        assert_eq!(status.signal(), Some(9), "the program ended otherwise");
    }

    /// Waits up to 30 s for the program to end; returns its exit status and everything
    /// the terminal showed (from the start, `\r\n` line ends).
    pub fn wait(mut self) -> (ExitStatus, String) {
        let status = self.finish();
        (status, self.screen())
    }

    /// [`Pty::wait`] for a [`Rig::pty_split_stdout`] program, plus what it wrote to stdout.
    pub fn wait_with_stdout(mut self) -> (ExitStatus, String, String) {
        assert!(
            self.captures.len() == 1,
            "wait_with_stdout needs a Pty from Rig::pty_split_stdout"
        );
        let status = self.finish();
        let stdout = read_capture(&self.captures[0].stdout);
        (status, self.screen(), stdout)
    }

    /// Waits for a [`Rig::pty_captured`] program to end; returns how it ended and the
    /// screen (what it wrote to the terminal device).
    pub fn wait_captured(mut self) -> (Run, String) {
        assert!(
            self.captures.len() == 1 && self.captures[0].stderr.is_some(),
            "wait_captured needs a Pty from Rig::pty_captured"
        );
        let status = self.finish();
        let capture = &self.captures[0];
        let run = Run {
            status,
            stdout: read_capture(&capture.stdout),
            stderr: read_capture(capture.stderr.as_ref().expect("checked above")),
        };
        // With stdout captured, the screen is what the program told the person.
        crate::support::assert_no_secret("the terminal", &self.screen());
        (run, self.screen())
    }

    /// Waits for every member of a [`Rig::pty_crowd`] to end; returns how each ended, in
    /// start order, and the screen they shared.
    pub fn wait_crowd(mut self) -> (Vec<Run>, String) {
        let shell = self.finish();
        assert!(shell.success(), "the crowd's shell failed: {shell}");
        let runs = self
            .captures
            .iter()
            .map(|capture| {
                let status = capture
                    .status
                    .as_ref()
                    .expect("a crowd member has a status");
                let code: i32 = read_capture(status)
                    .trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("exit status in {}: {e}", status.display()));
                Run {
                    status: ExitStatus::from_raw((code & 0xff) << 8),
                    stdout: read_capture(&capture.stdout),
                    stderr: read_capture(
                        capture.stderr.as_ref().expect("a crowd member has stderr"),
                    ),
                }
            })
            .collect();
        // With stdout captured, the screen is what the programs told the person.
        crate::support::assert_no_secret("the terminal", &self.screen());
        (runs, self.screen())
    }

    /// Waits up to 30 s for the program to end, reading the terminal meanwhile.
    pub(super) fn finish(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PTY_TIMEOUT;
        let status = loop {
            // Keep reading, so the program never blocks on a full terminal.
            self.read_available();
            match self.session.get_process().status() {
                Ok(WaitStatus::StillAlive) => {}
                Ok(WaitStatus::Exited(_, code)) => break ExitStatus::from_raw((code & 0xff) << 8),
                Ok(WaitStatus::Signaled(_, signal, _)) => {
                    break ExitStatus::from_raw(signal as i32);
                }
                other => panic!(
                    "unexpected wait status {other:?}; the screen:\n{}",
                    self.screen()
                ),
            }
            if Instant::now() > deadline {
                panic!(
                    "still running after {PTY_TIMEOUT:?}; the screen:\n{}",
                    self.screen()
                );
            }
            thread::sleep(POLL);
        };
        self.ended = true;
        self.read_available();
        status
    }

    pub(super) fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen).into_owned()
    }

    /// Appends what the terminal has to `screen` without blocking; true at end of output.
    pub(super) fn read_available(&mut self) -> bool {
        let mut buf = [0; 4096];
        loop {
            match self.session.try_read(&mut buf) {
                Ok(0) => return true,
                Ok(n) => self.screen.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => panic!("read from the pty: {e}"),
            }
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if !self.ended {
            // The program is its process group's leader (a session leader, in fact):
            // end the whole group, so no crowd member outlives the test.
            let group = format!("-{}", self.session.get_process().pid());
            let _ = Command::new("/bin/kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
        }
    }
}

pub(super) fn read_capture(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
