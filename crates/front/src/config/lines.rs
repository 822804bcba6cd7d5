//! Config text read line by line as the SDK's parser reads it (`aws-runtime`'s
//! `env_config`), fast: the cached path checks every line of configs of thousands of
//! profiles on every call. The lines come cut from [`super::cut`].
//!
//! Invariants:
//! - headers start with `[`, comments with `#` or `;` (inside a property line, only
//!   after a blank), continuations with a blank;
//! - [`Scan`] accepts a file exactly when the SDK's parser does and no section is written
//!   twice (which the full loader refuses: [`repeated_section`]), and names profiles as
//!   the SDK does (property tests and the `config` fuzz target hold the two together);
//! - linear in the file: each line is looked at once, each header's name hashed once, and
//!   nothing is searched per line;
//! - the usual `key = value` line is judged from the marks [`super::cut`] found alone.

use super::cut::{Line, Span, each_line};
use super::files::FileKind;
use super::runs_us;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

impl<'a> Line<'a> {
    /// `key = value` as the SDK reads a property line (comments need a blank before them).
    fn property(&self) -> Option<(&'a str, &'a str)> {
        if self.marked {
            let line = strip_comment(self.text, true);
            return split_property(line, memchr::memchr(b'=', line.as_bytes())?);
        }
        split_property(self.text, self.equals?)
    }
}

/// The profile name a header line (`[profile NAME]`, `[NAME]`, `[ profile NAME ] # …`)
/// holds.
pub(super) fn header_name(line: &str) -> Option<&str> {
    let inner = strip_comment(line, false)
        .strip_prefix('[')?
        .strip_suffix(']')?;
    Some(profile_name(inner))
}

/// The profile name in what a header holds between its brackets, read as the SDK
/// reads it: after the first blank, trimmed.
fn profile_name(inner: &str) -> &str {
    // The usual header, `[profile NAME]`, with nothing to trim: one look.
    if let Some(name) = inner.strip_prefix("profile ")
        && name.bytes().all(|b| b.is_ascii_graphic())
        && !name.is_empty()
    {
        return name;
    }
    let inner = trim(inner);
    let name = match inner.bytes().position(|b| matches!(b, b' ' | b'\t')) {
        Some(blank) => &inner[blank + 1..],
        None => inner,
    };
    // `str::trim`, skipped for the usual name, which needs none.
    let bytes = name.as_bytes();
    match bytes.first().is_some_and(u8::is_ascii_graphic)
        && bytes.last().is_some_and(u8::is_ascii_graphic)
    {
        true => name,
        false => name.trim(),
    }
}

const WHITESPACE: [char; 2] = [' ', '\t'];

/// `text` without leading and trailing blanks (`WHITESPACE`), byte by byte: both are
/// ASCII, so the cuts are on character boundaries. (A `[char]` pattern decodes every
/// character, and this runs on every line of configs of thousands of profiles.)
fn trim(text: &str) -> &str {
    let bytes = text.as_bytes();
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |at| at + 1);
    &text[start..end]
}

/// Which sections that set `credential_process` a [`Scan`] notes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Noting {
    /// None: a call that names its profile needs none.
    Nothing,
    /// Every one: the credentials file's, where another program overrides the config.
    Every,
    /// Those that run aws-mfa-proc: the config file's, which may hold thousands of
    /// other programs' lines; each is judged when its section ends, in buffers that
    /// are reused, so another program's line costs no allocation.
    Ours,
}

