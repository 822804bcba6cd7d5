//! `add NAME`: long-term keys into the keychain, from the terminal or the environment.
//!
//! Invariant: nothing is stored unless both keys look like AWS long-term keys; the
//! secret is never shown.

use super::Ctx;
use crate::cache;
use crate::cli::AddArgs;
use crate::config::KeySource;
use crate::credentials::{LongTermKeys, is_access_key_id, is_base64ish};
use crate::error::Error;
use crate::output;
use crate::secret::Secret;
use crate::store::StoreError;

pub(crate) fn run(ctx: &mut Ctx<'_>, args: &AddArgs) -> Result<u8, Error> {
    let name = &args.name;
    let keys = if args.from_env {
        match (
            ctx.env.var("AWS_ACCESS_KEY_ID"),
            ctx.env.var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(id), Some(secret)) => LongTermKeys {
                access_key_id: id,
                secret_access_key: Secret::new(secret),
            },
            _ => {
                return Err(Error::Input(
                    "--from-env needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set".into(),
                ));
            }
        }
    } else {
        let input_error = |e| {
            Error::Input(format!(
                "{e}; run `aws-mfa-proc add {name}` in a terminal, or use --from-env"
            ))
        };
        let id = ctx
            .terminal
            .read_line(&format!("Access key ID for `{name}` (AKIA…): "))
            .map_err(input_error)?;
        let secret = ctx
            .terminal
            .read_secret("Secret access key: ")
            .map_err(input_error)?;
        LongTermKeys {
            access_key_id: id.trim().to_string(),
            secret_access_key: Secret::new(secret.expose().trim().to_string()),
        }
    };
    check_long_term_keys(&keys)?;
    let keychain_error = |e| Error::Keychain(name.clone(), e);
    ctx.cache
        .vault
        .put_record(&cache::keys_item(name), &keys, None)
        .map_err(keychain_error)?;
    forget_sessions_of(ctx, name).map_err(keychain_error)?;
    let backend = ctx.cache.vault.backend().map_err(keychain_error)?.name();
    output::report(
        ctx.out,
        &format!(
            "Stored the keys of `{name}` ({}) in the {backend}",
            keys.access_key_id
        ),
    );
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

fn check_long_term_keys(keys: &LongTermKeys) -> Result<(), Error> {
    let id = &keys.access_key_id;
    if id.starts_with("ASIA") {
        return Err(Error::Input(
            "that access key ID (ASIA…) belongs to temporary credentials; add needs the IAM user's long-term keys (AKIA…); nothing was stored".into(),
        ));
    }
    if !is_access_key_id(id) || !is_base64ish(keys.secret_access_key.expose(), 256) {
        return Err(Error::Input(
            "those do not look like AWS access keys (an ID of 16+ letters and digits, and a secret without spaces); nothing was stored".into(),
        ));
    }
    Ok(())
}

/// New or removed keys: every session and role made from the old ones goes.
pub(super) fn forget_sessions_of(ctx: &Ctx<'_>, name: &str) -> Result<(), StoreError> {
    let source = KeySource::Keychain(name.to_string());
    let named: Vec<String> = match ctx.config() {
        Ok(config) => config
            .helper_profiles()
            .into_iter()
            .filter_map(|profile| config.target(ctx.env, profile, None).ok())
            .filter(|t| t.mfa().keys.id() == source.id())
            .map(|t| cache::item(&t))
            .collect(),
        Err(_) => Vec::new(),
    };
    ctx.cache.forget_keys(&source, &named).map(drop)
}
