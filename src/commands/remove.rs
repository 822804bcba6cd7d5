//! `remove [PROFILE]`: delete the stored long-term keys, and every session and role
//! made from them (in the keychain and as kernel copies).

use super::Ctx;
use super::Error;
use super::add::forget_sessions_of;
use crate::cli::Selection;
use crate::output;

pub(crate) fn run(ctx: &mut Ctx<'_>, _: &Selection) -> Result<u8, Error> {
    let name = ctx.profile_name()?;
    let keychain_error = |e| Error::Keychain(name.clone(), e);
    let removed = ctx.cache.delete_keys(&name).map_err(keychain_error)?;
    forget_sessions_of(ctx, &name).map_err(keychain_error)?;
    let backend = ctx.cache.backend().map_err(keychain_error)?.name();
    output::report(
        ctx.out,
        &if removed {
            format!(
                "Removed the keys of `{name}`, and the sessions and roles made from them, from the {backend}"
            )
        } else {
            format!("No keys were stored for `{name}` in the {backend}")
        },
    );
    Ok(0)
}
