//! Entry points for coverage-guided fuzzing (cargo-fuzz, in `fuzz/`) and for the
//! replay of its corpus, which runs with the unit tests.
//!
//! Each function takes arbitrary bytes and panics only when a property is broken:
//! - [`record`]: the keychain record decoder never accepts a malformed value, and what
//!   it accepts survives a round trip;
//! - [`config`]: the cached-path loader gives the full loader's answer, for a named and
//!   a bare call; both refuse a file that holds one section twice, where the SDK
//!   parser's own answer would change from run to run;
//! - [`front_arguments`]: what the front door takes for a credential_process call, clap
//!   takes for the same call with the same profile;
//! - [`writers`]: the env (sh, fish, PowerShell, dotenv, JSON) and exec-file writers,
//!   parsed back, give exactly the values written: no value can add a line, a variable
//!   or a profile;
//! - [`credential_json`]: the credential_process document is one line of JSON with
//!   exactly the five fields;
//! - [`edit`]: `setup`'s and `import`'s edits of the user's files change only the lines
//!   they name: every other byte comes through unchanged;
//! - [`aws_answers`]: an ARN or MFA serial from AWS that passes the checks shows as
//!   one line with no control characters, and the section `setup` appends with it
//!   parses back as exactly that profile, with that serial and no code program; the
//!   terminal escape leaves no control character in any text.
//!
//! These are public only for the fuzz crate; nothing else uses them.

use std::ffi::OsString;

use chrono::{DateTime, TimeZone, Utc};

use crate::cli::{Cli, EnvFormat};
use crate::config::fast::{Source, only_helper_in, target_in};
use crate::config::{Config, Paths, words};
use crate::credentials::Checked;
use crate::credentials::SessionCredentials;
use crate::secret::Secret;
use crate::store::record;
use crate::store::unframe_single;
use crate::system::NoEnv;

/// The keychain record decoder.
pub fn record(data: &[u8]) {
    for bytes in [Some(data), unframe_single(data)].into_iter().flatten() {
        if let Ok(session) = record::decode::<SessionCredentials>(bytes) {
            assert!(session.check().is_ok());
            let again: SessionCredentials = record::decode(&record::encode(&session)).unwrap();
            assert_eq!(format!("{session:?}"), format!("{again:?}"));
            assert_eq!(session.secret_access_key, again.secret_access_key);
            assert_eq!(session.session_token, again.session_token);
        }
        if let Ok(keys) = record::decode::<crate::credentials::LongTermKeys>(bytes) {
            assert!(keys.check().is_ok());
        }
    }
}

/// The cached-path loader against the full parser: `data` is the config file, then a
/// 0xFF byte, then the credentials file.
pub fn config(data: &[u8]) {
    let (config, credentials) = match data.iter().position(|&b| b == 0xff) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let source = Source::Memory {
        config,
        credentials,
    };
    let parse = || match (
        std::str::from_utf8(config),
        std::str::from_utf8(credentials),
    ) {
        (Ok(c), Ok(k)) => Config::parse(
            Paths {
                config: "config".into(),
                credentials: "credentials".into(),
            },
            c.to_string(),
            k,
        )
        .ok(),
        _ => None,
    };
    let answer = |full: &Option<Config>, named: Option<&str>| {
        full.as_ref().and_then(|cfg| {
            let profile = cfg.choose_profile(named).ok()?;
            cfg.target(&NoEnv, &profile, None)
                .ok()
                .map(|t| format!("{t:?}"))
        })
    };
    let full = parse();
    for named in [Some("mfa"), None] {
        let expected = answer(&full, named);
        let fast = match named {
            Some(profile) => target_in(&source, &NoEnv, profile, None),
            None => only_helper_in(&source, &NoEnv),
        }
        .map(|t| format!("{t:?}"));
        assert_eq!(fast, expected, "named {named:?}");
    }
}

/// The front door's argument parser against clap: `data` is the arguments, split at
/// NUL bytes.
pub fn front_arguments(data: &[u8]) {
    use clap::Parser;
    let args: Vec<OsString> = data
        .split(|&b| b == 0)
        .filter(|_| !data.is_empty())
        .map(|a| OsString::from(String::from_utf8_lossy(a).into_owned()))
        .collect();
    let Some((profile, source)) = aws_mfa_proc_front::door::profile_arguments(&args) else {
        return;
    };
    let cli =
        Cli::try_parse_from(std::iter::once(OsString::from("aws-mfa-proc")).chain(args.clone()))
            .unwrap_or_else(|e| panic!("the front door took {args:?}, clap refuses: {e}"));
    assert!(cli.command.is_none(), "{args:?}");
    assert_eq!(cli.verbose, 0, "{args:?}");
    assert_eq!(cli.select.profile, profile, "{args:?}");
    assert_eq!(cli.select.source_profile, source, "{args:?}");
}

