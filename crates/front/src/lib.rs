//! aws-mfa-proc's front door: everything the `aws-mfa-proc` binary runs.
//!
//! The SDKs run `aws-mfa-proc` on every command, so a cache hit must cost little: this
//! crate reads the config ([`config`]), finds a fresh copy of the profile's credentials
//! in the kernel keyring ([`copies`], [`kernel`], [`names`], [`record`]) and prints it
//! ([`output`]); anything else goes to `aws-mfa-proc-full` ([`door`]). The main crate,
//! `aws-mfa-proc`, builds on these modules for everything else.
//!
//! Invariants, by construction:
//! - no keychain store, STS, IAM or Sign-In client, HTTP client, TLS or async runtime
//!   is in this crate's dependency tree (`scripts/check-front-door.sh` holds it, with
//!   `cargo tree`, and checks the release binary's size and symbols);
//! - nothing here writes a kernel key: [`kernel`] is the read side only;
//! - every heap block is zeroed when it is freed, in both binaries (the allocator
//!   below is the process's).

#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod config;
pub mod copies;
pub mod credentials;
pub mod digest;
pub mod door;
pub mod error;
pub mod frame;
pub mod harden;
pub mod kernel;
pub mod names;
pub mod output;
pub mod record;
pub mod regular;
pub mod secret;
pub mod system;

/// Every block of heap memory is zeroed when it is freed, so the copies of a secret that
/// buffers, `String`s, `Command`'s environment and the SDK's request and response bodies
/// make along the way do not linger after they are dropped (`Zeroizing` and `Secret`
/// cover the values we own).
#[global_allocator]
static ALLOCATOR: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

pub use door::main;
