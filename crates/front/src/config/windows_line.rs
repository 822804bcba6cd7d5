//! The `credential_process` line as Windows reads it, two ways: as `cmd /C` runs it
//! (the Go, JS, Java and Rust SDKs), and as botocore's `compat_shell_split` splits it
//! (the AWS CLI v1, boto3). Pure functions, so both rule sets are tested on every
//! platform.
//!
//! Invariants:
//! - [`cmd_words`]: cmd finds the program: `"` groups and is removed, `^` outside quotes
//!   takes the next character literally, an unquoted `&`, `|`, `<`, `>` or a line break
//!   ends the command; the program then splits the rest of the line with the C
//!   runtime's rules, which Rust's std follows. `%NAME%` is left as written (cmd expands
//!   it; nothing here knows the caller's environment). A quote left open is closed by
//!   the end of the line, as both cmd and the C runtime do.
//! - [`botocore_words`] is botocore's `_windows_shell_split`: only space and tab
//!   separate, `"` toggles quoting, backslashes count only before a `"`; a quote left
//!   open is an error (`None`).

/// The words of `line` as `cmd /C` runs it: the program, then its arguments.
pub fn cmd_words(line: &str) -> Vec<String> {
    let command = first_command(line);
    let rest = command.trim_start_matches([' ', '\t']);
    let mut program = String::new();
    let mut quoted = false;
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => {
                end = i;
                break;
            }
            other => program.push(other),
        }
    }
    if end == 0 && program.is_empty() && !rest.starts_with('"') {
        return Vec::new();
    }
    let mut words = vec![program];
    words.extend(c_runtime_args(&rest[end..]));
    words
}

/// The text cmd runs as the first command of `line`, with its escapes taken.
fn first_command(line: &str) -> String {
    let mut command = String::new();
    let mut quoted = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                command.push(c);
            }
            '\r' | '\n' => break,
            '^' if !quoted => command.extend(chars.next()),
            '&' | '|' | '<' | '>' if !quoted => break,
            other => command.push(other),
        }
    }
    command
}

/// Arguments split as the C runtime (and Rust's std) splits a program's command line:
/// 2n backslashes before `"` are n backslashes and the quote toggles, 2n+1 are n and a
/// literal `"`; `""` inside quotes is a literal `"`.
fn c_runtime_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut arg = String::new();
    let mut started = false;
    let mut quoted = false;
    let mut backslashes = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            backslashes += 1;
            started = true;
            continue;
        }
        let pending = std::mem::take(&mut backslashes);
        match c {
            '"' => {
                arg.extend(std::iter::repeat_n('\\', pending / 2));
                started = true;
                if pending % 2 == 1 {
                    arg.push('"');
                } else if quoted && chars.peek() == Some(&'"') {
                    chars.next();
                    arg.push('"');
                } else {
                    quoted = !quoted;
                }
            }
            ' ' | '\t' if !quoted => {
                arg.extend(std::iter::repeat_n('\\', pending));
                if started {
                    args.push(std::mem::take(&mut arg));
                    started = false;
                }
            }
            other => {
                arg.extend(std::iter::repeat_n('\\', pending));
                arg.push(other);
                started = true;
            }
        }
    }
    arg.extend(std::iter::repeat_n('\\', backslashes));
    if started {
        args.push(arg);
    }
    args
}

/// The words of `line` as botocore splits it on Windows; `None` where it raises (a
/// quote left open).
pub fn botocore_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    let mut backslashes = 0;
    for c in line.chars() {
        if c == '\\' {
            backslashes += 1;
            continue;
        }
        let pending = std::mem::take(&mut backslashes);
        match c {
            '"' => {
                let w = word.get_or_insert_with(String::new);
                w.extend(std::iter::repeat_n('\\', pending / 2));
                if pending % 2 == 1 {
                    w.push('"');
                } else {
                    quoted = !quoted;
                }
            }
            ' ' | '\t' if !quoted => {
                if pending > 0 {
                    word.get_or_insert_with(String::new)
                        .extend(std::iter::repeat_n('\\', pending));
                }
                words.extend(word.take());
            }
            other => {
                let w = word.get_or_insert_with(String::new);
                w.extend(std::iter::repeat_n('\\', pending));
                w.push(other);
            }
        }
    }
    if quoted {
        return None;
    }
    if backslashes > 0 {
        word.get_or_insert_with(String::new)
            .extend(std::iter::repeat_n('\\', backslashes));
    }
    words.extend(word);
    Some(words)
}

/// Where botocore reads `line` differently from `cmd /C`: one sentence saying how, or
/// `None` where they agree.
pub fn botocore_differs(line: &str) -> Option<String> {
    let cmd = cmd_words(line);
    let Some(boto) = botocore_words(line) else {
        return Some("botocore (the AWS CLI v1, boto3) refuses it: a quote is left open".into());
    };
    if line.matches('%').count() >= 2 {
        return Some(
            "cmd expands its %NAME% variables, botocore (the AWS CLI v1, boto3) runs them as written".into(),
        );
    }
    (boto != cmd)
        .then(|| format!("botocore (the AWS CLI v1, boto3) runs {boto:?}, cmd runs {cmd:?}"))
}

