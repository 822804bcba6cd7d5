//! aws-mfa-proc: a credential_process that caches MFA sessions in the OS keychain.
//!
//! Two binaries share this library: `aws-mfa-proc`, the small [`front_door`] the SDKs
//! run (cache hits only), and `aws-mfa-proc-full` ([`full`]), which does the rest.
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
mod config;
mod credentials;
mod error;
mod front;
#[doc(hidden)]
pub mod fuzzing;
mod harden;
mod kernel;
mod lock;
mod log;
mod loopback;
mod output;
mod prompt;
mod regular;
mod runtime;
mod secret;
mod server;
mod session;
mod signin;
mod store;
mod system;

/// Every block of heap memory is zeroed when it is freed, so the copies of a secret that
/// buffers, `String`s, `Command`'s environment and the SDK's request and response bodies
/// make along the way do not linger after they are dropped (`Zeroizing` and `Secret`
/// cover the values we own).
#[global_allocator]
static ALLOCATOR: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

pub use app::main as full;
pub use front::main as front_door;
