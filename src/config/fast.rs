//! The cached-path loader: what a profile asks for, from only the sections it needs.
//!
//! The AWS CLI runs the helper on every command, and configs of large organisations hold
//! thousands of profiles. So the files are streamed through one small window, only the
//! sections whose header names a wanted profile are kept, and only those are handed to
//! the SDK's parser.
//!
//! Invariants:
//! - the answer is the full loader's answer, or `None`: any doubt (an error, a chain
//!   too deep, a file that cannot be read) goes to the full loader, which then reports
//!   it with every profile in view (a property test holds the two against each other);
//! - headers are lines that start with `[`, as in the SDK's parser.

use std::path::Path;

use super::files::open_regular;
use super::{Config, MFA_PROFILE_KEY, Paths, Target, flag_value};
use crate::system::Environment;

/// What `profile` asks for, parsing only the sections it needs: its own, its MFA
/// profile's and its source profile's.
pub(crate) fn target(
    env: &dyn Environment,
    profile: &str,
    source_profile: Option<&str>,
) -> Option<Target> {
    let paths = Paths::locate(env);
    let mut names: Vec<String> = [Some(profile), source_profile]
        .into_iter()
        .flatten()
        .map(str::to_string)
        .collect();
    // Each round adds what the sections read so far refer to: role → MFA profile
    // → source profile. Three rounds cover every chain this tool supports.
    for _ in 0..3 {
        let config = Config::parse(
            paths.clone(),
            read_sections(&paths.config, &names)?,
            &read_sections(&paths.credentials, &names)?,
        )
        .ok()?;
        let referred: Vec<String> = names
            .iter()
            .filter_map(|n| config.profiles.get_profile(n))
            .flat_map(|p| {
                [
                    p.get(MFA_PROFILE_KEY).map(str::to_string),
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

/// The sections of the file at `path` whose header ends in one of `names`
/// (`[profile NAME]`, `[NAME]`), whole and in order; a missing file has none. Headers are
/// lines that start with `[`, as in the SDK's parser. The file is streamed through one
/// small buffer: a config of thousands of profiles is never held, or paged in, whole.
/// `None` if it cannot be read or what is kept is not UTF-8 (the full path then says why).
pub(crate) fn read_sections(path: &Path, names: &[String]) -> Option<String> {
    use std::io::Read;
    let Some(mut file) = open_regular(path).ok()? else {
        return Some(String::new());
    };
    let next_header = memchr::memmem::Finder::new(b"\n[");
    // window[..filled] is read but not yet judged: at most a header line that the end
    // of the previous read cut short, then what this read brought.
    let mut window = vec![0u8; 64 * 1024];
    let mut filled = 0;
    let mut kept = Vec::new();
    let mut keep = false;
    let mut at_line_start = true;
    loop {
        if filled == window.len() {
            window.resize(2 * window.len(), 0); // a header line longer than the window
        }
        let n = file.read(&mut window[filled..]).ok()?;
        let eof = n == 0;
        filled += n;
        let data = &window[..filled];
        let mut pos = 0;
        while pos < data.len() {
            let starts_line = if pos == 0 {
                at_line_start
            } else {
                data[pos - 1] == b'\n'
            };
            let header = if starts_line && data[pos] == b'[' {
                Some(pos)
            } else {
                next_header.find(&data[pos..]).map(|at| pos + at + 1)
            };
            let Some(header) = header else {
                if keep {
                    kept.extend_from_slice(&data[pos..]);
                }
                pos = data.len();
                break;
            };
            if keep {
                kept.extend_from_slice(&data[pos..header]);
            }
            let line_end = match memchr::memchr(b'\n', &data[header..]) {
                Some(at) => header + at + 1,
                None if !eof => {
                    pos = header; // cut short: judge it once the rest is read
                    break;
                }
                None => data.len(),
            };
            keep = header_names(&data[header..line_end], names);
            if keep {
                kept.extend_from_slice(&data[header..line_end]);
            }
            pos = line_end;
        }
        if pos > 0 {
            at_line_start = data[pos - 1] == b'\n';
        }
        window.copy_within(pos..filled, 0);
        filled -= pos;
        if eof {
            break;
        }
    }
    String::from_utf8(kept).ok()
}

/// Does this header line (`[profile NAME]`, `[NAME]`, `[ profile NAME ] # …`) name one
/// of `names`?
fn header_names(line: &[u8], names: &[String]) -> bool {
    let inner = &line[1..];
    let header =
        inner[..memchr::memchr2(b']', b'\n', inner).unwrap_or(inner.len())].trim_ascii_end();
    let word_start = header
        .iter()
        .rposition(u8::is_ascii_whitespace)
        .map_or(0, |at| at + 1);
    let last = &header[word_start..];
    names.iter().any(|n| n.as_bytes() == last)
}
