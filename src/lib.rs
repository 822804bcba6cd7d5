//! aws-mfa-proc: a credential_process that caches MFA sessions in the OS keychain.
//!
//! Two binaries: `aws-mfa-proc`, the small front door the SDKs run (cache hits only), is
//! the crate `aws-mfa-proc-front` (crates/front), whose modules this crate builds on;
//! `aws-mfa-proc-full` ([`full`]), this crate, does the rest.
//! A call walks one way: command line ([`cli`], [`app`]) → selection and config
//! ([`commands`], [`config`]) → cache ([`cache`], [`kernel`], [`store`]) → lock
//! ([`lock`]) → code ([`prompt`], [`codes`]) → STS ([`aws`]) → store → output
//! ([`output`]). Side effects sit behind small traits with in-memory twins: the
//! environment and clock ([`system`]), the terminal ([`prompt`]), the keychain
//! ([`store`]), the kernel keyring ([`kernel`]), AWS ([`aws`]). docs/how-it-works.md
//! has the map.

// One module may call Windows (prompt/credui.rs, `allow`ed there): nothing else.
#![deny(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

mod app;
mod aws;
mod browser;
mod cache;
mod cancel;
mod cli;
mod cli_cache;
mod codes;
mod commands;
mod complete;
mod completers;
#[doc(hidden)]
pub mod fuzzing;
mod kernel;
mod lock;
mod log;
mod loopback;
mod output;
mod prompt;
mod runtime;
mod server;
mod session;
mod signin;
mod store;

// The front door's modules, at the same paths as the main crate's own.
#[cfg(unix)]
use aws_mfa_proc_front::regular;
use aws_mfa_proc_front::{config, credentials, error, harden, secret, system};

pub use app::main as full;
