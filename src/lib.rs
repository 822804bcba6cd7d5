//! aws-mfa-proc: a credential_process that caches MFA sessions in the OS keychain.
//!
//! [`run`] is the whole program; `main` only parses arguments and reports the error.
//! The modules, one job each:
//! - [`config`]: profile settings, read with the SDK's own parser;
//! - [`session`]: cache → lock → re-check → code → STS → store → emit;
//! - [`store`]: the keychain; [`lock`]: one refresh at a time; [`prompt`]: the terminal;
//! - [`sts`]: the only network code; [`output`]: the only writer to stdout.

#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod cli;
pub mod codes;
pub mod config;
pub mod credentials;
pub mod lock;
pub mod log;
pub mod output;
pub mod prompt;
pub mod secret;
pub mod session;
pub mod store;
pub mod sts;

use chrono::Utc;

use cli::{Cli, Command};
use config::{Config, ConfigError, Environment, ProcessEnv, Settings};
use credentials::{LongTermKeys, iso8601};
use prompt::{CodeSource, Terminal};
use secret::Secret;
use session::{Deps, Mode, SessionError, SystemClock};
use store::{StoreError, Vault};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}{source}", profile_prefix(.profile, .source))]
    Config {
        profile: Option<String>,
        source: ConfigError,
    },
    #[error("profile `{0}`: {1}")]
    Session(String, SessionError),
    #[error("profile `{0}`: {1}")]
    Keychain(String, StoreError),
    #[error("{0}")]
    Input(String),
    #[error("cannot write the credentials to stdout: {0}")]
    Output(std::io::Error),
}

impl Error {
    /// 130 after Ctrl-C at the prompt, as a shell expects; 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Session(_, SessionError::Interrupted) => 130,
            _ => 1,
        }
    }
}

fn profile_prefix(profile: &Option<String>, source: &ConfigError) -> String {
    match (profile, source.names_profile()) {
        (Some(p), false) => format!("profile `{p}`: "),
        _ => String::new(),
    }
}

pub fn run(cli: Cli) -> Result<(), Error> {
    let env = ProcessEnv;
    log::set_level(
        cli.verbose
            .max(log::level_from_env(env.var("AWS_MFA_PROC_LOG").as_deref())),
    );
    let named = cli.profile.as_deref();
    let config_error = |source| Error::Config {
        profile: cli.profile.clone(),
        source,
    };
    let config = Config::load(&env).map_err(config_error)?;
    match cli.command {
        None => {
            let session = serve(
                &env,
                &config,
                named,
                cli.source_profile.as_deref(),
                Mode::Cached,
            )?;
            output::credential_process(&session).map_err(Error::Output)
        }
        Some(Command::Login) => {
            let session = serve(
                &env,
                &config,
                named,
                cli.source_profile.as_deref(),
                Mode::Refresh,
            )?;
            Terminal.tell(&format!(
                "MFA session cached until {}",
                iso8601(session.expiration)
            ));
            Ok(())
        }
        Some(Command::Logout) => {
            let settings = settings(&env, &config, named, cli.source_profile.as_deref())?;
            let vault = open_vault(&env, &settings.profile)?;
            let removed = vault
                .delete(&session::item(&settings))
                .map_err(|e| Error::Keychain(settings.profile.clone(), e))?;
            output::report(&format!(
                "{} the MFA session of `{}`",
                if removed {
                    "Forgot"
                } else {
                    "There was no cached session for"
                },
                settings.profile
            ));
            Ok(())
        }
        Some(Command::Add { name, from_env }) => add(&env, &config, &name, from_env),
        Some(Command::Remove { name }) => remove(&env, &config, &name),
        Some(Command::Status) => status(&env, &config),
    }
}

fn settings(
    env: &dyn Environment,
    config: &Config,
    named: Option<&str>,
    source_profile: Option<&str>,
) -> Result<Settings, Error> {
    let config_error = |source| Error::Config {
        profile: named.map(str::to_string),
        source,
    };
    let profile = config.choose_profile(named).map_err(config_error)?;
    config
        .settings(env, &profile, source_profile)
        .map_err(|source| Error::Config {
            profile: Some(profile),
            source,
        })
}

fn open_vault(env: &dyn Environment, profile: &str) -> Result<Vault, Error> {
    Vault::open(env).map_err(|e| Error::Keychain(profile.to_string(), e))
}

/// Credential mode and `login`: the session, from the keychain or from a new code.
fn serve(
    env: &dyn Environment,
    config: &Config,
    named: Option<&str>,
    source_profile: Option<&str>,
    mode: Mode,
) -> Result<credentials::SessionCredentials, Error> {
    let settings = settings(env, config, named, source_profile)?;
    let vault = open_vault(env, &settings.profile)?;
    let deps = Deps {
        vault: &vault,
        sts: &sts::AwsSts,
        codes: &mut Terminal,
        clock: &SystemClock,
        runtime_dir: lock::directory(env),
    };
    session::get(&settings, deps, mode).map_err(|e| Error::Session(settings.profile.clone(), e))
}

