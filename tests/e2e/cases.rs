//! Command-line behaviour as data: every file in `tests/cases/` is one case, run by
//! [`every_case_in_tests_cases`]. Adding a case means adding a file.
//!
//! A case is TOML:
//! ```toml
//! about = "what the case shows"
//! args = ["--profile", "prod"]        # the arguments of `aws-mfa-proc`
//! config = """..."""                  # HOME/.aws/config (absent: no file)
//! credentials = """..."""             # HOME/.aws/credentials (absent: no file)
//! env = { NAME = "value" }            # added to the rig's environment
//! status = 1                          # the exit code
//! stderr = """..."""                  # what stderr must say, line by line
//! stdout = ""                         # default: nothing
//! ```
//! Every case runs with no controlling terminal and stdin closed (as an IDE runs the
//! tool), in one shared rig whose keychain holds long-term keys for profile `mfa`
//! ([`crate::support::configured`]) and no session. In `stderr` and `stdout`, `[..]`
//! matches any text within a line and `[HOME]` is the rig's HOME.

use std::collections::BTreeMap;
use std::path::Path;

use crate::rig::Rig;
use crate::support::*;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    about: String,
    args: Vec<String>,
    config: Option<String>,
    credentials: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    status: i32,
    stderr: String,
    #[serde(default)]
    stdout: String,
}

#[test]
fn every_case_in_tests_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "only {} cases in {}",
        files.len(),
        dir.display()
    );

    let rig = Rig::new();
    configured(&rig);
    let home = rig.home().to_str().unwrap().to_owned();
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let case: Case = toml::from_str(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (path, text) in [
            (rig.config_path(), &case.config),
            (rig.credentials_path(), &case.credentials),
        ] {
            match text {
                Some(text) => std::fs::write(&path, text).unwrap(),
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let mut command = rig.command("setsid");
        command.arg("aws-mfa-proc").args(&case.args).envs(&case.env);
        let out = run(&mut command);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        let mut wrong = Vec::new();
        if out.status.code() != Some(case.status) {
            wrong.push(format!(
                "exit {:?}, expected {}",
                out.status.code(),
                case.status
            ));
        }
        for (what, expected, got) in [
            ("stderr", &case.stderr, &stderr),
            ("stdout", &case.stdout, &stdout),
        ] {
            let expected = expected.replace("[HOME]", &home);
            if !text_matches(&expected, got) {
                wrong.push(format!(
                    "{what}:\n  expected: {expected:?}\n  got:      {got:?}"
                ));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!("{name} ({}):\n{}", case.about, wrong.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// `text` has as many lines as `pattern`, each matching its pattern line.
fn text_matches(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<&str>, Vec<&str>) =
        (pattern.lines().collect(), text.lines().collect());
    pattern.len() == text.len() && pattern.iter().zip(&text).all(|(p, t)| line_matches(p, t))
}

/// `[..]` in `pattern` matches any text; the rest is literal.
fn line_matches(pattern: &str, line: &str) -> bool {
    let mut pieces = pattern.split("[..]");
    let first = pieces.next().unwrap_or("");
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    for (i, piece) in pieces.iter().enumerate() {
        if i == pieces.len() - 1 {
            return rest.ends_with(piece);
        }
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

#[test]
fn the_case_matcher_matches_what_it_says() {
    assert!(line_matches("a [..] c", "a b c"));
    assert!(line_matches("a [..]", "a anything"));
    assert!(line_matches("[..]x[..]y", "1x2y"));
    assert!(!line_matches("a [..] c", "a b d"));
    assert!(!line_matches("abc", "abcd"));
    assert!(text_matches("one\ntwo [..]", "one\ntwo three\n"));
    assert!(!text_matches("one", "one\ntwo"));
}
