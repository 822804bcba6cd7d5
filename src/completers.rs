//! The completers the command line attaches to its profile arguments: the profile names
//! of `~/.aws/config` (PROFILE, `--profile`) and of `~/.aws/credentials`
//! (`--source-profile`, `--from-profile`). They run only in `aws-mfa-proc-full`,
//! answering a shell's completion request ([`crate::complete`]).
//!
//! Invariant: they read section headers only (see `config::names`): never a value,
//! never a keychain, the network or a prompt.

use std::ffi::OsStr;

use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use crate::config::{FileKind, profile_names};
use crate::system::ProcessEnv;

/// Completes PROFILE and `--profile`: the profiles of the config file.
pub(crate) fn profiles() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| candidates(FileKind::Config, current))
}

/// Completes `--source-profile` and `--from-profile`: the profiles of the credentials
/// file, which hold static keys.
pub(crate) fn credentials_profiles() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| candidates(FileKind::Credentials, current))
}

fn candidates(kind: FileKind, current: &OsStr) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    profile_names(&ProcessEnv, kind)
        .into_iter()
        .filter(|name| name.starts_with(current.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}
