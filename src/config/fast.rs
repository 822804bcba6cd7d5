//! The cached-path loader: what a profile asks for, from only the sections it needs.
//!
//! The AWS CLI runs the helper on every command, and configs of large organisations hold
//! thousands of profiles. So the files are streamed through one small window, only the
//! sections whose header names a wanted profile are kept, and only those are handed to
//! the SDK's parser.
//!
//! A bare call (no `--profile`) first finds the only profile whose `credential_process`
//! runs aws-mfa-proc, with the same streaming pass over both files ([`only_helper`]).
//!
//! Invariants:
//! - the answer is the full loader's answer, or `None`: any doubt (a line anywhere
//!   that would not parse, a chain too deep, a file that cannot be read, no single
//!   helper profile) goes to the full loader, which then reports it with every profile
//!   in view (property tests and the `config` fuzz target hold the two against each
//!   other);
//! - lines are read as the SDK's parser reads them (`aws-runtime`'s `env_config`):
//!   headers start with `[`, comments with `#` or `;`, continuations with a blank.

use std::io::Read;

use super::files::{FileKind, open_regular};
use super::{Config, MFA_PROFILE_KEY, Paths, Target, flag_value, runs_us};
use crate::system::Environment;

/// Where the two files' bytes come from: the files, or memory (for the fuzzer).
pub(crate) enum Source<'a> {
    Files(Paths),
    Memory {
        config: &'a [u8],
        credentials: &'a [u8],
    },
}

impl Source<'_> {
    fn paths(&self) -> Paths {
        match self {
            Source::Files(paths) => paths.clone(),
            Source::Memory { .. } => Paths {
                config: "config".into(),
                credentials: "credentials".into(),
            },
        }
    }

    /// Calls `visit` with each line of one file; see [`each_line`].
    fn lines(&self, kind: FileKind, visit: impl FnMut(&str) -> bool) -> Option<()> {
        match self {
            Source::Files(paths) => {
                let path = match kind {
                    FileKind::Config => &paths.config,
                    FileKind::Credentials => &paths.credentials,
                };
                match open_regular(path).ok()? {
                    Some(file) => each_line(file, visit),
                    None => Some(()),
                }
            }
            Source::Memory {
                config,
                credentials,
            } => each_line(
                match kind {
                    FileKind::Config => *config,
                    FileKind::Credentials => *credentials,
                },
                visit,
            ),
        }
    }
}

/// What `profile` asks for, parsing only the sections it needs: its own, its MFA
/// profile's and its source profile's.
pub(crate) fn target(
    env: &dyn Environment,
    profile: &str,
    source_profile: Option<&str>,
) -> Option<Target> {
    target_in(
        &Source::Files(Paths::locate(env)),
        env,
        profile,
        source_profile,
    )
}

pub(crate) fn target_in(
    source: &Source<'_>,
    env: &dyn Environment,
    profile: &str,
    source_profile: Option<&str>,
) -> Option<Target> {
    let mut names: Vec<String> = [Some(profile), source_profile]
        .into_iter()
        .flatten()
        .map(str::to_string)
        .collect();
    // Each round adds what the sections read so far refer to: role → MFA profile
    // → source profile. Three rounds cover every chain this tool supports.
    for _ in 0..3 {
        let config = Config::parse(
            source.paths(),
            read_sections(source, FileKind::Config, &names)?,
            &read_sections(source, FileKind::Credentials, &names)?,
        )
        .ok()?;
        let referred: Vec<String> = names
            .iter()
            .filter_map(|n| config.profiles.get_profile(n))
            .flat_map(|p| {
                [
                    p.get(MFA_PROFILE_KEY).map(str::to_string),
                    p.get("source_profile").map(str::to_string),
                    p.get("credential_process")
                        .and_then(|line| flag_value(line, "--source-profile")),
                ]
            })
            .flatten()
            .filter(|n| !names.contains(n))
            .collect();
        if referred.is_empty() {
            return config.target(env, profile, source_profile).ok();
        }
        names.extend(referred);
    }
    None
}

/// The profile a bare call serves, and what it asks for: the only profile whose
/// `credential_process` runs aws-mfa-proc, if there is exactly one.
pub(crate) fn only_helper(env: &dyn Environment) -> Option<Target> {
    only_helper_in(&Source::Files(Paths::locate(env)), env)
}

