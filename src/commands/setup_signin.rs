//! `setup --sign-in [--remote]`: from nothing to a working sign-in profile, at a
//! terminal, for someone who has no access keys: AWS Sign-In (the console sign-in)
//! is the credential.
//!
//! The person answers a profile name and a region; nothing else (no keys, no MFA
//! device: the console sign-in has its own). Then the profile is appended to
//! ~/.aws/config and the person signs in, in this machine's browser or, with
//! `--remote`, on another device.
//!
//! Invariants, as for `setup`: nothing is asked before the terminal and the keychain
//! are known to work; an existing profile is never changed, the new one is appended
//! after a backup; the `credential_process` line names the front door by its absolute
//! path.

use super::Ctx;
use super::Error;
use super::setup::{ask, ask_name, front_door, tell};
use crate::config::{SIGN_IN, SOURCE_KEY, edit, is_region};
use crate::credentials::iso8601;
use crate::output;

pub(crate) fn run(ctx: &mut Ctx<'_>, remote: bool) -> Result<u8, Error> {
    let (paths, existing) = super::setup::before_asking(
        ctx,
        "write the sign-in profile yourself (docs/configuration.md) and run `aws-mfa-proc login NAME --remote`",
    )?;
    tell(
        ctx,
        &format!(
            "aws-mfa-proc setup --sign-in: a profile whose credentials come from signing in to the AWS console{}. Its sign-in will be kept in the {}.",
            if remote {
                " on another device"
            } else {
                " in the browser"
            },
            ctx.cache.describe()
        ),
    );
    let name = ask_name(ctx, &existing, &paths, "signin")?;
    let default_region = ctx
        .env
        .var("AWS_REGION")
        .or_else(|| ctx.env.var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    let region = loop {
        let answer = ask(ctx, &format!("Region [{default_region}]: "))?;
        let region = if answer.is_empty() {
            default_region.clone()
        } else {
            answer
        };
        if is_region(&region) {
            break region;
        }
        tell(ctx, "A region name looks like eu-west-1.");
    };

    let section = section(&name, &front_door()?, &region);
    let config_text = std::fs::read_to_string(&paths.config).unwrap_or_default();
    let stamp = ctx.clock.now().format("%Y%m%dT%H%M%S").to_string();
    let written = edit::write(&paths.config, &edit::append(&config_text, &section), &stamp)
        .map_err(|e| Error::Input(format!("cannot write {}: {e}", paths.config.display())))?;
    let mut report = vec![format!(
        "Added [profile {name}] to {}{}",
        written.place(&paths.config),
        written
            .backup
            .map(|b| format!(" (the old file is in {})", b.display()))
            .unwrap_or_default()
    )];

    // The sign-in itself is `login NAME [--remote]`.
    ctx.remote = remote;
    let served = super::setup::first_login(
        ctx,
        &name,
        &format!(
            "[profile {name}] is in {}, but the sign-in did not finish",
            paths.config.display()
        ),
        "Sign in",
        &format!(
            "aws-mfa-proc login {name}{}",
            if remote { " --remote" } else { "" }
        ),
    )?;
    report.push(format!(
        "Signed in: credentials of `{name}` until {}, refreshed with no prompt until the sign-in ends (at most 12 h), then `aws-mfa-proc login {name}`",
        iso8601(served.credentials.expiration)
    ));
    report.push(format!(
        "Next: roles chain from it with `role_arn = …` and `source_profile = {name}` in a profile of their own (see `aws-mfa-proc --help`)"
    ));
    for line in report {
        output::report(ctx.out, &line);
    }
    Ok(0)
}

/// The profile `setup --sign-in` appends: `front` (one shell word) serves `name`'s
/// sign-in in `region`.
pub(crate) fn section(name: &str, front: &str, region: &str) -> String {
    format!(
        "[profile {name}]\ncredential_process = {front} --profile {name}\n{SOURCE_KEY} = {SIGN_IN}\nregion = {region}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_appended_profile_is_a_sign_in_profile_of_the_config_model() {
        let text = section("signin", "/usr/bin/aws-mfa-proc", "eu-west-1");
        assert_eq!(
            text,
            "[profile signin]\ncredential_process = /usr/bin/aws-mfa-proc --profile signin\naws_mfa_proc_source = sign-in\nregion = eu-west-1\n"
        );
    }
}
