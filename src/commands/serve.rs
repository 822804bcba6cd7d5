//! Credential mode (no command word): print the selected profile's credentials as the
//! credential_process document, asking for a code if the cache has none fresh.

use super::Ctx;
use crate::error::Error;
use crate::output;
use crate::session::Mode;

pub(crate) fn run(ctx: &mut Ctx<'_>, _: &()) -> Result<u8, Error> {
    let target = ctx.target()?;
    let served = ctx.credentials(&target, Mode::Cached)?;
    output::credential_process(ctx.out, &served.credentials).map_err(Error::Output)?;
    Ok(0)
}
