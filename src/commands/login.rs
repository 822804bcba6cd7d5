//! `login`: ask for a code now and cache a fresh session (e.g. before starting an IDE
//! that has no terminal).

use super::Ctx;
use super::Error;
use crate::cli::KeySelection;
use crate::credentials::iso8601;
use crate::session::Mode;

pub(crate) fn run(ctx: &mut Ctx<'_>, _: &KeySelection) -> Result<u8, Error> {
    let target = ctx.target()?;
    let served = ctx.credentials(&target, Mode::Refresh)?;
    ctx.terminal.tell(&format!(
        "aws-mfa-proc: credentials of `{}` cached until {}",
        target.profile(),
        iso8601(served.credentials.expiration)
    ));
    Ok(0)
}
