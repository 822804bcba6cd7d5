//! The housekeeping subcommands: `add`, `remove`, `logout`, `status`.
//!
//! Invariant: none of them prints a secret; `add` stores nothing unless both keys look
//! like AWS access keys.

use chrono::Utc;

use crate::config::{Config, Environment, KeySource, Target};
use crate::credentials::{LongTermKeys, iso8601};
use crate::prompt::{CodeSource, Terminal};
use crate::secret::Secret;
use crate::store::{self, Vault};
use crate::{Error, Selection, output, session};

/// `add NAME`: long-term keys into the keychain, from the terminal or the environment.
pub fn add(select: &Selection<'_>, name: &str, from_env: bool) -> Result<(), Error> {
    let keys = if from_env {
        match (
            select.env.var("AWS_ACCESS_KEY_ID"),
            select.env.var("AWS_SECRET_ACCESS_KEY"),
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
        let ask = |question: &str| {
            Terminal.ask(question).map_err(|e| {
                Error::Input(format!(
                    "{e}; run `aws-mfa-proc add {name}` in a terminal, or use --from-env"
                ))
            })
        };
        LongTermKeys {
            access_key_id: ask(&format!("Access key ID for `{name}`: "))?
                .trim()
                .to_string(),
            secret_access_key: Secret::new(ask("Secret access key: ")?.trim().to_string()),
        }
    };
    check_long_term_keys(&keys)?;
    let vault = select.vault();
    let keychain_error = |e| Error::Keychain(name.to_string(), e);
    vault
        .put_record(&store::keys_item(name), &keys)
        .map_err(keychain_error)?;
    forget_session(select.env, select.config()?, &vault, name).map_err(keychain_error)?;
    output::report(&format!(
        "Stored the keys of `{name}` ({}) in the {}",
        keys.access_key_id,
        vault.backend().map_err(keychain_error)?.name()
    ));
    if let Ok(config) = select.config()
        && !config.helper_profiles().contains(&name)
    {
        output::report(&format!(
            "Note: no profile `{name}` in {} runs aws-mfa-proc yet; the keys are used by the profile of that name",
            config.config_path().display()
        ));
    }
    Ok(())
}

fn check_long_term_keys(keys: &LongTermKeys) -> Result<(), Error> {
    let id = &keys.access_key_id;
    if id.starts_with("ASIA") {
        return Err(Error::Input(
            "that access key ID (ASIA…) belongs to temporary credentials; add needs the IAM user's long-term keys (AKIA…); nothing was stored".into(),
        ));
    }
    let id_ok = (16..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
    let secret = keys.secret_access_key.expose();
    let secret_ok =
        !secret.is_empty() && secret.len() <= 256 && !secret.chars().any(char::is_whitespace);
    if !id_ok || !secret_ok {
        return Err(Error::Input(
            "those do not look like AWS access keys (an ID of 16+ letters and digits, and a secret without spaces); nothing was stored".into(),
        ));
    }
    Ok(())
}

/// `remove NAME`: the stored keys and the session made from them.
pub fn remove(select: &Selection<'_>, name: &str) -> Result<(), Error> {
    let vault = select.vault();
    let keychain_error = |e| Error::Keychain(name.to_string(), e);
    let removed = vault
        .delete(&store::keys_item(name))
        .map_err(keychain_error)?;
    forget_session(select.env, select.config()?, &vault, name).map_err(keychain_error)?;
    let backend = vault.backend().map_err(keychain_error)?.name();
    output::report(&if removed {
        format!("Removed the keys of `{name}`, and the session made from them, from the {backend}")
    } else {
        format!("No keys were stored for `{name}` in the {backend}")
    });
    Ok(())
}

/// New or removed keys: a session made from the old ones is no longer this profile's.
fn forget_session(
    env: &dyn Environment,
    config: &Config,
    vault: &Vault,
    name: &str,
) -> Result<(), store::StoreError> {
    if let Ok(settings) = config.settings(env, name, None) {
        vault.delete(&session::item(&Target::Session(settings)))?;
    }
    Ok(())
}

/// `logout`: forget the profile's MFA session and every role assumed with it (the
/// profile's own, and those of the other role profiles on the same MFA profile).
pub fn logout(select: &Selection<'_>) -> Result<(), Error> {
    let target = select.target()?;
    let mfa = &target.mfa().profile;
    let mut targets = vec![target.clone(), Target::Session(target.mfa().clone())];
    if let Ok(config) = select.config() {
        targets.extend(
            config
                .helper_profiles()
                .into_iter()
                .filter_map(|name| config.target(select.env, name, select.source_profile).ok())
                .filter(|t| matches!(t, Target::Role(r) if &r.mfa.profile == mfa)),
        );
    }
    let vault = select.vault();
    let mut forgotten = 0;
    for t in &targets {
        if vault
            .delete(&session::item(t))
            .map_err(|e| Error::Keychain(target.profile().to_string(), e))?
        {
            forgotten += 1;
        }
    }
    output::report(&if forgotten > 0 {
        format!("Forgot the MFA session of `{mfa}` and the roles assumed with it")
    } else {
        format!("There was no cached session for `{}`", target.profile())
    });
    Ok(())
}

/// `status`: every profile that runs aws-mfa-proc, its keys, its session, the keychain.
pub fn status(env: &dyn Environment, config: &Config) {
    let vault = Vault::open(env);
    let backend = vault.backend();
    output::report(&match &backend {
        Ok(b) => format!(
            "keychain: {}{}",
            b.name(),
            if b.durable() {
                ""
            } else {
                " (cleared at reboot)"
            }
        ),
        Err(e) => format!("keychain: unavailable: {e}"),
    });
    let vault = backend.map(|_| vault);
    let profiles = config.helper_profiles();
    if profiles.is_empty() {
        output::report(&format!(
            "no profile in {} runs aws-mfa-proc",
            config.config_path().display()
        ));
    }
    for name in profiles {
        let line = match (config.target(env, name, None), &vault) {
            (Err(e), _) => format!("{name}: misconfigured: {e}"),
            (Ok(t), Err(_)) => format!("{name}: {}; session unknown", describe(&t)),
            (Ok(t), Ok(vault)) => format!(
                "{name}: {} ({}); {}",
                describe(&t),
                keys_state(vault, &t.mfa().keys),
                session_state(vault, &t)
            ),
        };
        let line = match config.shadowing_key(name) {
            Some(key) => format!(
                "{line}; WARNING: `{key}` for this profile (in the config or credentials file) makes the SDKs use it instead of aws-mfa-proc: remove it"
            ),
            None => line,
        };
        let line = match config.served_profile(name) {
            Some(other) if other != name => format!(
                "{line}; WARNING: its credential_process serves `--profile {other}`, not `{name}`"
            ),
            _ => line,
        };
        output::report(&line);
    }
}

fn describe(target: &Target) -> String {
    match target {
        Target::Session(s) => format!(
            "MFA session of {}, keys in {}",
            s.mfa_serial,
            s.keys.describe()
        ),
        Target::Role(r) => format!(
            "role {} via the MFA session of `{}`",
            r.role_arn, r.mfa.profile
        ),
    }
}

fn keys_state(vault: &Vault, keys: &KeySource) -> String {
    match keys {
        KeySource::Keychain(name) => match vault.get(&store::keys_item(name)) {
            Ok(Some(_)) => "keys stored".to_string(),
            Ok(None) => format!("keys MISSING: run `aws-mfa-proc add {name}`"),
            Err(e) => format!("keys unreadable: {e}"),
        },
        KeySource::SharedProfile { .. } => "keys present".to_string(),
    }
}

fn session_state(vault: &Vault, target: &Target) -> String {
    let now = Utc::now();
    match session::cached(vault, target) {
        Ok(Some(c)) if c.expiration > now => {
            let left = c.remaining(now);
            format!(
                "cached until {} ({}h{:02}m left)",
                iso8601(c.expiration),
                left.num_hours(),
                left.num_minutes() % 60
            )
        }
        Ok(_) => "nothing cached".to_string(),
        Err(e) => format!("cache unreadable: {e}"),
    }
}
