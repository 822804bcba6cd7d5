//! The `credential_process` command line, split into words as the SDKs split it on
//! this platform. On Unix: botocore with POSIX `shlex`, the JS, Go, Java and Rust SDKs
//! with `sh -c`. On Windows: the JS, Go, Java and Rust SDKs with `cmd /C`, botocore its
//! own way ([`super::windows_line`]); the line is read as `cmd` reads it.
//!
//! Invariants:
//! - [`Shell::HERE`] picks the rules; every reader and writer of the line (status,
//!   setup, import, doctor) goes through [`command_words`] and [`quote`], so they agree;
//! - POSIX quoting covers the subset a command line uses: blanks separate words, `'…'`
//!   is literal, `"…"` keeps blanks and honours `\"`, `\\`, `\$`, `` \` ``, and a
//!   backslash outside quotes escapes the next character; a line with an unterminated
//!   quote has no words (it runs nothing in a shell either);
//! - on Windows the program is recognised in any letter case, with or without `.exe`.

use std::path::Path;

use super::windows_line::{cmd_quote, cmd_words};

/// The rules the SDKs split a `credential_process` line with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    /// `sh -c` and `shlex` (Unix).
    Posix,
    /// `cmd /C` (Windows).
    Cmd,
}

impl Shell {
    /// The rules of the platform this binary runs on.
    pub const HERE: Shell = if cfg!(windows) {
        Shell::Cmd
    } else {
        Shell::Posix
    };
}

/// The program names that serve credentials: the front door and the full program.
const PROGRAMS: [&str; 2] = ["aws-mfa-proc", "aws-mfa-proc-full"];

/// The words of a `credential_process` line under `shell`'s rules, or `None` if it
/// runs nothing.
pub fn command_words_as(shell: Shell, line: &str) -> Option<Vec<String>> {
    match shell {
        Shell::Posix => words(line),
        Shell::Cmd => Some(cmd_words(line)),
    }
}

/// The words of a `credential_process` line as this platform's SDKs read it.
pub fn command_words(line: &str) -> Option<Vec<String>> {
    command_words_as(Shell::HERE, line)
}

/// `word` as one word of a command line under `shell`'s rules.
pub fn quote_as(shell: Shell, word: &str) -> String {
    match shell {
        Shell::Posix
            if !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-+=@:".contains(c)) =>
        {
            word.to_string()
        }
        Shell::Posix => format!("'{}'", word.replace('\'', "'\\''")),
        Shell::Cmd => cmd_quote(word),
    }
}

/// `word` as one word of a command line for this platform's SDKs.
pub fn quote(word: &str) -> String {
    quote_as(Shell::HERE, word)
}

/// The blanks that separate words under POSIX rules.
const BLANKS: [char; 4] = [' ', '\t', '\n', '\r'];

/// The words of `line` under POSIX shell rules, or `None` if a quote is left open.
pub fn words(line: &str) -> Option<Vec<String>> {
    // No quote and no escape, as most lines: the blanks alone separate the words.
    if !line.bytes().any(|b| matches!(b, b'\'' | b'"' | b'\\')) {
        return Some(plain_words(line).map(str::to_string).collect());
    }
    quoted_words(line)
}

/// [`words`], one character at a time: quotes and escapes included.
fn quoted_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        other => w.push(other),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            escaped @ ('"' | '\\' | '$' | '`') => w.push(escaped),
                            '\n' => {}
                            other => {
                                w.push('\\');
                                w.push(other);
                            }
                        },
                        other => w.push(other),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(escaped) => word.get_or_insert_with(String::new).push(escaped),
                None => word.get_or_insert_with(String::new).push('\\'),
            },
            other => word.get_or_insert_with(String::new).push(other),
        }
    }
    words.extend(word);
    Some(words)
}

/// Does this command line run aws-mfa-proc? (A line without quotes, escapes or
/// variables that does not hold the name is ruled out without splitting it: configs
/// hold thousands of other programs' lines.)
pub fn runs_us(line: &str) -> bool {
    runs_us_as(Shell::HERE, line)
}

/// The words of a line with no quote and no escape.
fn plain_words(line: &str) -> impl Iterator<Item = &str> {
    line.split(BLANKS).filter(|word| !word.is_empty())
}

