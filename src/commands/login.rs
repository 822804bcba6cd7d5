//! `login`: ask for a code now and cache a fresh session (e.g. before starting an IDE
//! that has no terminal); for a sign-in profile, sign in to AWS now, in the browser or,
//! with `--remote`, on another device.

use super::Ctx;
use super::Error;
use crate::cli::LoginArgs;
use crate::credentials::iso8601;
use crate::session::Mode;

pub(crate) fn run(ctx: &mut Ctx<'_>, args: &LoginArgs) -> Result<u8, Error> {
    let target = ctx.target()?;
    if args.remote && !target.mfa().is_sign_in() {
        return Err(Error::Input(format!(
            "`--remote` is for sign-in profiles (`aws_mfa_proc_source = sign-in`); `{}` asks for an MFA code",
            target.profile()
        )));
    }
    ctx.remote = args.remote;
    let served = ctx.credentials(&target, Mode::Refresh)?;
    ctx.terminal.tell(&format!(
        "aws-mfa-proc: credentials of `{}` cached until {}",
        target.profile(),
        iso8601(served.credentials.expiration)
    ));
    Ok(0)
}
