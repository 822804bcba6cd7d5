//! aws-mfa-proc: a credential_process that caches MFA sessions in the OS keychain.
//!
//! [`run`] is the whole program, run by the `aws-mfa-proc-full` binary; the
//! `aws-mfa-proc` binary is the [`front`] door, which serves cache hits without it.
//! The modules, one job each:
//! - [`config`]: profile settings, read with the SDK's own parser;
//! - [`session`]: cache → lock → re-check → code → STS → store → emit;
//! - [`store`]: the keychain; [`lock`]: one refresh at a time; [`prompt`]: the terminal;
//! - [`sts`]: the only network code; [`output`]: the only writer to stdout;
//! - [`commands`]: the housekeeping subcommands; [`exec`]: running a program with
//!   credentials.

#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod cli;
pub mod codes;
pub mod commands;
pub mod config;
pub mod credentials;
pub mod exec;
pub mod front;
pub mod lock;
pub mod log;
pub mod memo;
pub mod output;
pub mod prompt;
pub mod secret;
pub mod session;
pub mod store;
pub mod sts;

use cli::{Cli, Command};
use config::{Config, ConfigError, Environment, ProcessEnv, Target};
use credentials::{SessionCredentials, iso8601};
use prompt::{CodeSource, Terminal};
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
    #[error("cannot write to stdout: {0}")]
    Output(std::io::Error),
    #[error("profile `{0}`: {1}")]
    Exec(String, exec::ExecError),
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

/// Runs the command line; the exit code on success (`exec` passes its child's on).
pub fn run(cli: Cli) -> Result<u8, Error> {
    let env = ProcessEnv;
    log::set_level(
        cli.verbose
            .max(log::level_from_env(env.var("AWS_MFA_PROC_LOG").as_deref())),
    );
    if matches!(cli.command, Some(Command::Exec { .. })) {
        exec::refuse_nesting(&env).map_err(|e| Error::Input(e.to_string()))?;
    }
    // `--profile` may come before the command word or after it.
    let chosen = match &cli.command {
        Some(
            Command::Login { select }
            | Command::Logout { select }
            | Command::Env { select, .. }
            | Command::Exec { select, .. },
        ) => select.clone().or(&cli.select),
        _ => cli.select.clone(),
    };
    let select = Selection {
        env: &env,
        profile: chosen.profile.as_deref(),
        source_profile: chosen.source_profile.as_deref(),
        config: std::cell::OnceCell::new(),
    };
    match cli.command {
        None => {
            let (_, credentials) = select.serve(Mode::Cached)?;
            output::credential_process(&credentials).map_err(Error::Output)?;
        }
        Some(Command::Login { .. }) => {
            let (target, credentials) = select.serve(Mode::Refresh)?;
            Terminal.tell(&format!(
                "aws-mfa-proc: credentials of `{}` cached until {}",
                target.profile(),
                iso8601(credentials.expiration)
            ));
        }
        Some(Command::Env { format, .. }) => {
            let (target, credentials) = select.serve(Mode::Cached)?;
            let watch = lock::stamp_path(&lock::directory(&env), &session::item(&target));
            output::environment(format, &credentials, target.profile_region(), &watch)
                .map_err(Error::Output)?;
        }
        Some(Command::Exec { command, .. }) => {
            let target = select.target()?;
            let credentials = select.credentials(&target, Mode::Cached)?;
            // The private credentials file holds the MFA session, whatever the target.
            let mfa_session = match &target {
                Target::Session(_) => credentials.clone(),
                Target::Role(role) => {
                    select.credentials(&Target::Session(role.mfa.clone()), Mode::Cached)?
                }
            };
            return exec::run(&env, &target, &credentials, &mfa_session, &command)
                .map_err(|e| Error::Exec(target.profile().into(), e));
        }
        Some(Command::Logout { .. }) => commands::logout(&select)?,
        Some(Command::Add { name, from_env }) => commands::add(&select, &name, from_env)?,
        Some(Command::Remove { name }) => commands::remove(&select, &name)?,
        Some(Command::Status) => commands::status(&env, select.config()?),
    }
    Ok(0)
}

/// Which profile a command is about, and the means to serve it.
pub struct Selection<'a> {
    pub env: &'a dyn Environment,
    pub profile: Option<&'a str>,
    pub source_profile: Option<&'a str>,
    /// Every profile, parsed when first needed: the cached path with `--profile` never is.
    config: std::cell::OnceCell<Result<Config, ConfigError>>,
}

impl Selection<'_> {
    fn config(&self) -> Result<&Config, Error> {
        self.config
            .get_or_init(|| Config::load(self.env))
            .as_ref()
            .map_err(|source| Error::Config {
                profile: self.profile.map(str::to_string),
                source: source.clone(),
            })
    }

    fn target(&self) -> Result<Target, Error> {
        if let Some(target) = self
            .profile
            .and_then(|p| Config::load_target(self.env, p, self.source_profile))
        {
            crate::debug!("{}", describe_target(&target));
            return Ok(target);
        }
        let config = self.config()?;
        let profile = config
            .choose_profile(self.profile)
            .map_err(|source| Error::Config {
                profile: self.profile.map(str::to_string),
                source,
            })?;
        let target = config
            .target(self.env, &profile, self.source_profile)
            .map_err(|source| Error::Config {
                profile: Some(profile),
                source,
            })?;
        crate::debug!(
            "{} (config {})",
            describe_target(&target),
            config.config_path().display()
        );
        Ok(target)
    }

    fn vault(&self) -> Vault {
        Vault::open(self.env)
    }

    /// Credential mode, `login`, `env`: the target and its credentials.
    fn serve(&self, mode: Mode) -> Result<(Target, SessionCredentials), Error> {
        let target = self.target()?;
        let credentials = self.credentials(&target, mode)?;
        Ok((target, credentials))
    }

    fn credentials(&self, target: &Target, mode: Mode) -> Result<SessionCredentials, Error> {
        let vault = self.vault();
        let mut deps = Deps {
            vault: &vault,
            sts: &sts::AwsSts,
            codes: &mut Terminal,
            clock: &SystemClock,
            runtime_dir: lock::directory(self.env),
        };
        session::get(target, &mut deps, mode)
            .map_err(|e| Error::Session(target.profile().to_string(), e))
    }
}

/// One line on what a profile asks for, for diagnostics.
fn describe_target(target: &Target) -> String {
    let mfa = target.mfa();
    let role = match target {
        Target::Role(r) => format!("role {} ({} s) with ", r.role_arn, r.duration.as_secs()),
        Target::Session(_) => String::new(),
    };
    format!(
        "profile `{}`: {role}MFA session of {} ({} s), keys in {}, STS region {}{}",
        target.profile(),
        mfa.mfa_serial,
        mfa.duration.as_secs(),
        mfa.keys.describe(),
        mfa.region,
        mfa.endpoint
            .as_ref()
            .map(|e| format!(", endpoint {e}"))
            .unwrap_or_default()
    )
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
