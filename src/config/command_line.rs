//! The `credential_process` command line, split into words as the SDKs' shells split
//! it: botocore with POSIX `shlex`, the JS, Go, Java and Rust SDKs with `sh -c`.
//!
//! Invariants:
//! - quoting follows POSIX shell rules for the subset a command line uses: blanks
//!   separate words, `'…'` is literal, `"…"` keeps blanks and honours `\"`, `\\`, `\$`,
//!   `` \` ``, and a backslash outside quotes escapes the next character;
//! - a line with an unterminated quote has no words (it runs nothing in a shell either).

use std::path::Path;

/// The program names that serve credentials: the front door and the full program.
const PROGRAMS: [&str; 2] = ["aws-mfa-proc", "aws-mfa-proc-full"];

/// The words of `line`, or `None` if a quote is left open.
pub(crate) fn words(line: &str) -> Option<Vec<String>> {
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

/// Does this command line run aws-mfa-proc? (A line without quotes or backslashes that
/// does not hold the name is ruled out without splitting it: configs hold thousands of
/// other programs' lines.)
pub(crate) fn runs_us(line: &str) -> bool {
    let plain = !line.bytes().any(|b| matches!(b, b'\'' | b'"' | b'\\'));
    if plain && memchr::memmem::find(line.as_bytes(), PROGRAMS[0].as_bytes()).is_none() {
        return false;
    }
    words(line).is_some_and(|words| words.first().is_some_and(|program| is_us(program)))
}

fn is_us(program: &str) -> bool {
    // A Windows path in a POSIX-quoted line keeps its backslashes only when quoted;
    // take the last component under either separator.
    let last = program.rsplit(['/', '\\']).next().unwrap_or(program);
    let stem = Path::new(last)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("");
    PROGRAMS.contains(&stem)
}

/// The value of `--FLAG X` or `--FLAG=X` among the arguments of a command line that
/// runs aws-mfa-proc.
pub(crate) fn flag_value(line: &str, flag: &str) -> Option<String> {
    let words = words(line)?;
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
        for line in [
            "aws-mfa-proc",
            "/usr/local/bin/aws-mfa-proc --profile mfa",
            r#""/opt/My Tools/aws-mfa-proc" --profile mfa"#,
            r#""C:\Program Files\aws-mfa-proc.exe" --profile mfa"#,
            "aws-mfa-proc-full --profile mfa",
        ] {
            assert!(runs_us(line), "{line}");
        }
        for line in [
            "aws-vault export --format=json",
            "/bin/aws-mfa-proc-x",
            "'aws-mfa-proc",
            "",
        ] {
            assert!(!runs_us(line), "{line}");
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
    }
}