pub(crate) fn only_helper_in(source: &Source<'_>, env: &dyn Environment) -> Option<Target> {
    let mut helpers = Helpers::default();
    for kind in [FileKind::Config, FileKind::Credentials] {
        let mut scan = Scan::new(kind);
        source.lines(kind, |line| scan.line(line))?;
        helpers.merge(scan.finish()?);
    }
    let name = helpers.only()?;
    target_in(source, env, &name, None)
}

/// Streams `file` through one window and calls `visit` with each line (without its
/// `\n` or `\r\n`); `visit` returns `false` to stop early. `None` if it cannot be
/// read or a line is not UTF-8 (the full loader then says why).
fn each_line(mut file: impl Read, mut visit: impl FnMut(&str) -> bool) -> Option<()> {
    // window[..filled] is read but not yet judged: at most a line that the end of the
    // previous read cut short, then what this read brought.
    let mut window = vec![0u8; 64 * 1024];
    let mut filled = 0;
    loop {
        if filled == window.len() {
            window.resize(2 * window.len(), 0); // a line longer than the window
        }
        let n = file.read(&mut window[filled..]).ok()?;
        let eof = n == 0;
        filled += n;
        let data = &window[..filled];
        let complete = if eof {
            data.len()
        } else {
            memchr::memrchr(b'\n', data).map_or(0, |at| at + 1)
        };
        let text = std::str::from_utf8(&data[..complete]).ok()?;
        for line in text.lines() {
            if !visit(line) {
                return Some(());
            }
        }
        window.copy_within(complete..filled, 0);
        filled -= complete;
        if eof {
            return Some(());
        }
    }
}

/// The sections of one file whose header ends in one of `names` (`[profile NAME]`,
/// `[NAME]`), whole and in order; a missing file has none. The file is streamed
/// through one small buffer: a config of thousands of profiles is never held, or paged
/// in, whole. Every line is checked as the SDK's parser checks it: `None` if any line
/// of the file would not parse (the full loader then says which).
pub(crate) fn read_sections(
    source: &Source<'_>,
    kind: FileKind,
    names: &[String],
) -> Option<String> {
    let mut kept = String::new();
    let mut keep = false;
    let mut scan = Scan::new(kind);
    source.lines(kind, |line| {
        if line.starts_with('[') {
            keep = header_names(line, names);
        }
        if keep {
            kept.push_str(line);
            kept.push('\n');
        }
        scan.line(line)
    })?;
    (!scan.broken).then_some(kept)
}

/// Does this header line (`[profile NAME]`, `[NAME]`, `[ profile NAME ] # …`) name one
/// of `names`? The name is read as the SDK reads it: after the first blank, trimmed.
fn header_names(line: &str, names: &[String]) -> bool {
    let Some(inner) = strip_comment(line, false)
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
    else {
        return false;
    };
    let inner = inner.trim_matches(WHITESPACE);
    let name = match inner.split_once(WHITESPACE) {
        Some((_, name)) => name.trim(),
        None => inner.trim(),
    };
    names.iter().any(|n| n == name)
}

const WHITESPACE: [char; 2] = [' ', '\t'];

/// One file's profile sections that set `credential_process`, read line by line as the
/// SDK's parser reads them.
struct Scan {
    kind: FileKind,
    /// Raw section header → its `credential_process` value (the last one set).
    values: Vec<(String, String)>,
    /// The section being read, and whether its last property is `credential_process`.
    section: Option<String>,
    property: Property,
    broken: bool,
}

#[derive(PartialEq)]
enum Property {
    None,
    /// A property; `subproperty` when its value is empty and the lines after it are
    /// `key = value` sub-properties.
    Some {
        credential_process: bool,
        subproperty: bool,
    },
}

impl Scan {
    fn new(kind: FileKind) -> Scan {
        Scan {
            kind,
            values: Vec::new(),
            section: None,
            property: Property::None,
            broken: false,
        }
    }