/// One file read line by line as the SDK's parser reads it: whether it parses, whether
/// one section is written twice, and the sections that set `credential_process`.
pub(super) struct Scan {
    /// Each section header (what its brackets hold) that sets `credential_process`, and
    /// the last value it sets, in file order, if they are wanted (a bare call). Pushed
    /// when the section ends, never searched: configs hold thousands of such lines.
    values: Option<Vec<(String, String)>>,
    /// Only sections that run aws-mfa-proc are kept ([`Noting::Ours`]).
    ours_only: bool,
    /// Whether the section being read sets `credential_process` (if values are noted),
    /// and the last value it sets: judged and kept when the section ends
    /// ([`Scan::settle`]), in a buffer that serves every section.
    noted: bool,
    value: String,
    /// Whether a section has started, what its header holds (kept only if values are
    /// noted), and whether its last property is `credential_process`.
    in_section: bool,
    section: String,
    property: Property,
    /// A hash of each section's [`section_key`]: two equal ones are one section written
    /// twice (or a collision, as rare), which the full loader refuses.
    keys: HashSet<u64, BuildHasherDefault<Prehashed>>,
    repeated: bool,
    broken: bool,
    /// The [`name_hash`] of the section being read.
    name_hash: u64,
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
    /// A scan that notes the sections that set `credential_process` as `noting` says.
    pub(super) fn new(noting: Noting) -> Scan {
        Scan {
            values: (noting != Noting::Nothing).then(Vec::new),
            ours_only: noting == Noting::Ours,
            noted: false,
            value: String::new(),
            in_section: false,
            section: String::new(),
            property: Property::None,
            keys: HashSet::default(),
            repeated: false,
            broken: false,
            name_hash: 0,
        }
    }

    /// Reads a whole text; [`Scan::chunk`] without the streaming.
    pub(super) fn text(text: &str) -> Scan {
        let mut scan = Scan::new(Noting::Every);
        scan.chunk(text, |_, _| {});
        scan
    }

    /// Reads the lines of `chunk` (whole lines of a file), and calls `header` with the
    /// [`name_hash`] of the profile each section header names and where the header
    /// starts in `chunk`; `false` once the file cannot parse.
    pub(super) fn chunk(&mut self, chunk: &str, mut header: impl FnMut(u64, usize)) -> bool {
        let bytes = chunk.as_bytes();
        each_line(
            chunk,
            #[inline(always)]
            |span| {
                // Blank lines between sections, comments (which change nothing), and
                // the lines most lines are, first.
                if span.start == span.end || matches!(bytes[span.start], b'#' | b';') {
                    return true;
                }
                if self.plain(bytes, &span) || self.continuation(bytes, &span) {
                    return true;
                }
                let parsed = match bytes[span.start] == b'[' {
                    true => self.usual_header(chunk, &span) || self.line(&span.line(chunk)),
                    false => self.line(&span.line(chunk)),
                };
                if parsed && bytes[span.start] == b'[' {
                    header(self.name_hash, span.start);
                }
                parsed
            },
        )
    }

    /// Reads the header most headers are, `[profile NAME]` with nothing to trim, as
    /// [`Scan::line`] would, hashing the name once; `false` if it is not one.
    #[inline(always)]
    fn usual_header(&mut self, chunk: &str, line: &Span) -> bool {
        let bytes = chunk.as_bytes();
        let name = match line.marked {
            true => None,
            false => (bytes[line.start..line.end].strip_prefix(b"[profile "))
                .and_then(|rest| rest.strip_suffix(b"]")),
        };
        let Some(name) = name.filter(|name| !name.is_empty()) else {
            return false;
        };
        // The name's hash and whether it needs trimming, in one look.
        let (hash, graphic) = name
            .iter()
            .fold((FNV_BASIS, true), |(hash, graphic), &byte| {
                (fnv(hash, byte), graphic & byte.is_ascii_graphic())
            });
        if !graphic {
            return false;
        }
        self.open_section(
            || &chunk[line.start + 1..line.end - 1],
            PROFILE_PREFIX,
            hash,
        );
        true
    }

