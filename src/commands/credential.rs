//! Credential mode (no command word): print the selected profile's credentials as the
//! credential_process document, asking for a code if the cache has none fresh.
//!
//! Invariant: live secrets are never printed to a terminal by accident: a bare call
//! whose stdout is a terminal (a person typing `aws-mfa-proc`) asks for `--profile`.

use super::Ctx;
use super::Error;
use crate::output;
use crate::session::Mode;

pub(crate) fn run(ctx: &mut Ctx<'_>, _: &()) -> Result<u8, Error> {
    if ctx.out_is_terminal && ctx.profile.is_none() {
        return Err(Error::Input(
            "this prints live credentials, and stdout is a terminal. `aws-mfa-proc status` shows what is cached; `aws-mfa-proc --profile NAME` prints the credentials anyway; SDKs run it with stdout captured".into(),
        ));
    }
    let target = ctx.target()?;
    let served = ctx.credentials(&target, Mode::Cached)?;
    output::credential_process(ctx.out, &served.credentials).map_err(Error::Output)?;
    Ok(0)
}