/// `word` as one word for `cmd /C` and the C runtime: bare if nothing in it needs
/// quoting, else in `"…"` with `"` and the backslashes before it escaped.
pub fn cmd_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "\\/._-+=@:".contains(c))
    {
        return word.to_string();
    }
    let mut quoted = String::from('"');
    let mut backslashes = 0;
    for c in word.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                quoted.extend(std::iter::repeat_n('\\', 2 * backslashes + 1));
                quoted.push('"');
                backslashes = 0;
            }
            other => {
                quoted.extend(std::iter::repeat_n('\\', backslashes));
                quoted.push(other);
                backslashes = 0;
            }
        }
    }
    quoted.extend(std::iter::repeat_n('\\', 2 * backslashes));
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    /// A line, its words as `cmd /C` runs it, and as botocore splits it (`None`: it
    /// raises).
    type Case = (
        &'static str,
        &'static [&'static str],
        Option<&'static [&'static str]>,
    );

    const CASES: &[Case] = &[
        (
            r"C:\Tools\aws-mfa-proc.exe --profile mfa",
            &[r"C:\Tools\aws-mfa-proc.exe", "--profile", "mfa"],
            Some(&[r"C:\Tools\aws-mfa-proc.exe", "--profile", "mfa"]),
        ),
        (
            r#""C:\Program Files\aws-mfa-proc\aws-mfa-proc.exe" --profile "my mfa""#,
            &[
                r"C:\Program Files\aws-mfa-proc\aws-mfa-proc.exe",
                "--profile",
                "my mfa",
            ],
            Some(&[
                r"C:\Program Files\aws-mfa-proc\aws-mfa-proc.exe",
                "--profile",
                "my mfa",
            ]),
        ),
        (
            "  AWS-MFA-PROC\t--profile=mfa ",
            &["AWS-MFA-PROC", "--profile=mfa"],
            Some(&["AWS-MFA-PROC", "--profile=mfa"]),
        ),
        // Quotes in the middle of the program (botocore takes `\\"` as an escaped quote),
        // and a quote left open.
        (
            r#"C:\"My Tools"\aws-mfa-proc"#,
            &[r"C:\My Tools\aws-mfa-proc"],
            None,
        ),
        (
            r#""C:\My Tools\aws-mfa-proc --profile mfa"#,
            &[r"C:\My Tools\aws-mfa-proc --profile mfa"],
            None,
        ),
        // Single quotes are ordinary characters on Windows.
        (
            "aws-mfa-proc --profile 'my mfa'",
            &["aws-mfa-proc", "--profile", "'my", "mfa'"],
            Some(&["aws-mfa-proc", "--profile", "'my", "mfa'"]),
        ),
        // Backslashes count only before a quote.
        (
            r#"x a\\b "c\\" d\"e"#,
            &["x", r"a\\b", r"c\", "d\"e"],
            Some(&["x", r"a\\b", r"c\", "d\"e"]),
        ),
        // Where they differ: "" inside quotes, cmd's ^ and its operators.
        (r#"x "a""b""#, &["x", "a\"b"], Some(&["x", "ab"])),
        (
            "x --profile a^&b",
            &["x", "--profile", "a&b"],
            Some(&["x", "--profile", "a^&b"]),
        ),
        (
            "aws-mfa-proc --profile mfa & echo hi",
            &["aws-mfa-proc", "--profile", "mfa"],
            Some(&["aws-mfa-proc", "--profile", "mfa", "&", "echo", "hi"]),
        ),
        ("x \"\"", &["x", ""], Some(&["x", ""])),
        ("", &[], Some(&[])),
        ("   ", &[], Some(&[])),
    ];

    #[test]
    fn both_windows_rule_sets_split_each_line_as_their_reader_does() {
        for (line, cmd, boto) in CASES {
            assert_eq!(cmd_words(line), owned(cmd), "cmd /C {line:?}");
            assert_eq!(botocore_words(line), boto.map(owned), "botocore {line:?}");
        }
    }

    #[test]
    fn a_disagreement_is_named_and_agreement_is_silent() {
        for (line, cmd, boto) in CASES {
            let differs = botocore_differs(line);
            assert_eq!(
                differs.is_some(),
                *boto != Some(*cmd),
                "{line:?}: {differs:?}"
            );
        }
        let why = botocore_differs(r"%USERPROFILE%\bin\aws-mfa-proc.exe").unwrap();
        assert!(why.contains("%NAME%"), "{why}");
    }

    #[test]
    fn a_quoted_word_reads_back_as_itself_under_both_rule_sets() {
        for program in [
            r"C:\Tools\aws-mfa-proc.exe",
            r"C:\Program Files\aws-mfa-proc.exe",
        ] {
            for arg in ["mfa", "my mfa", r"C:\dir with space\", "a\"b", ""] {
                let line = format!("{} --profile {}", cmd_quote(program), cmd_quote(arg));
                let expected = owned(&[program, "--profile", arg]);
                assert_eq!(cmd_words(&line), expected, "{line}");
                assert_eq!(botocore_words(&line), Some(expected), "{line}");
            }
        }
        assert_eq!(cmd_quote(r"C:\Tools\x.exe"), r"C:\Tools\x.exe");
    }
}
