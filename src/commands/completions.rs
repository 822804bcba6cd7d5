//! `completions SHELL`: the script that makes a shell complete `aws-mfa-proc` (see
//! [`crate::complete`]).
//!
//! Invariant: written once, from memory: a reader that goes away early (`| head`) ends
//! nothing but the write.

use super::Ctx;
use super::Error;

pub(crate) fn run(ctx: &mut Ctx<'_>, shell: &clap_complete::Shell) -> Result<u8, Error> {
    let _ = ctx.out.write_all(&crate::complete::script(*shell));
    Ok(0)
}