/// Well-formed credentials from `data`: its bytes mapped onto each field's alphabet.
fn credentials_from(data: &[u8]) -> SessionCredentials {
    const ID: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    let map = |bytes: &[u8], alphabet: &[u8], min: usize| -> String {
        let mut s: String = bytes
            .iter()
            .map(|b| alphabet[*b as usize % alphabet.len()] as char)
            .collect();
        while s.len() < min {
            s.push('A');
        }
        s
    };
    let third = data.len() / 3;
    let seconds = data
        .iter()
        .fold(0i64, |a, b| a.wrapping_mul(31).wrapping_add(*b as i64));
    SessionCredentials {
        access_key_id: map(&data[..third.min(100)], ID, 16),
        secret_access_key: Secret::new(map(&data[third..(2 * third).min(third + 200)], B64, 1)),
        session_token: Secret::new(map(&data[2 * third..], B64, 1)),
        expiration: Utc
            .timestamp_opt(1_700_000_000 + seconds.rem_euclid(1_000_000_000), 0)
            .single()
            .unwrap_or(DateTime::UNIX_EPOCH),
        source_access_key_id: "AKIAEXAMPLE00001".into(),
    }
}

/// The environment and exec-file writers, parsed back: `data` gives the credentials,
/// then after a 0xFF byte the region, the watched path and the profile name.
pub fn writers(data: &[u8]) {
    let mut fields = data.split(|&b| b == 0xff);
    let credentials = credentials_from(fields.next().unwrap_or_default());
    assert!(credentials.check().is_ok());
    let text = |f: Option<&[u8]>| String::from_utf8_lossy(f.unwrap_or_default()).into_owned();
    let region = text(fields.next());
    let region = crate::config::is_region(&region).then_some(region.as_str());
    let watch = std::path::PathBuf::from(text(fields.next()));
    let profile = text(fields.next());
    let expected = expected_variables(&credentials, region);

    for format in [
        EnvFormat::Sh,
        EnvFormat::Fish,
        EnvFormat::Powershell,
        EnvFormat::Dotenv,
        EnvFormat::Json,
    ] {
        let mut out = Vec::new();
        crate::output::environment(&mut out, format, &credentials, region, Some(&watch)).unwrap();
        let out = String::from_utf8(out).unwrap();
        let (got, watched) = parse_environment(format, &out);
        assert_eq!(got, expected, "{format:?}: {out:?}");
        if format == EnvFormat::Sh {
            assert_eq!(
                watched.as_deref(),
                Some(watch.to_string_lossy().as_ref()),
                "{out:?}"
            );
        }
    }

    // The exec file, as the SDK reads it: one profile, exactly the three keys.
    if !profile.is_empty()
        && profile.len() <= 64
        && profile
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
    {
        let file = crate::output::credentials_file(&profile, &credentials);
        let parsed = Config::parse(
            Paths {
                config: "config".into(),
                credentials: "credentials".into(),
            },
            String::new(),
            &file,
        )
        .unwrap();
        assert_eq!(parsed.profile_names(), vec![profile.as_str()]);
        let values = parsed.static_key_lines(&profile);
        assert_eq!(values.0.as_ref(), Some(&credentials.access_key_id));
        assert_eq!(
            values.1.as_ref(),
            Some(credentials.secret_access_key.expose())
        );
        assert_eq!(values.2.as_ref(), Some(credentials.session_token.expose()));
    }
}

fn expected_variables(c: &SessionCredentials, region: Option<&str>) -> Vec<(String, String)> {
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID".to_string(), c.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            c.secret_access_key.expose().clone(),
        ),
        ("AWS_SESSION_TOKEN".into(), c.session_token.expose().clone()),
        (
            "AWS_CREDENTIAL_EXPIRATION".into(),
            crate::credentials::iso8601(c.expiration),
        ),
    ];
    if let Some(region) = region {
        vars.push(("AWS_REGION".into(), region.into()));
        vars.push(("AWS_DEFAULT_REGION".into(), region.into()));
    }
    vars.sort();
    vars
}

