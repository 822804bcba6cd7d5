//! `logout`: forget the profile's MFA session and every role assumed with it (the
//! profile's own, and those of the other role profiles on the same MFA profile), and
//! the AWS CLI's own cached copies of those roles (`~/.aws/cli/cache`). For a sign-in
//! profile, also the sign-in itself (refresh token and key): the next call signs in.

use super::Ctx;
use super::Error;
use crate::cli::KeySelection;
use crate::config::Target;
use crate::output;

pub(crate) fn run(ctx: &mut Ctx<'_>, _: &KeySelection) -> Result<u8, Error> {
    let target = ctx.target()?;
    let mfa = &target.mfa().profile;
    let mut targets = vec![target.clone()];
    let mut role_arns: Vec<String> = Vec::new();
    if let Ok(config) = ctx.config() {
        role_arns.extend(
            config
                .roles_from(mfa)
                .into_iter()
                .filter_map(|name| config.value(name, "role_arn").map(str::to_owned)),
        );
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
    let settings = target.mfa();
    let forgotten = ctx
        .cache
        .forget_session(&settings.keys, &settings.mfa_serial, &targets)
        .map_err(|e| Error::Keychain(target.profile().to_string(), e))?;
    let signed_out = match &settings.keys {
        crate::config::KeySource::SignIn { profile, .. } => ctx
            .cache
            .forget_sign_in(profile)
            .map_err(|e| Error::Keychain(target.profile().to_string(), e))?,
        _ => false,
    };
    let arns: Vec<&str> = role_arns.iter().map(String::as_str).collect();
    let cli_copies =
        crate::cli_cache::dir(ctx.env).map_or(0, |dir| crate::cli_cache::forget_roles(&dir, &arns));
    let mut said = if signed_out {
        format!(
            "Signed `{mfa}` out of AWS Sign-In and forgot its credentials and the roles assumed with them"
        )
    } else if forgotten > 0 {
        format!("Forgot the MFA session of `{mfa}` and the roles assumed with it")
    } else {
        format!("There was no cached session for `{}`", target.profile())
    };
    if cli_copies > 0 {
        said.push_str(&format!(
            "; removed the AWS CLI's cached credentials of {cli_copies} role(s) from ~/.aws/cli/cache"
        ));
    }
    output::report(ctx.out, &said);
    Ok(0)
}
