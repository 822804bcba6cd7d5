//! `add [PROFILE]`: long-term keys into the keychain, from the terminal or the
//! environment.
//!
//! Invariants:
//! - the keychain is checked before anything is asked: a locked or unusable keychain
//!   fails before the person types a key;
//! - nothing is stored unless both values look like AWS long-term keys, and an error
//!   says which one is wrong (the ID may be quoted; the secret never is);
//! - existing keys are replaced only after a yes at the terminal, or, with
//!   `--from-env`, with a line that says so; everything made from the old keys goes;
//! - a keychain that forgets at reboot (the kernel keyring) says so.

use super::Ctx;
use super::Error;
use crate::cli::AddArgs;
use crate::config::KeySource;
use crate::credentials::{LongTermKeys, is_access_key_id, is_base64ish};
use crate::error::clip;
use crate::output;
use crate::prompt::PromptError;
use crate::secret::Secret;
use crate::store::{Lookup, StoreError};

pub(crate) fn run(ctx: &mut Ctx<'_>, args: &AddArgs) -> Result<u8, Error> {
    let name = ctx.profile_name()?;
    let keychain_error = |e| Error::Keychain(name.clone(), e);
    // The keychain first: it must be usable before anyone types a key into it.
    ctx.cache.check().map_err(keychain_error)?;
    let existing = match ctx.cache.keys(&name).map_err(keychain_error)? {
        Lookup::Found(keys) => Some(keys.access_key_id),
        _ => None,
    };
    let keys = if args.from_env {
        from_environment(ctx)?
    } else {
        if let Some(old) = &existing {
            let question = format!(
                "Keys ({}) are already stored for `{name}`. Replace them? [y/N] ",
                clip(old, 24)
            );
            let answer = ctx
                .terminal
                .read_line(&question)
                .map_err(|e| asked(e, &name))?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                output::report(ctx.out, &format!("Kept the keys of `{name}`"));
                return Ok(0);
            }
        }
        from_terminal(ctx, &name)?
    };
    check(&keys)?;
    ctx.cache.store_keys(&name, &keys).map_err(keychain_error)?;
    forget_sessions_of(ctx, &name).map_err(keychain_error)?;
    let verb = match &existing {
        Some(old) => format!("Replaced the keys of `{name}` ({} before)", clip(old, 24)),
        None => format!("Stored the keys of `{name}`"),
    };
    let backend = ctx.cache.backend().map_err(keychain_error)?;
    let mut line = format!("{verb} ({}) in the {}", keys.access_key_id, backend.name());
    if !backend.durable() {
        line.push_str(&format!(
            ": kept in memory and lost at reboot ({}); for keys that survive a reboot, use a Secret Service",
            ctx.cache.describe()
        ));
    }
    output::report(ctx.out, &line);
    if let Ok(config) = ctx.config()
        && !config.helper_profiles().contains(&name.as_str())
    {
        let line = format!(
            "Note: no profile `{name}` in {} runs aws-mfa-proc yet; the keys are used by the profile of that name",
            config.config_path().display()
        );
        output::report(ctx.out, &line);
    }
    Ok(0)
}

fn from_environment(ctx: &Ctx<'_>) -> Result<LongTermKeys, Error> {
    match (
        ctx.env.var("AWS_ACCESS_KEY_ID"),
        ctx.env.var("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), Some(secret)) => Ok(LongTermKeys {
            access_key_id: id.trim().to_string(),
            secret_access_key: Secret::new(secret.trim().to_string()),
            rotated_from: None,
        }),
        _ => Err(Error::Input(
            "--from-env needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set".into(),
        )),
    }
}

fn from_terminal(ctx: &mut Ctx<'_>, name: &str) -> Result<LongTermKeys, Error> {
    let id = ctx
        .terminal
        .read_line(&format!("Access key ID for `{name}` (AKIA…): "))
        .map_err(|e| asked(e, name))?;
    let secret = ctx
        .terminal
        .read_secret("Secret access key (hidden): ")
        .map_err(|e| asked(e, name))?;
    Ok(LongTermKeys {
        access_key_id: id.trim().to_string(),
        secret_access_key: Secret::new(secret.expose().trim().to_string()),
        rotated_from: None,
    })
}

/// A prompt that did not answer.
fn asked(e: PromptError, name: &str) -> Error {
    match e {
        PromptError::Interrupted => Error::Interrupted("interrupted; nothing was stored".into()),
        other => Error::Input(format!(
            "{other}; run `aws-mfa-proc add {name}` in a terminal, or use --from-env"
        )),
    }
}

/// Both values look like AWS long-term keys; else which one does not.
pub(super) fn check(keys: &LongTermKeys) -> Result<(), Error> {
    let id = &keys.access_key_id;
    if id.starts_with("ASIA") {
        return Err(Error::Input(format!(
            "the access key ID `{}` (ASIA…) belongs to temporary credentials; add needs the IAM user's long-term keys (AKIA…); nothing was stored",
            clip(id, 24)
        )));
    }
    if !is_access_key_id(id) {
        return Err(Error::Input(format!(
            "`{}` is not an access key ID (16 to 128 capital letters and digits, like AKIAIOSFODNN7EXAMPLE); nothing was stored",
            clip(id, 24)
        )));
    }
    if !is_base64ish(keys.secret_access_key.expose(), 256) {
        return Err(Error::Input(
            "the secret access key is not one (40 letters, digits, + and / for AWS keys; it is not shown); nothing was stored".into(),
        ));
    }
    Ok(())
}

/// New or removed keys: every session and role made from the old ones goes.
pub(super) fn forget_sessions_of(ctx: &Ctx<'_>, name: &str) -> Result<(), StoreError> {
    let source = KeySource::Keychain(name.to_string());
    let made: Vec<_> = match ctx.config() {
        Ok(config) => config
            .helper_profiles()
            .into_iter()
            .filter_map(|profile| config.target(ctx.env, profile, None).ok())
            .filter(|t| t.mfa().keys.id() == source.id())
            .collect(),
        Err(_) => Vec::new(),
    };
    ctx.cache.forget_keys(&source, &made).map(drop)
}
