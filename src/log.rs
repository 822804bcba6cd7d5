//! Diagnostics on stderr, off unless asked for with `-v` or `AWS_MFA_PROC_LOG`, and
//! the rare [`notice`] that is always shown.
//!
//! Invariants: this module never writes to stdout, and nothing it is handed can be a
//! secret, because `Secret` prints as `REDACTED`. The AWS SDK's own tracing is never
//! forwarded: at its most verbose it logs request bodies, which carry the MFA code.

use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(0);

/// 0 = quiet, 1 or more = debug.
pub fn set_level(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

/// The level asked for by `AWS_MFA_PROC_LOG` (`debug`; `trace` is the same), if any.
pub fn level_from_env(value: Option<&str>) -> u8 {
    match value.map(str::to_ascii_lowercase).as_deref() {
        Some("trace") => 2,
        Some("debug" | "1") => 1,
        _ => 0,
    }
}

pub fn enabled(level: u8) -> bool {
    LEVEL.load(Ordering::Relaxed) >= level
}

#[allow(clippy::print_stderr)]
pub fn write(args: std::fmt::Arguments<'_>) {
    eprintln!("aws-mfa-proc: debug: {args}");
}

/// One line on stderr whatever the level: something the person should know about,
/// which does not stop the command (no secret is ever handed here).
#[allow(clippy::print_stderr)]
pub fn notice(line: &str) {
    eprintln!("aws-mfa-proc: {line}");
}

/// `debug!("...")`: a line on stderr when `-v` or `AWS_MFA_PROC_LOG=debug`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::enabled(1) {
            $crate::log::write(format_args!($($arg)*));
        }
    };
}