/// The variables an env output sets (sorted), and the file it watches, read back the
/// way its reader reads it.
fn parse_environment(format: EnvFormat, out: &str) -> (Vec<(String, String)>, Option<String>) {
    let mut vars = Vec::new();
    let mut watched = None;
    match format {
        EnvFormat::Json => {
            let map: std::collections::BTreeMap<String, String> =
                serde_json::from_str(out).unwrap();
            assert_eq!(out.matches('\n').count(), 1);
            vars.extend(map);
        }
        EnvFormat::Sh => {
            let words = words(out).expect("balanced quotes");
            let mut words = words.into_iter();
            while let Some(word) = words.next() {
                match word.as_str() {
                    "export" => {
                        let assignment = words.next().unwrap();
                        let (name, value) = assignment.split_once('=').unwrap();
                        vars.push((name.to_string(), value.to_string()));
                    }
                    "watch_file" => watched = words.next(),
                    other => panic!("unexpected word {other:?} in {out:?}"),
                }
            }
        }
        _ => {
            for line in out.lines() {
                let (name, value) = match format {
                    EnvFormat::Fish => {
                        let rest = line
                            .strip_prefix("set -gx ")
                            .unwrap()
                            .strip_suffix(';')
                            .unwrap();
                        let (name, quoted) = rest.split_once(' ').unwrap();
                        let inner = quoted
                            .strip_prefix('\'')
                            .unwrap()
                            .strip_suffix('\'')
                            .unwrap();
                        (name, inner.replace("\\'", "'").replace("\\\\", "\\"))
                    }
                    EnvFormat::Powershell => {
                        let rest = line.strip_prefix("$Env:").unwrap();
                        let (name, quoted) = rest.split_once(" = ").unwrap();
                        let inner = quoted
                            .strip_prefix('\'')
                            .unwrap()
                            .strip_suffix('\'')
                            .unwrap();
                        (name, inner.replace("''", "'"))
                    }
                    _ => {
                        let (name, value) = line.split_once('=').unwrap();
                        (name, value.to_string())
                    }
                };
                vars.push((name.to_string(), value));
            }
        }
    }
    vars.sort();
    (vars, watched)
}

/// The credential_process document, parsed back.
pub fn credential_json(data: &[u8]) {
    let credentials = credentials_from(data);
    let mut out = Vec::new();
    crate::output::credential_process(&mut out, &credentials).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.ends_with('\n') && text.matches('\n').count() == 1,
        "{text:?}"
    );
    let doc: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(doc.len(), 5, "{text}");
    assert_eq!(doc["Version"], 1);
    assert_eq!(doc["AccessKeyId"], credentials.access_key_id.as_str());
    assert_eq!(
        doc["SecretAccessKey"],
        credentials.secret_access_key.expose().as_str()
    );
    assert_eq!(
        doc["SessionToken"],
        credentials.session_token.expose().as_str()
    );
    let expiration = doc["Expiration"].as_str().unwrap();
    assert!(expiration.ends_with('Z'));
    assert_eq!(
        DateTime::parse_from_rfc3339(expiration)
            .unwrap()
            .with_timezone(&Utc),
        credentials.expiration
    );
}

/// The edits of the user's files: `data` is the file's text, then after 0xFF bytes the
/// section name, a key and a value (a value with no line break, as the callers give).
pub fn edit(data: &[u8]) {
    use crate::config::edit::{In, append, remove_keys, remove_section, replace_value};
    let mut fields = data.split(|&b| b == 0xff);
    let text = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let mut field = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let (name, key, value) = (field(), field().to_ascii_lowercase(), field());
    if value.contains(['\n', '\r']) {
        return;
    }
    let lines = |t: &str| -> Vec<String> { t.split_inclusive('\n').map(str::to_string).collect() };
    let before = lines(&text);
    for section in [In::Credentials(&name), In::Config(&name)] {
        // Removals: what is left is the text with some whole lines taken out, in order,
        // and each line taken out is one of the section's `key` lines.
        let (kept, removed) = remove_keys(&text, section, &[key.as_str()]);
        let gone = removed_lines(&before, &lines(&kept));
        assert_eq!(gone.len(), removed, "{text:?}");
        for line in gone {
            let k = line
                .split_once('=')
                .map(|(k, _)| k.trim().to_ascii_lowercase());
            assert_eq!(k.as_deref(), Some(key.as_str()), "{line:?} of {text:?}");
        }
        let without = remove_section(&text, section);
        removed_lines(&before, &lines(&without));

        // A replacement: the same lines, each one the same or `key = value`.
        let replaced = replace_value(&text, section, &key, &value);
        let after = lines(&replaced);
        assert_eq!(after.len(), before.len(), "{text:?} → {replaced:?}");
        for (old, new) in before.iter().zip(&after) {
            if old != new {
                let end = &old[old.trim_end_matches(['\r', '\n']).len()..];
                assert_eq!(new, &format!("{key} = {value}{end}"), "{old:?}");
            }
        }
    }
    // An append keeps the text and adds the section after it.
    let section = format!("[profile {name}]\n");
    let appended = append(&text, &section);
    assert!(appended.starts_with(&text) && appended.ends_with(&section));
    assert!(
        appended[text.len()..appended.len() - section.len()]
            .chars()
            .all(|c| c == '\n')
    );
}

