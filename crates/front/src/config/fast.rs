//! The cached-path loader: what a profile asks for, from only the sections it needs.
//!
//! The AWS CLI runs the helper on every command, and configs of large organisations hold
//! thousands of profiles. So each file is streamed once through one small window
//! ([`check`]): every line is checked ([`super::lines`]), and where each section starts
//! is noted. Then only the sections whose header names a wanted profile are read back,
//! by offset, and handed to the SDK's parser.
//!
//! A bare call (no `--profile`) finds the only profile whose `credential_process` runs
//! aws-mfa-proc, counted as every client counts them ([`super::helpers`]), in that same
//! pass ([`only_helper`]).
//!
//! Invariants:
//! - the answer is the full loader's answer, or `None`: any doubt (a line anywhere
//!   that would not parse, a section written twice, a chain too deep, a file that
//!   cannot be read, no single helper profile) goes to the full loader, which then
//!   reports it with every profile in view (property tests and the `config` fuzz target
//!   hold the two against each other);
//! - linear in the files' bytes, whatever they hold (`bench/cached-path.sh` measures
//!   each shape of config at 5,000 and 50,000 profiles);
//! - lines are read as the SDK's parser reads them ([`super::lines`]).

use std::io::{Read, Seek, SeekFrom};

use super::cut::each_chunk;
use super::helpers::Helpers;
use super::lines::{Noting, Scan, header_name, name_hash};

use super::files::{FileKind, open_regular};
use super::{Config, MFA_PROFILE_KEY, Paths, Target, flag_value};
use crate::system::Environment;

/// Where the two files' bytes come from: the files, or memory (for the fuzzer).
pub enum Source<'a> {
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

    fn open(&self, kind: FileKind) -> Option<Opened<'_>> {
        Some(match self {
            Source::Files(paths) => {
                let path = match kind {
                    FileKind::Config => &paths.config,
                    FileKind::Credentials => &paths.credentials,
                };
                match open_regular(path).ok()? {
                    Some((file, length)) => Opened::File(file, length),
                    None => Opened::Missing,
                }
            }
            Source::Memory {
                config,
                credentials,
            } => Opened::Memory(match kind {
                FileKind::Config => config,
                FileKind::Credentials => credentials,
            }),
        })
    }
}

/// One of the two files, open (a file with its length when it was opened).
enum Opened<'a> {
    File(std::fs::File, u64),
    Memory(&'a [u8]),
    Missing,
}

impl Opened<'_> {
    /// Calls `visit` with the file's text, a window of whole lines at a time, and where
    /// in the file each window starts; see [`each_chunk`].
    fn chunks(&mut self, visit: impl FnMut(&str, u64) -> bool) -> Option<()> {
        match self {
            Opened::File(file, _) => each_chunk(file, visit),
            Opened::Memory(bytes) => each_chunk(*bytes, visit),
            Opened::Missing => Some(()),
        }
    }

    /// How long the file is, as far as is known before reading it.
    fn size_hint(&self) -> usize {
        match self {
            Opened::File(_, length) => usize::try_from(*length).unwrap_or(0),
            Opened::Memory(bytes) => bytes.len(),
            Opened::Missing => 0,
        }
    }

    /// The text of `range` of the file; `None` if it cannot be read whole, as UTF-8.
    fn read(&mut self, range: std::ops::Range<u64>) -> Option<String> {
        let length = usize::try_from(range.end.checked_sub(range.start)?).ok()?;
        let mut bytes = vec![0; length];
        match self {
            Opened::File(file, _) => {
                file.seek(SeekFrom::Start(range.start)).ok()?;
                file.read_exact(&mut bytes).ok()?;
            }
            Opened::Memory(all) => {
                let start = usize::try_from(range.start).ok()?;
                bytes.copy_from_slice(all.get(start..start.checked_add(length)?)?);
            }
            Opened::Missing => return None,
        }
        String::from_utf8(bytes).ok()
    }
}

/// What `profile` asks for, parsing only the sections it needs: its own, its MFA
/// profile's and its source profile's.
pub fn target(
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

pub fn target_in(
    source: &Source<'_>,
    env: &dyn Environment,
    profile: &str,
    source_profile: Option<&str>,
) -> Option<Target> {
    let mut files = [
        check(source, FileKind::Config, false)?,
        check(source, FileKind::Credentials, false)?,
    ];
    target_from(source.paths(), &mut files, env, profile, source_profile)
}

/// What `profile` asks for, from the sections of the two files (config, credentials)
/// that it needs.
fn target_from(
    paths: Paths,
    [config, credentials]: &mut [Pass<'_>; 2],
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
        let parsed = Config::parse(
            paths.clone(),
            config.sections(&names)?,
            &credentials.sections(&names)?,
        )
        .ok()?;
        let referred: Vec<String> = names
            .iter()
            .filter_map(|n| parsed.profiles.get_profile(n))
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
            return parsed.target(env, profile, source_profile).ok();
        }
        names.extend(referred);
    }
    None
}