    /// Reads one line; `false` once the file cannot parse (the full loader says why).
    fn line(&mut self, line: &str) -> bool {
        if line.trim_matches(WHITESPACE).is_empty() || line.starts_with(['#', ';']) {
            return true;
        }
        if line.starts_with('[') {
            let header = strip_comment(line, false);
            match header.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                Some(name) => {
                    self.section = Some(name.to_string());
                    self.property = Property::None;
                }
                None => self.broken = true,
            }
        } else if line.starts_with(WHITESPACE) {
            match (&self.section, &self.property) {
                (None, _) | (_, Property::None) => self.broken = true,
                (
                    Some(_),
                    Property::Some {
                        subproperty,
                        credential_process,
                    },
                ) => {
                    let text = line.trim_matches(WHITESPACE);
                    if *subproperty && !text.is_empty() && property(line).is_none() {
                        self.broken = true;
                    } else if *credential_process && let Some((_, value)) = self.values.last_mut() {
                        value.push('\n');
                        value.push_str(text);
                    }
                }
            }
        } else {
            match (&self.section, property(line)) {
                (Some(section), Some((key, value))) => {
                    let credential_process = key.eq_ignore_ascii_case("credential_process");
                    if credential_process {
                        let section = section.clone();
                        self.values.retain(|(s, _)| *s != section);
                        self.values.push((section, value.to_string()));
                    }
                    self.property = Property::Some {
                        credential_process,
                        subproperty: value.is_empty(),
                    };
                }
                _ => self.broken = true,
            }
        }
        !self.broken
    }

    /// The profiles (by name) and their `credential_process`, as the SDK names them.
    fn finish(self) -> Option<Vec<(String, String)>> {
        if self.broken {
            return None;
        }
        let sections = self.values.into_iter().filter_map(|(raw, value)| {
            let raw = raw.trim_matches(WHITESPACE);
            let (prefix, name) = match raw.split_once(WHITESPACE) {
                Some((prefix, name)) => (Some(prefix.trim()), name.trim()),
                None => (None, raw.trim()),
            };
            let profile = match (self.kind, prefix) {
                (FileKind::Config, Some("profile")) | (FileKind::Credentials, None) => {
                    is_identifier(name).then_some(name)
                }
                (FileKind::Config, None) if name == "default" => Some(name),
                _ => None,
            };
            profile.map(|p| (p.to_string(), value, prefix.is_some()))
        });
        // `[profile default]` in the config file hides `[default]` there.
        let sections: Vec<_> = sections.collect();
        let prefixed_default = sections
            .iter()
            .any(|(p, _, prefixed)| p == "default" && *prefixed);
        let mut profiles: Vec<(String, String)> = Vec::new();
        for (profile, value, prefixed) in sections {
            if profile == "default" && prefixed_default && !prefixed {
                continue;
            }
            // Two headers of one profile that disagree: which wins is up to the SDK.
            if let Some((_, other)) = profiles.iter().find(|(p, _)| *p == profile) {
                if runs_us(other) != runs_us(&value) {
                    return None;
                }
                continue;
            }
            profiles.push((profile, value));
        }
        Some(profiles)
    }
}

/// `key = value` as the SDK reads a property line (comments need a blank before them).
fn property(line: &str) -> Option<(&str, &str)> {
    let (key, value) = strip_comment(line, true).split_once('=')?;
    let key = key.trim_matches(WHITESPACE);
    (!key.is_empty()).then_some((key, value.trim_matches(WHITESPACE)))
}

/// `line` trimmed, cut at a `#` or `;` (one after a blank, if `after_blank`).
fn strip_comment(line: &str, after_blank: bool) -> &str {
    let line = line.trim_matches(WHITESPACE);
    let mut previous_blank = false;
    for (at, c) in line.char_indices() {
        if (c == '#' || c == ';') && (previous_blank || !after_blank) {
            return line[..at].trim_matches(WHITESPACE);
        }
        previous_blank = c.is_whitespace();
    }
    line
}

/// A profile name the SDK accepts.
fn is_identifier(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

/// The helper profiles of both files: the credentials file's values win.
#[derive(Default)]
struct Helpers(Vec<(String, String)>);

impl Helpers {
    fn merge(&mut self, profiles: Vec<(String, String)>) {
        for (profile, value) in profiles {
            self.0.retain(|(p, _)| *p != profile);
            self.0.push((profile, value));
        }
    }

    /// The only profile whose `credential_process` runs aws-mfa-proc.
    fn only(self) -> Option<String> {
        let mut helpers = self.0.into_iter().filter(|(_, value)| runs_us(value));
        let (only, _) = helpers.next()?;
        helpers.next().is_none().then_some(only)
    }
}
