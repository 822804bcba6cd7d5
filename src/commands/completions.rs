//! `completions SHELL`: shell completions, generated from the clap definitions.

use clap::CommandFactory;

use super::Ctx;
use crate::cli::Cli;
use crate::error::Error;

pub(crate) fn run(ctx: &mut Ctx<'_>, shell: &clap_complete::Shell) -> Result<u8, Error> {
    clap_complete::generate(*shell, &mut Cli::command(), "aws-mfa-proc", ctx.out);
    Ok(0)
}
