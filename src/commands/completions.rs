//! `completions SHELL`: shell completions, generated from the clap definitions.
//!
//! Invariant: generated in memory, then written once: a reader that goes away early
//! (`| head`) ends nothing but the write.

use clap::CommandFactory;

use super::Ctx;
use super::Error;
use crate::cli::Cli;

pub(crate) fn run(ctx: &mut Ctx<'_>, shell: &clap_complete::Shell) -> Result<u8, Error> {
    let mut script = Vec::new();
    clap_complete::generate(*shell, &mut Cli::command(), "aws-mfa-proc", &mut script);
    let _ = ctx.out.write_all(&script);
    Ok(0)
}