/// The lines of `before` missing from `after`, checking that `after` is `before` with
/// some whole lines taken out, the rest in order and unchanged.
fn removed_lines(before: &[String], after: &[String]) -> Vec<String> {
    let mut rest = after.iter().peekable();
    let mut gone = Vec::new();
    for line in before {
        if rest.peek() == Some(&line) {
            rest.next();
        } else {
            gone.push(line.clone());
        }
    }
    assert!(
        rest.next().is_none(),
        "the edit added or changed a line: {after:?}"
    );
    gone
}

/// AWS answers on their way to a config or a terminal: `data` is an ARN, then after a
/// 0xFF byte an MFA serial number.
pub fn aws_answers(data: &[u8]) {
    use crate::aws::{Service, answers};
    use crate::config::Target;
    use crate::error::escape_controls;
    let mut fields = data.split(|&b| b == 0xff);
    let mut field = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let (arn, serial) = (field(), field());
    for text in [&arn, &serial] {
        let shown = escape_controls(text);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
    }
    if let Ok(arn) = answers::arn(Service::Sts, arn) {
        assert!(
            !arn.chars().any(|c| c.is_control() || c.is_whitespace()),
            "{arn:?}"
        );
        assert_eq!(escape_controls(&arn), arn);
    }
    let Ok(serials) = answers::mfa_serials(vec![serial]) else {
        return;
    };
    let serial = &serials[0];
    assert_eq!(&escape_controls(serial), serial);
    let section =
        crate::commands::setup::section("fuzz", "/usr/bin/aws-mfa-proc", serial, "eu-west-1");
    assert_eq!(section.lines().count(), 4, "{section:?}");
    let config = Config::parse(
        Paths {
            config: "config".into(),
            credentials: "credentials".into(),
        },
        crate::config::edit::append("[default]\nregion = eu-west-1", &section),
        "",
    )
    .unwrap_or_else(|e| panic!("{section:?}: {e}"));
    match config.target(&NoEnv, "fuzz", None) {
        Ok(Target::Session(settings)) => {
            assert_eq!(&settings.mfa_serial, serial);
            assert_eq!(settings.codes.mfa_process, None);
            assert_eq!(settings.codes.ykman_account, None);
        }
        other => panic!("{section:?}: {other:?}"),
    }
}

/// A fuzz target.
pub type Target = fn(&[u8]);

/// Every fuzz target, by the name of its folder in `fuzz/corpus/`.
pub const TARGETS: [(&str, Target); 7] = [
    ("record", record),
    ("config", config),
    ("front_arguments", front_arguments),
    ("writers", writers),
    ("credential_json", credential_json),
    ("edit", edit),
    ("aws_answers", aws_answers),
];

#[cfg(test)]
mod tests {
    /// The committed corpus and regressions of every target run clean: the regression
    /// test for everything the fuzzer ever found (see `fuzz/README.md`).
    #[test]
    fn the_fuzz_corpus_and_regressions_replay_clean() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut replayed = std::collections::BTreeMap::new();
        for folder in ["corpus", "regressions"] {
            for (name, target) in super::TARGETS {
                let dir = root.join(folder).join(name);
                let entries = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries,
                    // Not every target has had a finding.
                    Err(e)
                        if folder == "regressions" && e.kind() == std::io::ErrorKind::NotFound =>
                    {
                        continue;
                    }
                    Err(e) => panic!("{}: {e}", dir.display()),
                };
                for entry in entries {
                    let path = entry.unwrap().path();
                    let data = std::fs::read(&path).unwrap();
                    let outcome = std::panic::catch_unwind(|| target(&data));
                    assert!(outcome.is_ok(), "{name}: {} fails", path.display());
                    *replayed.entry(folder).or_insert(0) += 1;
                }
            }
        }
        assert!(replayed.get("corpus") >= Some(&5), "{replayed:?}");
        // Issue 17, item 14: fuzz/regressions was never replayed.
        let regressions = std::fs::read_dir(root.join("regressions"))
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .count();
        assert_eq!(
            replayed.get("regressions"),
            Some(&regressions),
            "{replayed:?}"
        );
    }
}