pub fn runs_us_as(shell: Shell, line: &str) -> bool {
    let bytes = line.as_bytes();
    let name = PROGRAMS[0].as_bytes();
    // One searcher for every line (building one costs more than a short line's search).
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(PROGRAMS[0]));
    // Under POSIX rules the program is the first word, and one with no quote and no
    // escape is read as written: if it does not hold the name, nothing after it matters.
    if shell == Shell::Posix {
        let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
        let end = bytes[start..]
            .iter()
            .position(blank)
            .map_or(bytes.len(), |i| start + i);
        let first = &bytes[start..end];
        if !first.iter().any(|b| matches!(b, b'\'' | b'"' | b'\\'))
            && (first.len() < name.len() || FINDER.find(first).is_none())
        {
            return false;
        }
    }
    let plain = memchr::memchr3(b'\'', b'"', b'\\', bytes).is_none()
        && memchr::memchr2(b'^', b'%', bytes).is_none();
    let holds = match shell {
        Shell::Posix => FINDER.find(bytes).is_some(),
        Shell::Cmd => line
            .as_bytes()
            .windows(name.len())
            .any(|w| w.eq_ignore_ascii_case(name)),
    };
    if plain && !holds {
        return false;
    }
    if plain && shell == Shell::Posix {
        return plain_words(line)
            .next()
            .is_some_and(|program| is_us(shell, program));
    }
    command_words_as(shell, line)
        .is_some_and(|words| words.first().is_some_and(|program| is_us(shell, program)))
}

fn is_us(shell: Shell, program: &str) -> bool {
    // Take the last component under either separator: a Windows path in a POSIX-quoted
    // line keeps its backslashes when quoted.
    let last = program.rsplit(['/', '\\']).next().unwrap_or(program);
    match shell {
        Shell::Posix => {
            let stem = Path::new(last)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("");
            PROGRAMS.contains(&stem)
        }
        Shell::Cmd => {
            let last = last.to_ascii_lowercase();
            let stem = last.strip_suffix(".exe").unwrap_or(&last);
            PROGRAMS.contains(&stem)
        }
    }
}

/// The value of `--FLAG X` or `--FLAG=X` among the arguments of a command line that
/// runs aws-mfa-proc.
pub fn flag_value(line: &str, flag: &str) -> Option<String> {
    flag_value_as(Shell::HERE, line, flag)
}

