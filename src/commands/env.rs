//! `env`: the credentials as environment variables, e.g. for direnv.

use super::Ctx;
use super::Error;
use crate::cli::EnvArgs;
use crate::output;
use crate::session::{self, Mode};

pub(crate) fn run(ctx: &mut Ctx<'_>, args: &EnvArgs) -> Result<u8, Error> {
    let target = ctx.target()?;
    let served = ctx.credentials(&target, Mode::Cached)?;
    // Under direnv (its stdlib sets DIRENV_IN_ENVRC while an .envrc runs), watch the
    // file that every refresh touches, so the environment reloads with the session.
    let watch = match ctx.env.var("DIRENV_IN_ENVRC") {
        Some(_) => Some(
            ctx.runtime
                .dir()
                .map_err(|e| Error::Runtime(target.profile().into(), e))?
                .file_path(&session::stamp_name(&target)),
        ),
        None => None,
    };
    output::environment(
        ctx.out,
        args.format,
        &served.credentials,
        target.profile_region(),
        watch.as_deref(),
    )
    .map_err(Error::Output)?;
    Ok(0)
}