fn add(env: &dyn Environment, config: &Config, name: &str, from_env: bool) -> Result<(), Error> {
    let keys = if from_env {
        let id = env.var("AWS_ACCESS_KEY_ID");
        let secret = env.var("AWS_SECRET_ACCESS_KEY");
        match (id, secret) {
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
        let mut terminal = Terminal;
        let ask = |t: &mut Terminal, q: &str| {
            t.ask(q).map_err(|e| {
                Error::Input(format!(
                    "{e}; run `aws-mfa-proc add {name}` in a terminal, or use --from-env"
                ))
            })
        };
        LongTermKeys {
            access_key_id: ask(&mut terminal, &format!("Access key ID for `{name}`: "))?
                .trim()
                .to_string(),
            secret_access_key: Secret::new(
                ask(&mut terminal, "Secret access key: ")?
                    .trim()
                    .to_string(),
            ),
        }
    };
    check_long_term_keys(&keys)?;
    let vault = open_vault(env, name)?;
    let keychain_error = |e| Error::Keychain(name.to_string(), e);
    vault
        .put_record(&store::keys_item(name), &keys)
        .map_err(keychain_error)?;
    // A session made from the old keys is no longer this profile's.
    if let Ok(settings) = config.settings(env, name, None) {
        vault
            .delete(&session::item(&settings))
            .map_err(keychain_error)?;
    }
    output::report(&format!(
        "Stored the keys of `{name}` ({}) in the {}",
        keys.access_key_id,
        vault.backend().name()
    ));
    Ok(())
}

fn check_long_term_keys(keys: &LongTermKeys) -> Result<(), Error> {
    let id = &keys.access_key_id;
    if id.starts_with("ASIA") {
        return Err(Error::Input(
            "that access key ID (ASIA…) belongs to temporary credentials; add needs the IAM user's long-term keys (AKIA…)".into(),
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

fn remove(env: &dyn Environment, config: &Config, name: &str) -> Result<(), Error> {
    let vault = open_vault(env, name)?;
    let keychain_error = |e| Error::Keychain(name.to_string(), e);
    let removed = vault
        .delete(&store::keys_item(name))
        .map_err(keychain_error)?;
    if let Ok(settings) = config.settings(env, name, None) {
        vault
            .delete(&session::item(&settings))
            .map_err(keychain_error)?;
    }
    output::report(&if removed {
        format!(
            "Removed the keys of `{name}` from the {}",
            vault.backend().name()
        )
    } else {
        format!(
            "No keys were stored for `{name}` in the {}",
            vault.backend().name()
        )
    });
    Ok(())
}

fn status(env: &dyn Environment, config: &Config) -> Result<(), Error> {
    let vault = Vault::open(env);
    output::report(&match &vault {
        Ok(v) => format!(
            "keychain: {}{}",
            v.backend().name(),
            if v.backend().durable() {
                ""
            } else {
                " (cleared at reboot)"
            }
        ),
        Err(e) => format!("keychain: unavailable: {e}"),
    });
    let profiles = config.helper_profiles();
    if profiles.is_empty() {
        output::report(&format!(
            "no profile in {} runs aws-mfa-proc",
            config.config_path().display()
        ));
    }
    let now = Utc::now();
    for name in profiles {
        let line = match (config.settings(env, name, None), &vault) {
            (Err(e), _) => format!("{name}: misconfigured: {e}"),
            (Ok(s), Err(_)) => format!("{name}: keys in {}; session unknown", s.keys.describe()),
            (Ok(s), Ok(vault)) => {
                let keys = match &s.keys {
                    config::KeySource::Keychain(k) => match vault.get(&store::keys_item(k)) {
                        Ok(Some(_)) => "stored".to_string(),
                        Ok(None) => format!("MISSING (run `aws-mfa-proc add {k}`)"),
                        Err(e) => format!("unreadable ({e})"),
                    },
                    config::KeySource::SharedProfile { .. } => "present".to_string(),
                };
                let session = match session::cached(vault, &s) {
                    Ok(Some(c)) if c.expiration > now => {
                        let left = c.remaining(now);
                        format!(
                            "session until {} ({}h{:02}m left)",
                            iso8601(c.expiration),
                            left.num_hours(),
                            left.num_minutes() % 60
                        )
                    }
                    Ok(_) => "no valid session".to_string(),
                    Err(e) => format!("session unreadable ({e})"),
                };
                format!(
                    "{name}: keys in {}: {keys}; {session}; mfa_serial {}",
                    s.keys.describe(),
                    s.mfa_serial
                )
            }
        };
        output::report(&line);
    }
    Ok(())
}

/// `error: cause: cause…`, for errors from other crates.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
