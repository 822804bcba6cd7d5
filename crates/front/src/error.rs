//! How an error becomes text the person can read: one line, control characters
//! escaped, bounded in length. Every module below the commands uses these; the program's
//! own `Error`, which gathers every module's errors, is [`crate::commands::Error`].
//!
//! Invariant: this module imports nothing of the crate, so any module may use it.

/// The longest message printed.
pub const MAX_MESSAGE: usize = 2000;

/// `error: cause: cause…`, for errors from other crates.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `text` with control characters escaped (`\n`, `\u{1b}`), cut to `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    clip(&escape_controls(text), max)
}

/// `text` with every control character escaped (`\n`, `\u{1b}`): what a terminal
/// shows of it is what it says, never a command to the terminal or a line of its own.
pub fn escape_controls(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let shown: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            shown
        })
        .collect()
}

/// `text` cut to at most `max` characters, marked with `…` when cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_bounded_line() {
        assert_eq!(one_line("a\nb\tc\u{1b}[31m", 100), r"a\nb\tc\u{1b}[31m");
        let long = "x".repeat(100_000);
        assert_eq!(one_line(&long, 300).chars().count(), 301);
        assert_eq!(clip("héllo", 2), "hé…");
    }
}