/// The profile a bare call serves, and what it asks for: the only profile whose
/// `credential_process` runs aws-mfa-proc, if there is exactly one.
pub fn only_helper(env: &dyn Environment) -> Option<Target> {
    only_helper_in(&Source::Files(Paths::locate(env)), env)
}

pub fn only_helper_in(source: &Source<'_>, env: &dyn Environment) -> Option<Target> {
    let mut files = [
        check(source, FileKind::Config, true)?,
        check(source, FileKind::Credentials, true)?,
    ];
    let [config, credentials] = &mut files;
    let helpers = Helpers::of(config.scan.helpers()?, credentials.scan.helpers()?);
    let name = helpers.only()?.to_string();
    target_from(source.paths(), &mut files, env, &name, None)
}

/// One file after [`check`]: open, checked, and with the place of every section.
pub(super) struct Pass<'a> {
    file: Opened<'a>,
    scan: Scan,
    index: Index,
    /// The file's length as read.
    length: u64,
}

/// Where each section of a file starts, and a hash of the profile its header names:
/// eight bytes a section, so that thousands of them cost a few pages of memory.
struct Index {
    /// Each section as `hash << 32 | start`.
    sections: Vec<u64>,
    /// A section starts past 4 GiB: the index cannot say where.
    overflowed: bool,
}

impl Index {
    /// Notes the section that starts at `at` in the file, of the profile whose
    /// [`name_hash`] is `name`.
    fn add(&mut self, name: u64, at: u64) {
        match u32::try_from(at) {
            Ok(at) => self
                .sections
                .push(name & !u64::from(u32::MAX) | u64::from(at)),
            Err(_) => self.overflowed = true,
        }
    }
}

/// What [`Index`] keeps of a profile name's [`name_hash`] (its top half): it tells
/// sections apart with it, and checks names on reading.
fn hash(name: &str) -> u32 {
    (name_hash(name) >> 32) as u32
}

impl Pass<'_> {
    /// The sections whose header ends in one of `names` (`[profile NAME]`, `[NAME]`),
    /// whole and in order, read back by offset; a missing file has none. `None` if the
    /// file changed since it was checked.
    pub(super) fn sections(&mut self, names: &[String]) -> Option<String> {
        if self.index.overflowed {
            return None;
        }
        let wanted: Vec<u32> = names.iter().map(|name| hash(name)).collect();
        let sections = &self.index.sections;
        let mut kept = String::new();
        for (i, section) in sections.iter().enumerate() {
            let (hashed, start) = ((section >> 32) as u32, section & u64::from(u32::MAX));
            if !wanted.contains(&hashed) {
                continue;
            }
            let end = sections
                .get(i + 1)
                .map_or(self.length, |next| next & u64::from(u32::MAX));
            let text = self.file.read(start..end)?;
            let header = text.split('\n').next().unwrap_or_default();
            let name = header_name(header.strip_suffix('\r').unwrap_or(header))?;
            if hash(name) != hashed {
                return None; // the file changed under us
            }
            if names.iter().any(|n| n == name) {
                kept.push_str(&text); // not another name with the same hash
            }
        }
        Some(kept)
    }
}

/// Reads one file through once: every line checked as the SDK's parser checks it, the
/// sections that set `credential_process` noted (if `helpers`: for a bare call), and
/// where each section starts. `None` if a line would not parse or a section is written
/// twice (the full loader then says where), or the file cannot be read.
pub(super) fn check<'a>(source: &'a Source<'_>, kind: FileKind, helpers: bool) -> Option<Pass<'a>> {
    let mut file = source.open(kind)?;
    // A bare call counts helpers as `Helpers::of` does: of the config file, only those
    // that run aws-mfa-proc; of the credentials file, every one.
    let noting = match (helpers, kind) {
        (false, _) => Noting::Nothing,
        (true, FileKind::Config) => Noting::Ours,
        (true, FileKind::Credentials) => Noting::Every,
    };
    let mut scan = Scan::new(noting);
    let mut index = Index {
        sections: Vec::new(),
        overflowed: false,
    };
    let size = file.size_hint();
    let mut length = 0;
    file.chunks(|chunk, offset| {
        length = offset + chunk.len() as u64;
        let parsed = scan.chunk(chunk, |name, start| index.add(name, offset + start as u64));
        if offset == 0 {
            // Room for the whole file's sections, if it is as dense in them as its
            // first window (growing, and zeroing what is freed, costs more than this),
            // but for no more than a section every 32 bytes: a dense start must not
            // reserve gigabytes for a large file that is not.
            let expected = (index.sections.len() * (size / chunk.len().max(1))).min(size / 32);
            index
                .sections
                .reserve(expected.saturating_sub(index.sections.len()));
            scan.expect(expected);
        }
        parsed
    })?;
    scan.parses().then_some(Pass {
        file,
        scan,
        index,
        length,
    })
}
