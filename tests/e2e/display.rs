//! A virtual X display (Xvfb) for the dialog tests, driven with xdotool, as a person
//! at a desktop would: find the dialog, type into it, press Return or Escape.
//!
//! There is no window manager: a window is focused with `xdotool windowfocus --sync`
//! before any key (GTK ignores keys sent to an unfocused window), and windows are found
//! by their exact title with `--onlyvisible`.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The title of every aws-mfa-proc dialog.
pub const DIALOG_TITLE: &str = "aws-mfa-proc";
/// How long a window or the display may take to appear: generous, for a busy machine; a
/// deadline that fails loudly, not a timing.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Display {
    name: String,
    xvfb: Child,
}

impl Display {
    /// Starts Xvfb on a display number it chooses itself (`-displayfd`: it takes the
    /// first free one, atomically, and prints it) and waits until it answers.
    pub fn start() -> Display {
        use std::io::BufRead;
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb (scripts/install-test-deps.sh installs it)");
        let mut number = String::new();
        std::io::BufReader::new(xvfb.stdout.take().expect("piped"))
            .read_line(&mut number)
            .expect("read Xvfb's display number");
        let name = format!(":{}", number.trim());
        assert!(name.len() > 1, "Xvfb printed no display number");
        let deadline = Instant::now() + READY_TIMEOUT;
        while !xdotool(&name, &["getdisplaygeometry"]).status.success() {
            assert!(Instant::now() < deadline, "Xvfb {name} did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        Display { name, xvfb }
    }

    /// `DISPLAY` for programs on this display.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn xdotool(&self, args: &[&str]) -> Output {
        xdotool(&self.name, args)
    }

    /// The visible aws-mfa-proc dialogs.
    pub fn dialogs(&self) -> Vec<String> {
        let out = self.xdotool(&[
            "search",
            "--onlyvisible",
            "--name",
            &format!("^{DIALOG_TITLE}$"),
        ]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Types `text` into `window` and presses Return.
    pub fn answer(&self, window: &str, text: &str) {
        self.focus(window);
        assert!(
            self.xdotool(&["type", "--delay", "20", text])
                .status
                .success()
        );
        assert!(self.xdotool(&["key", "Return"]).status.success());
    }

    /// Presses Escape in `window`: Cancel.
    pub fn cancel(&self, window: &str) {
        self.focus(window);
        assert!(self.xdotool(&["key", "Escape"]).status.success());
    }

    fn focus(&self, window: &str) {
        let out = self.xdotool(&["windowfocus", "--sync", window]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A PNG of `window` (imagemagick's `import`).
    pub fn screenshot(&self, window: &str, path: &Path) {
        let out = Command::new("import")
            .args(["-window", window])
            .arg(path)
            .env_clear()
            .env("DISPLAY", &self.name)
            .env("PATH", "/usr/bin:/bin")
            .output()
            .expect("run import");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

fn xdotool(display: &str, args: &[&str]) -> Output {
    Command::new("xdotool")
        .args(args)
        .env_clear()
        .env("DISPLAY", display)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run xdotool")
}
