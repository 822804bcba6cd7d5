//! `setup`: from nothing to a working profile, at a terminal.
//!
//! The person answers: a profile name, the long-term keys, a region; the MFA device is
//! picked from the IAM user's own devices (ListMFADevices), so no ARN is copied by
//! hand. Then the keys go to the keychain, the profile is appended to ~/.aws/config,
//! and one login proves it all works.
//!
//! Invariants:
//! - nothing is asked before the terminal and the keychain are known to work;
//! - an existing profile is never overwritten, and no other section of the config is
//!   touched: the new one is appended, after a backup;
//! - the `credential_process` line names the front door by its absolute path, which
//!   IDEs and cron find without the shell's PATH;
//! - what AWS answers (the caller's ARN, the MFA serial numbers) was checked in
//!   `aws::answers` before it gets here; a serial typed in passes the `mfa_serial`
//!   check; so the appended section is exactly the four lines it shows.

use super::Ctx;
use super::Error;
use crate::aws::{AwsError, Place, Signer};
use crate::config::{Config, Paths, edit, env_endpoint, is_region};
use crate::credentials::LongTermKeys;
use crate::output;
use crate::prompt::PromptError;
use crate::secret::Secret;
use crate::session::Mode;

pub(crate) fn run(ctx: &mut Ctx<'_>, _: &()) -> Result<u8, Error> {
    let (paths, existing) = before_asking(
        ctx,
        "use `aws-mfa-proc add NAME --from-env` and write the profile yourself (docs/configuration.md)",
    )?;
    tell(
        ctx,
        "aws-mfa-proc setup: a profile that serves MFA sessions to the AWS CLI and SDKs.",
    );
    where_the_keys_go(ctx)?;

    let name = ask_name(ctx, &existing, &paths, "mfa")?;
    let keys = loop {
        let id = ask(ctx, "Access key ID of your IAM user (AKIA…): ")?;
        if !crate::credentials::is_access_key_id(id.trim()) {
            tell(
                ctx,
                "An access key ID is 16 or more capital letters and digits, like AKIAIOSFODNN7EXAMPLE. Try again.",
            );
            continue;
        }
        let secret = ctx
            .terminal
            .read_secret("Secret access key (hidden): ")
            .map_err(asked)?;
        let keys = LongTermKeys {
            access_key_id: id.trim().to_string(),
            secret_access_key: Secret::new(secret.expose().trim().to_string()),
            rotated_from: None,
        };
        match super::add::check(&keys) {
            Ok(()) => break keys,
            Err(e) => tell(ctx, &format!("{e}. Try again.")),
        }
    };
    let default_region = ctx
        .env
        .var("AWS_REGION")
        .or_else(|| ctx.env.var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    // The keys are checked in the region given; a region that cannot be reached is
    // asked again, keys that AWS refuses end setup.
    let (region, sts, caller) = loop {
        let answer = ask(ctx, &format!("Region [{default_region}]: "))?;
        let region = if answer.is_empty() {
            default_region.clone()
        } else {
            answer
        };
        if !is_region(&region) {
            tell(ctx, "A region name looks like eu-west-1.");
            continue;
        }
        let sts = Place {
            region: region.clone(),
            endpoint: env_endpoint(ctx.env, "STS"),
        };
        match ctx.aws.caller(&sts, Signer::Keys(&keys)) {
            Ok(caller) => break (region, sts, caller),
            Err(
                e @ (AwsError::InvalidKeys(_)
                | AwsError::Refused { .. }
                | AwsError::Malformed { .. }),
            ) => {
                return Err(Error::Input(format!(
                    "AWS refused those keys: {e}; nothing was changed"
                )));
            }
            Err(e) => tell(
                ctx,
                &format!(
                    "Cannot check the keys with STS in {region}: {e}. Check the region name and the network."
                ),
            ),
        }
    };
    let iam = Place {
        region: region.clone(),
        endpoint: env_endpoint(ctx.env, "IAM"),
    };
    tell(ctx, &format!("The keys belong to {caller}."));
    let serial = pick_device(ctx, &iam, &keys, user_name(&caller))?;

    ctx.cache
        .store_keys(&name, &keys)
        .map_err(|e| Error::Keychain(name.clone(), e))?;
    let section = section(&name, &front_door()?, &serial, &region);
    let config_text = std::fs::read_to_string(&paths.config).unwrap_or_default();
    let stamp = ctx.clock.now().format("%Y%m%dT%H%M%S").to_string();
    let written = edit::write(&paths.config, &edit::append(&config_text, &section), &stamp)
        .map_err(|e| Error::Input(format!("cannot write {}: {e}", paths.config.display())))?;
    let mut report = vec![format!(
        "Stored the keys of `{name}` in the {} and added [profile {name}] to {}{}",
        ctx.cache.describe(),
        written.place(&paths.config),
        written
            .backup
            .map(|b| format!(" (the old file is in {})", b.display()))
            .unwrap_or_default()
    )];

    // One login proves it all: the profile parses, the code works, the session serves.
    let served = first_login(
        ctx,
        &name,
        &format!(
            "the keys are stored and [profile {name}] is in {}, but the first login did not finish",
            paths.config.display()
        ),
        "Log in",
        &format!("aws-mfa-proc login {name}"),
    )?;
    let identity = ctx
        .aws
        .caller(&sts, Signer::Session(&served.credentials))
        .map_err(|e| Error::Input(format!("the new session does not work: {e}")))?;
    report.push(format!(
        "Logged in: {identity}, MFA session valid until {}",
        crate::credentials::iso8601(served.credentials.expiration)
    ));
    report.push(format!(
        "Next: roles chain from it with `role_arn = …` and `source_profile = {name}` in a profile of their own (see `aws-mfa-proc --help`)"
    ));
    for line in report {
        output::report(ctx.out, &line);
    }
    Ok(0)
}

/// A profile name no profile has yet, asked until one is given; `base` is suggested
/// (then `base-2`, …).
pub(super) fn ask_name(
    ctx: &mut Ctx<'_>,
    existing: &Config,
    paths: &Paths,
    base: &str,
) -> Result<String, Error> {
    let taken = existing.profile_names();
    let suggested = std::iter::once(base.to_string())
        .chain((2..).map(|n| format!("{base}-{n}")))
        .find(|n| !taken.contains(&n.as_str()))
        .unwrap_or_default();
    loop {
        let answer = ask(ctx, &format!("Profile name [{suggested}]: "))?;
        let name = if answer.is_empty() {
            suggested.clone()
        } else {
            answer
        };
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.@+".contains(c))
        {
            tell(ctx, "Use letters, digits and _ - . @ + only.");
        } else if existing.profile_names().contains(&name.as_str()) {
            let hint = if existing.value(&name, crate::config::SOURCE_KEY).is_some() {
                format!(" (it signs in already: `aws-mfa-proc login {name}`)")
            } else if existing.value(&name, "login_session").is_some() {
                format!(
                    " (`aws login` made it: `aws-mfa-proc import --from-login-session {name}` moves its sign-in into the keychain)"
                )
            } else if existing.helper_profiles().contains(&name.as_str()) {
                format!(
                    " (it runs aws-mfa-proc already: `aws-mfa-proc add {name}` stores its keys)"
                )
            } else if existing.value(&name, "role_arn").is_some() {
                " (it is a role profile: its credentials come from its source_profile, and it needs no keys)".to_string()
            } else {
                String::new()
            };
            tell(
                ctx,
                &format!(
                    "Profile `{name}` already exists in {}; setup never changes an existing profile. Choose another name{hint}.",
                    paths.config.display()
                ),
            );
        } else {
            return Ok(name);
        }
    }
}

/// The MFA device: the user's only one, one picked from a list, or one typed in.
fn pick_device(
    ctx: &mut Ctx<'_>,
    iam: &Place,
    keys: &LongTermKeys,
    user: Option<&str>,
) -> Result<String, Error> {
    let devices = match user {
        Some(user) => match ctx.aws.mfa_devices(iam, keys, user) {
            Ok(devices) => devices,
            Err(e) => {
                tell(ctx, &format!("Cannot list your MFA devices ({e})."));
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    match devices.as_slice() {
        [one] => {
            tell(ctx, &format!("MFA device: {one}"));
            return Ok(one.clone());
        }
        [] => tell(
            ctx,
            "No MFA device found to pick from: enable one in the IAM console (Security credentials → MFA), or type its ARN.",
        ),
        many => {
            for (i, device) in many.iter().enumerate() {
                tell(ctx, &format!("  {}. {device}", i + 1));
            }
            loop {
                let answer = ask(ctx, &format!("MFA device [1-{}]: ", many.len()))?;
                if let Some(device) = answer
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| many.get(n.wrapping_sub(1)))
                {
                    return Ok(device.clone());
                }
                tell(ctx, &format!("Type a number from 1 to {}.", many.len()));
            }
        }
    }
    loop {
        let serial = ask(ctx, "MFA device ARN (arn:aws:iam::ACCOUNT:mfa/NAME): ")?;
        if serial.starts_with("arn:") && crate::config::check_mfa_serial(&serial).is_ok() {
            return Ok(serial);
        }
        tell(
            ctx,
            "An MFA device ARN looks like arn:aws:iam::111111111111:mfa/alice.",
        );
    }
}

/// `alice` of `arn:aws:iam::111111111111:user/team/alice`; `None` for the root user.
pub(super) fn user_name(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    resource
        .strip_prefix("user/")
        .map(|path| path.rsplit('/').next().unwrap_or(path))
}

/// The profile setup appends: `front` (one shell word) serves `name` with `serial` in
/// `region`.
pub(crate) fn section(name: &str, front: &str, serial: &str, region: &str) -> String {
    format!(
        "[profile {name}]\ncredential_process = {front} --profile {name}\nmfa_serial = {serial}\nregion = {region}\n"
    )
}

/// The absolute path of the front door (`aws-mfa-proc`, beside this program), as one
/// word for a `credential_process` line: IDEs and cron find it without the shell's PATH.
pub(super) fn front_door() -> Result<String, Error> {
    let front = std::env::current_exe()
        .map(|exe| exe.with_file_name(format!("aws-mfa-proc{}", std::env::consts::EXE_SUFFIX)))
        .map_err(|e| Error::Input(format!("cannot tell where aws-mfa-proc is installed: {e}")))?;
    Ok(crate::config::quote(&front.to_string_lossy()))
}

/// What every setup checks before its first question: a terminal to ask on (else the
/// error names `otherwise`), a keychain that can store, and a config that parses.
pub(super) fn before_asking(ctx: &mut Ctx<'_>, otherwise: &str) -> Result<(Paths, Config), Error> {
    ctx.terminal.present().map_err(|e| {
        Error::Input(format!(
            "setup asks questions at a terminal: {e}; run it in a terminal, or {otherwise}"
        ))
    })?;
    ctx.cache.check().map_err(Error::Store)?;
    let existing = Config::load(ctx.env).map_err(|source| Error::Config {
        profile: None,
        source,
    })?;
    Ok((Paths::locate(ctx.env), existing))
}

/// The first login of the profile `name` a setup has just written: its credentials, or
/// an error that says what was `saved` and how to `verb` in `again`.
pub(super) fn first_login(
    ctx: &mut Ctx<'_>,
    name: &str,
    saved: &str,
    verb: &str,
    again: &str,
) -> Result<crate::session::Served, Error> {
    ctx.profile = Some(name.to_string());
    let target = Config::load(ctx.env)
        .and_then(|c| c.target(ctx.env, name, None))
        .map_err(|source| Error::Config {
            profile: Some(name.to_string()),
            source,
        })?;
    ctx.credentials(&target, Mode::Refresh)
        .map_err(|e| match e {
            Error::Session(_, crate::session::SessionError::Interrupted) => {
                Error::Interrupted(format!("{saved} (interrupted). {verb} with `{again}`"))
            }
            e => Error::Input(format!(
                "{saved}: {}. Fix that, then `{again}`",
                e.line().trim_start_matches("aws-mfa-proc: ")
            )),
        })
}

/// Says which keychain will hold the long-term keys, and asks first when it is one a
/// reboot clears (the kernel keyring, when no Secret Service answers).
fn where_the_keys_go(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    let durable = ctx.cache.backend().map_err(Error::Store)?.durable();
    let keychain = ctx.cache.describe();
    tell(ctx, &format!("The keys will be stored in the {keychain}."));
    if durable {
        return Ok(());
    }
    let answer = ask(
        ctx,
        "That keyring is kernel memory: the keys are gone at the next reboot, and setup must run again. A Secret Service keeps them (README: Headless Linux). Store them there anyway? [y/N] ",
    )?;
    if matches!(answer.as_str(), "y" | "Y" | "yes") {
        return Ok(());
    }
    Err(Error::Input(
        "nothing was stored. Start a Secret Service and run setup from a shell that has its DBUS_SESSION_BUS_ADDRESS (README: Headless Linux), or answer y to keep the keys in the kernel keyring until reboot".into(),
    ))
}

pub(super) fn ask(ctx: &mut Ctx<'_>, question: &str) -> Result<String, Error> {
    ctx.terminal
        .read_line(question)
        .map(|a| a.trim().to_string())
        .map_err(asked)
}

pub(super) fn asked(e: PromptError) -> Error {
    match e {
        PromptError::Interrupted => {
            Error::Interrupted("setup interrupted; nothing was changed".into())
        }
        other => Error::Input(format!("{other}; nothing was changed")),
    }
}

pub(super) fn tell(ctx: &mut Ctx<'_>, line: &str) {
    ctx.terminal.tell(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_name_is_read_from_the_caller_s_arn() {
        assert_eq!(
            user_name("arn:aws:iam::111111111111:user/alice"),
            Some("alice")
        );
        assert_eq!(
            user_name("arn:aws:iam::111111111111:user/team/alice"),
            Some("alice")
        );
        assert_eq!(user_name("arn:aws:iam::111111111111:root"), None);
    }
}
