//! `logout`: forget the profile's MFA session and every role assumed with it (the
//! profile's own, and those of the other role profiles on the same MFA profile).

use super::Ctx;
use crate::cache;
use crate::cli::Selection;
use crate::config::Target;
use crate::error::Error;
use crate::output;

pub(crate) fn run(ctx: &mut Ctx<'_>, _: &Selection) -> Result<u8, Error> {
    let target = ctx.target()?;
    let mfa = &target.mfa().profile;
    let mut targets = vec![target.clone(), Target::Session(target.mfa().clone())];
    if let Ok(config) = ctx.config() {
        targets.extend(
            config
                .helper_profiles()
                .into_iter()
                .filter_map(|name| {
                    config
                        .target(ctx.env, name, ctx.source_profile.as_deref())
                        .ok()
                })
                .filter(|t| matches!(t, Target::Role(r) if &r.mfa.profile == mfa)),
        );
    }
    let named: Vec<String> = targets.iter().flat_map(cache::items).collect();
    let settings = target.mfa();
    let forgotten = ctx
        .cache
        .forget_session(&settings.keys, &settings.mfa_serial, &named)
        .map_err(|e| Error::Keychain(target.profile().to_string(), e))?;
    output::report(
        ctx.out,
        &if forgotten > 0 {
            format!("Forgot the MFA session of `{mfa}` and the roles assumed with it")
        } else {
            format!("There was no cached session for `{}`", target.profile())
        },
    );
    Ok(0)
}