    /// Starts a section: `inner` is what its header holds, `prefix` the [`hash64`] of its
    /// prefix (`profile`, none …), `name` the [`name_hash`] of its profile name.
    #[inline(always)]
    fn open_section<'a>(&mut self, inner: impl FnOnce() -> &'a str, prefix: u64, name: u64) {
        self.settle();
        self.in_section = true;
        // One buffer for every header (configs hold thousands), filled only when the
        // sections that set `credential_process` are noted.
        if self.values.is_some() {
            self.section.clear();
            self.section.push_str(inner());
        }
        self.property = Property::None;
        self.name_hash = name;
        // Two headers are one section when prefix and name are the same.
        let key = name ^ prefix.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.repeated |= !self.keys.insert(key);
    }

    /// Makes room for `sections` sections in all, so that the set of their keys grows
    /// at most once more.
    pub(super) fn expect(&mut self, sections: usize) {
        self.keys.reserve(sections.saturating_sub(self.keys.len()));
    }

    /// Whether every line read so far parses, and no section was written twice (the
    /// full loader then says where).
    pub(super) fn parses(&self) -> bool {
        !self.broken && !self.repeated
    }

    /// Reads the line most lines are, `key = value` in a section, with no comment,
    /// as [`Scan::line`] would, from the bytes of the text around it; `false` if it is
    /// not one. Where `credential_process` values are noted, lines that may set it are
    /// left to [`Scan::line`]; elsewhere it is a property like any other.
    #[inline(always)]
    fn plain(&mut self, bytes: &[u8], line: &Span) -> bool {
        let (Some(equals), false, true) = (line.equals, line.marked, self.in_section) else {
            return false;
        };
        let first = bytes[line.start];
        if matches!(first, b' ' | b'\t' | b'[' | b'=')
            || (self.values.is_some() && matches!(first, b'c' | b'C'))
        {
            return false;
        }
        self.property = Property::Some {
            credential_process: false,
            subproperty: bytes[equals + 1..line.end]
                .iter()
                .all(|b| matches!(b, b' ' | b'\t')),
        };
        true
    }

    /// Reads the usual line that starts with a blank, a sub-property (`  key = value`)
    /// or the rest of a value that is not `credential_process`, as [`Scan::line`] would;
    /// `false` if it is not one.
    #[inline(always)]
    fn continuation(&self, bytes: &[u8], line: &Span) -> bool {
        if !matches!(bytes[line.start], b' ' | b'\t') {
            return false;
        }
        match (&self.property, line.marked, line.equals) {
            (
                Property::Some {
                    credential_process: false,
                    subproperty: false,
                },
                _,
                _,
            ) => true,
            (
                Property::Some {
                    credential_process: false,
                    subproperty: true,
                },
                false,
                Some(equals),
            ) => bytes[line.start..equals]
                .iter()
                .any(|b| !matches!(b, b' ' | b'\t')),
            _ => false,
        }
    }

    /// Reads one line; `false` once the file cannot parse (the full loader says why).
    #[inline(never)]
    fn line(&mut self, whole: &Line<'_>) -> bool {
        let line = whole.text;
        match line.as_bytes().first() {
            None | Some(b'#' | b';') => return true,
            Some(b' ' | b'\t') if trim(line).is_empty() => return true,
            _ => {}
        }
        if line.starts_with('[') {
            let header = match whole.marked {
                true => strip_comment(line, false),
                false => trim(line),
            };
            match header.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                Some(inner) => {
                    let (prefix, name) = section_key(inner);
                    let prefix = hash64(prefix.unwrap_or("\0").as_bytes());
                    self.open_section(|| inner, prefix, name_hash(name));
                }
                None => self.broken = true,
            }
        } else if line.starts_with(WHITESPACE) {
            match (self.in_section, &self.property) {
                (false, _) | (_, Property::None) => self.broken = true,
                (
                    true,
                    Property::Some {
                        subproperty,
                        credential_process,
                    },
                ) => {
                    let text = trim(line);
                    if *subproperty && !text.is_empty() && whole.property().is_none() {
                        self.broken = true;
                    } else if *credential_process && self.noted {
                        self.value.push('\n');
                        self.value.push_str(text);
                    }
                }
            }
        } else {
            match (self.in_section, whole.property()) {
                (true, Some((key, value))) => {
                    let credential_process = key.eq_ignore_ascii_case("credential_process");
                    if credential_process && self.values.is_some() {
                        // Set twice in one section: the last one counts. (A section
                        // written twice is refused, so a section's lines are together.)
                        self.noted = true;
                        self.value.clear();
                        self.value.push_str(value);
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

    /// Each section that sets `credential_process` (what its brackets hold), and the
    /// value; `None` if the file does not parse, or the scan was not asked to note them.
    pub(super) fn helpers(&mut self) -> Option<Vec<(String, String)>> {
        self.settle();
        self.values.take().filter(|_| self.parses())
    }

    /// At the end of a section: keeps the `credential_process` value it sets, unless
    /// only those that run aws-mfa-proc are kept and it runs another program.
    fn settle(&mut self) {
        if std::mem::take(&mut self.noted)
            && let Some(values) = &mut self.values
            && (!self.ours_only || runs_us(&self.value))
        {
            values.push((self.section.clone(), self.value.clone()));
        }
    }
}

/// The two parts of what a section header holds, as the SDK splits it: the prefix
/// (`profile`, `sso-session`, none) and the name, after the first blank, trimmed.
pub(super) fn section_key(inner: &str) -> (Option<&str>, &str) {
    let inner = trim(inner);
    match inner.split_once(WHITESPACE) {
        Some((prefix, name)) => (Some(prefix.trim()), name.trim()),
        None => (None, inner.trim()),
    }
}

/// The profile a section header (what its brackets hold) names for the SDK, in a file of
/// `kind`; `None` if the SDK skips it.
pub(super) fn sdk_profile(kind: FileKind, inner: &str) -> Option<&str> {
    match (kind, section_key(inner)) {
        (FileKind::Config, (Some("profile"), name)) | (FileKind::Credentials, (None, name)) => {
            is_identifier(name).then_some(name)
        }
        (FileKind::Config, (None, "default")) => Some("default"),
        _ => None,
    }
}

/// Where the first section written twice in `text` is: what its header holds, and the
/// lines (from 1) of both headers. Two headers are one section when the SDK reads them
/// as one: the same prefix and name, whatever the blanks (`[profile x]`, `[profile  x]`).
/// For a text the SDK parses, where every line that starts with `[` is a header.
pub(super) fn repeated_section(text: &str) -> Option<(String, usize, usize)> {
    let mut seen: HashMap<(Option<&str>, &str), usize> = HashMap::new();
    for (at, line) in text.lines().enumerate() {
        let Some(inner) = line
            .starts_with('[')
            .then(|| strip_comment(line, false))
            .and_then(|h| h.strip_prefix('[')?.strip_suffix(']'))
        else {
            continue;
        };
        if let Some(first) = seen.insert(section_key(inner), at + 1) {
            return Some((trim(inner).to_string(), first, at + 1));
        }
    }
    None
}

/// A hash of a profile name: [`Scan`] hands it out with each header, and
/// [`super::fast`]'s index tells sections apart with it.
pub(super) fn name_hash(name: &str) -> u64 {
    hash64(name.as_bytes())
}

/// The [`hash64`] of the usual prefix, `profile`.
const PROFILE_PREFIX: u64 = hash64(b"profile");

/// FNV-1a, 64 bits.
const fn hash64(bytes: &[u8]) -> u64 {
    let (mut hash, mut at) = (FNV_BASIS, 0);
    while at < bytes.len() {
        hash = fnv(hash, bytes[at]);
        at += 1;
    }
    hash
}

const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// One byte more of an FNV-1a hash.
#[inline(always)]
const fn fnv(hash: u64, byte: u8) -> u64 {
    (hash ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3)
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash64(bytes);
    }
    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

/// `line` as `key = value`, split at the `=` at `at`; `None` if the key is empty.
fn split_property(line: &str, at: usize) -> Option<(&str, &str)> {
    let key = trim(&line[..at]);
    (!key.is_empty()).then_some((key, trim(&line[at + 1..])))
}

/// `line` trimmed, cut at a `#` or `;` (one after a blank, if `after_blank`).
fn strip_comment(line: &str, after_blank: bool) -> &str {
    let line = trim(line);
    if memchr::memchr2(b'#', b';', line.as_bytes()).is_none() {
        return line;
    }
    let mut previous_blank = false;
    for (at, c) in line.char_indices() {
        if (c == '#' || c == ';') && (previous_blank || !after_blank) {
            return trim(&line[..at]);
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
