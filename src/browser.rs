//! Opening a URL in this user's browser: the command `BROWSER` names (a `:`-separated
//! list, `%s` standing for the URL, as Python's `webbrowser`), else the platform's
//! opener (`xdg-open`, `open`, `explorer`).
//!
//! Invariants:
//! - the URL is the browser's argument, so it must hold nothing a local user may not
//!   see in the process list (the sign-in's `state` and PKCE challenge are fine: the
//!   verifier never leaves this process, and the callback takes connections from this
//!   user only);
//! - the browser never sees AWS credentials in its environment, nor our stdin, stdout
//!   or stderr (stdout belongs to the SDK);
//! - opening never waits for the browser: it is reaped in the background.

use std::process::{Command, Stdio};

use crate::system::Environment;

/// What opens a URL where the person can see it.
pub(crate) trait Browser {
    /// Whether a browser can be opened at all here (a `BROWSER`, a desktop), and if
    /// not, why.
    fn available(&self) -> Result<(), String>;
    /// Opens `url`; returns once the browser command has started.
    fn open(&self, url: &str) -> Result<(), String>;
}

/// The browser of this session's desktop, or the one `BROWSER` names.
pub(crate) struct SystemBrowser<'a>(pub &'a dyn Environment);

impl Browser for SystemBrowser<'_> {
    fn available(&self) -> Result<(), String> {
        let env = self.0;
        let desktop = cfg!(any(target_os = "macos", windows))
            || env.var("DISPLAY").is_some()
            || env.var("WAYLAND_DISPLAY").is_some();
        if env.var("BROWSER").is_some() || desktop {
            Ok(())
        } else {
            Err("no desktop (DISPLAY) and no BROWSER".into())
        }
    }

    fn open(&self, url: &str) -> Result<(), String> {
        let browsers = commands(self.0);
        if browsers.iter().any(|browser| launch(browser, url)) {
            Ok(())
        } else {
            Err(format!(
                "could not start a browser ({})",
                browsers.join(", ")
            ))
        }
    }
}

/// The browser commands to try, in order.
pub(crate) fn commands(env: &dyn Environment) -> Vec<String> {
    match env.var("BROWSER") {
        Some(list) => list.split(':').map(str::to_string).collect(),
        None if cfg!(target_os = "macos") => vec!["open".into()],
        None if cfg!(windows) => vec!["explorer".into()],
        None => vec!["xdg-open".into()],
    }
}

/// Starts `browser` on `address`; `false` if it could not be started.
pub(crate) fn launch(browser: &str, address: &str) -> bool {
    let mut words = browser.split_whitespace();
    let Some(program) = words.next() else {
        return false;
    };
    let mut args: Vec<String> = words.map(|w| w.replace("%s", address)).collect();
    if !browser.contains("%s") {
        args.push(address.to_string());
    }
    let mut command = Command::new(program);
    command
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for name in crate::system::CREDENTIAL_VARIABLES {
        command.env_remove(name);
    }
    match command.spawn() {
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
pub(crate) mod twin {
    use std::cell::RefCell;

    use super::Browser;

    /// A browser that records what it was asked to open, and does what `then` says
    /// with each URL (e.g. follow it to a callback, on a thread).
    pub(crate) struct FakeBrowser {
        pub opened: RefCell<Vec<String>>,
        pub missing: Option<&'static str>,
        pub then: Box<dyn Fn(&str)>,
    }

    impl FakeBrowser {
        pub(crate) fn none(why: &'static str) -> FakeBrowser {
            FakeBrowser {
                opened: RefCell::default(),
                missing: Some(why),
                then: Box::new(|_| {}),
            }
        }
    }

    impl Browser for FakeBrowser {
        fn available(&self) -> Result<(), String> {
            self.missing.map_or(Ok(()), |why| Err(why.to_string()))
        }
        fn open(&self, url: &str) -> Result<(), String> {
            self.available()?;
            self.opened.borrow_mut().push(url.to_string());
            (self.then)(url);
            Ok(())
        }
    }
}