fn flag_value_as(shell: Shell, line: &str, flag: &str) -> Option<String> {
    let words = command_words_as(shell, line)?;
    let mut args = words.iter().skip(1);
    while let Some(word) = args.next() {
        if word == flag {
            return args.next().cloned();
        }
        if let Some(value) = word.strip_prefix(flag).and_then(|v| v.strip_prefix('=')) {
            return Some(value.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A line with no quote and no escape splits at its blanks alone, as the
        /// character-by-character splitter splits it.
        #[test]
        fn a_plain_line_splits_as_the_full_splitter_splits_it(line in "[a-z/. =\t\r\n$#-]{0,40}") {
            let plain: Vec<String> = plain_words(&line).map(str::to_string).collect();
            proptest::prop_assert_eq!(Some(plain), quoted_words(&line));
        }
    }

    #[test]
    fn command_lines_split_as_a_shell_splits_them() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            (
                "aws-mfa-proc --profile mfa",
                Some(&["aws-mfa-proc", "--profile", "mfa"]),
            ),
            (
                "  aws-mfa-proc\t--profile=mfa  ",
                Some(&["aws-mfa-proc", "--profile=mfa"]),
            ),
            (
                r#""/opt/My Tools/aws-mfa-proc" --profile mfa"#,
                Some(&["/opt/My Tools/aws-mfa-proc", "--profile", "mfa"]),
            ),
            ("'/opt/a b/aws-mfa-proc'", Some(&["/opt/a b/aws-mfa-proc"])),
            (r"/opt/a\ b/aws-mfa-proc", Some(&["/opt/a b/aws-mfa-proc"])),
            (r#"x "a\"b" 'c\d'"#, Some(&["x", "a\"b", r"c\d"])),
            (r#"x "a"'b'c"#, Some(&["x", "abc"])),
            ("x ''", Some(&["x", ""])),
            ("", Some(&[])),
            ("x 'open", None),
            ("x \"open", None),
        ];
        for (line, expected) in cases {
            let got = words(line);
            let expected = expected.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, expected, "{line:?}");
        }
    }

    #[test]
    fn the_program_is_recognised_by_its_name_wherever_it_is_installed() {
        // (line, recognised under POSIX rules, under cmd's rules)
        let cases: &[(&str, bool, bool)] = &[
            ("aws-mfa-proc", true, true),
            ("/usr/local/bin/aws-mfa-proc --profile mfa", true, true),
            (r#""/opt/My Tools/aws-mfa-proc" --profile mfa"#, true, true),
            (
                r#""C:\Program Files\aws-mfa-proc.exe" --profile mfa"#,
                true,
                true,
            ),
            ("aws-mfa-proc-full --profile mfa", true, true),
            // Windows paths, unquoted: a POSIX shell eats the backslashes.
            (r"C:\Tools\aws-mfa-proc.exe --profile mfa", false, true),
            (r"Z:\tmp\x\aws-mfa-proc-full.exe", false, true),
            (r#"C:\"My Tools"\aws-mfa-proc --profile mfa"#, false, true),
            // Any letter case, .exe or not, on Windows.
            (r"C:\TOOLS\AWS-MFA-PROC.EXE --profile mfa", false, true),
            ("Aws-Mfa-Proc --profile mfa", false, true),
            ("aws-mfa-proc.EXE", true, true),
            (
                r"%USERPROFILE%\bin\aws-mfa-proc.exe --profile mfa",
                false,
                true,
            ),
            ("aws-mfa-^proc --profile mfa", false, true),
            ("aws-vault export --format=json", false, false),
            ("/bin/aws-mfa-proc-x", false, false),
            (r"C:\bin\aws-mfa-proc.exe.bak", false, false),
            (r"C:\bin\aws-mfa-proc.cmd", false, false),
            ("'aws-mfa-proc", false, false),
            ("echo aws-mfa-proc", false, false),
            // Another program first, quotes after: ruled out from the first word.
            (
                r#"granted credential-process --profile "team one""#,
                false,
                false,
            ),
            ("  \tgranted aws-mfa-proc", false, false),
            // Ours first, a quote left open after: under POSIX rules it runs nothing.
            ("aws-mfa-proc --profile 'open", false, true),
            ("", false, false),
        ];
        for (line, posix, cmd) in cases {
            assert_eq!(runs_us_as(Shell::Posix, line), *posix, "sh: {line}");
            assert_eq!(runs_us_as(Shell::Cmd, line), *cmd, "cmd: {line}");
        }
    }

    #[test]
    fn flags_are_read_after_the_program_in_either_form() {
        let line = r#""/opt/My Tools/aws-mfa-proc" --profile 'my mfa' --source-profile=default"#;
        assert_eq!(flag_value(line, "--profile").as_deref(), Some("my mfa"));
        assert_eq!(
            flag_value(line, "--source-profile").as_deref(),
            Some("default")
        );
        assert_eq!(flag_value("aws-mfa-proc", "--profile"), None);
        assert_eq!(
            flag_value("--profile x", "--profile"),
            None,
            "not the program"
        );
        let windows =
            r#""C:\My Tools\aws-mfa-proc.exe" --profile "my mfa" --source-profile=default"#;
        assert_eq!(
            flag_value_as(Shell::Cmd, windows, "--profile").as_deref(),
            Some("my mfa")
        );
        assert_eq!(
            flag_value_as(Shell::Cmd, windows, "--source-profile").as_deref(),
            Some("default")
        );
    }

    #[test]
    fn a_line_written_with_either_rules_reads_back_with_them() {
        for shell in [Shell::Posix, Shell::Cmd] {
            for program in [
                "/usr/local/bin/aws-mfa-proc",
                "/opt/My Tools/aws-mfa-proc",
                r"C:\Tools\aws-mfa-proc.exe",
                r"C:\Program Files\aws mfa\aws-mfa-proc.exe",
            ] {
                let line = format!(
                    "{} --profile {}",
                    quote_as(shell, program),
                    quote_as(shell, "my mfa")
                );
                assert_eq!(
                    command_words_as(shell, &line),
                    Some(vec![
                        program.to_string(),
                        "--profile".into(),
                        "my mfa".into()
                    ]),
                    "{shell:?}: {line}"
                );
                assert!(runs_us_as(shell, &line), "{shell:?}: {line}");
            }
        }
    }
}
