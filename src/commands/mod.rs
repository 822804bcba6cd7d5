//! One file per subcommand, each with the same signature:
//! `run(ctx: &mut Ctx, args) -> Result<exit code, Error>`.
//!
//! [`Ctx`] carries the side effects (environment, clock, keychain and its kernel
//! copies, STS, the terminal, stdout, the runtime directory) and the profile the command
//! line selected; commands reach the world only through it.
//!
//! Invariant: no command prints a secret except to stdout, and only credential mode,
//! `env`, `exec` (to its program) and `serve` (to its callers) hand credentials out at
//! all.

pub(crate) mod add;
pub(crate) mod completions;
pub(crate) mod console;
pub(crate) mod credential;
pub(crate) mod doctor;
pub(crate) mod env;
mod error;
pub(crate) mod exec;
pub(crate) mod import;
mod import_login;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod remove;
pub(crate) mod rotate;
pub(crate) mod serve;
pub(crate) mod setup;
pub(crate) mod setup_signin;
pub(crate) mod status;

use std::cell::OnceCell;
use std::io::Write;

use crate::aws::Aws;
use crate::browser::SystemBrowser;
use crate::cache::Cache;
use crate::config::{Config, ConfigError, Target, fast};
use crate::prompt::{self, CodeSource, Terminal};
use crate::runtime::LazyRuntime;
use crate::session::{self, Deps, Mode, Served};
use crate::system::{Clock, Environment};
pub(crate) use error::Error;

/// What every command works with.
pub(crate) struct Ctx<'a> {
    pub env: &'a dyn Environment,
    pub clock: &'a dyn Clock,
    pub cache: &'a Cache,
    pub aws: &'a dyn Aws,
    pub terminal: &'a mut dyn Terminal,
    pub out: &'a mut dyn Write,
    pub runtime: &'a LazyRuntime<'a>,
    /// `--profile`, wherever it was given.
    pub profile: Option<String>,
    /// `--source-profile`, wherever it was given.
    pub source_profile: Option<String>,
    /// Whether stdout is a terminal (a person would see what is printed).
    pub out_is_terminal: bool,
    /// `login --remote`: a sign-in goes by the terminal, not this machine's browser.
    pub remote: bool,
    /// Every profile, parsed when first needed: a cache hit with `--profile` never is.
    config: OnceCell<Result<Config, ConfigError>>,
}

impl<'a> Ctx<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        env: &'a dyn Environment,
        clock: &'a dyn Clock,
        cache: &'a Cache,
        aws: &'a dyn Aws,
        terminal: &'a mut dyn Terminal,
        out: &'a mut dyn Write,
        runtime: &'a LazyRuntime<'a>,
    ) -> Ctx<'a> {
        Ctx {
            env,
            clock,
            cache,
            aws,
            terminal,
            out,
            runtime,
            profile: None,
            source_profile: None,
            out_is_terminal: false,
            remote: false,
            config: OnceCell::new(),
        }
    }

    /// Every profile of both files.
    pub(crate) fn config(&self) -> Result<&Config, Error> {
        self.config
            .get_or_init(|| Config::load(self.env))
            .as_ref()
            .map_err(|source| Error::Config {
                profile: self.profile.clone(),
                source: source.clone(),
            })
    }

    /// What the selected profile asks for: read from its sections alone when it can
    /// be, else from every profile (which also gives the better error).
    pub(crate) fn target(&self) -> Result<Target, Error> {
        if let Some(profile) = &self.profile
            && let Some(target) = fast::target(self.env, profile, self.source_profile.as_deref())
        {
            crate::debug!("{}", describe(&target));
            return Ok(target);
        }
        let config = self.config()?;
        let profile = config
            .choose_profile(self.profile.as_deref())
            .map_err(|source| Error::Config {
                profile: self.profile.clone(),
                source,
            })?;
        let target = config
            .target(self.env, &profile, self.source_profile.as_deref())
            .map_err(|source| Error::Config {
                profile: Some(profile),
                source,
            })?;
        crate::debug!(
            "{} (config {})",
            describe(&target),
            config.config_path().display()
        );
        Ok(target)
    }

    /// The profile named on the command line, else the only helper profile (for
    /// commands about keys, which need no target).
    pub(crate) fn profile_name(&self) -> Result<String, Error> {
        if let Some(name) = &self.profile {
            return Ok(name.clone());
        }
        self.config()?
            .choose_profile(None)
            .map_err(|source| Error::Config {
                profile: None,
                source,
            })
    }

    /// `target`'s credentials, from the cache or made anew (asking on the terminal).
    pub(crate) fn credentials(&mut self, target: &Target, mode: Mode) -> Result<Served, Error> {
        let world = self.world();
        let mut codes = choose(target, self.env, &mut *self.terminal);
        fetch(world, target, &mut *codes, mode)
    }

    /// [`Ctx::credentials`] while `owner` has the terminal (`exec --server`'s command):
    /// a dialog or `mfa_process` may ask for a code, the terminal never.
    pub(crate) fn credentials_off_terminal(
        &self,
        target: &Target,
        mode: Mode,
        owner: &str,
    ) -> Result<Served, Error> {
        let mut elsewhere = prompt::Elsewhere(owner.to_string());
        let mut codes = choose(target, self.env, &mut elsewhere);
        fetch(self.world(), target, &mut *codes, mode)
    }

    /// Everything `session::get` needs but the code source.
    fn world(&self) -> World<'a> {
        World {
            cache: self.cache,
            aws: self.aws,
            clock: self.clock,
            runtime: self.runtime,
            env: self.env,
            remote: self.remote,
        }
    }
}

/// The parts of [`Ctx`] a credential fetch uses.
struct World<'a> {
    cache: &'a Cache,
    aws: &'a dyn Aws,
    clock: &'a dyn Clock,
    runtime: &'a LazyRuntime<'a>,
    env: &'a dyn Environment,
    remote: bool,
}

/// What asks for `target`'s codes, or why nothing can. A sign-in talks to the person
/// on the terminal only (the browser is its GUI).
fn choose<'t>(
    target: &Target,
    env: &dyn Environment,
    terminal: &'t mut dyn Terminal,
) -> Box<dyn CodeSource + 't> {
    let chosen = if target.mfa().is_sign_in() {
        match terminal.present() {
            Ok(()) => Ok(Box::new(prompt::Typed(terminal)) as Box<dyn CodeSource>),
            Err(e) => Err(e.to_string()),
        }
    } else {
        prompt::choose(target.mfa(), env, terminal)
    };
    chosen.unwrap_or_else(|why| Box::new(prompt::Unavailable(why)))
}

fn fetch(
    world: World<'_>,
    target: &Target,
    codes: &mut dyn CodeSource,
    mode: Mode,
) -> Result<Served, Error> {
    let browser = SystemBrowser(world.env);
    let mut deps = Deps {
        cache: world.cache,
        sts: world.aws,
        codes,
        clock: world.clock,
        runtime: world.runtime,
        signin: world.aws,
        env: world.env,
        browser: &browser,
        remote: world.remote,
    };
    session::get(target, &mut deps, mode)
        .map_err(|e| Error::Session(target.profile().to_string(), e))
}

/// One line on what a profile asks for, for diagnostics.
fn describe(target: &Target) -> String {
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
