//! `aws-mfa-proc-full`: the whole program. [`main`] builds the real world (process
//! environment, clock, keychain, STS, terminal, stdout) and [`run`] dispatches the
//! command line to one command, so tests can run it on in-memory twins.

use std::process::ExitCode;

use clap::Parser;

use crate::cache::Cache;
use crate::cli::{Cli, Command};
use crate::commands::{self, Ctx};
use crate::error::Error;
use crate::prompt::ControllingTerminal;
use crate::runtime::LazyRuntime;
use crate::sts::AwsSts;
use crate::system::{Environment, ProcessEnv, SystemClock};

/// The full program's `main`.
#[allow(clippy::print_stderr)]
pub fn main() -> ExitCode {
    crate::harden::process();
    let cli = Cli::parse();
    let env = ProcessEnv;
    crate::log::set_level(cli.verbose.max(crate::log::level_from_env(
        env.var("AWS_MFA_PROC_LOG").as_deref(),
    )));
    let cache = Cache::open(&env);
    let runtime = LazyRuntime::new(&env);
    let mut terminal = ControllingTerminal;
    let mut stdout = std::io::stdout();
    let mut ctx = Ctx::new(
        &env,
        &SystemClock,
        &cache,
        &AwsSts,
        &mut terminal,
        &mut stdout,
        &runtime,
    );
    match run(cli, &mut ctx) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("{}", error.line());
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs the command line against `ctx`; the exit code on success.
pub(crate) fn run(cli: Cli, ctx: &mut Ctx<'_>) -> Result<u8, Error> {
    // `--profile` may come before the command word or after it.
    let select = match cli.command.as_ref().and_then(Command::select) {
        Some(inner) => inner.or(&cli.select),
        None => cli.select.clone(),
    };
    ctx.profile = select.profile;
    ctx.source_profile = select.source_profile;
    match &cli.command {
        None => commands::serve::run(ctx, &()),
        Some(Command::Login(args)) => commands::login::run(ctx, args),
        Some(Command::Logout(args)) => commands::logout::run(ctx, args),
        Some(Command::Env(args)) => commands::env::run(ctx, args),
        Some(Command::Exec(args)) => commands::exec::run(ctx, args),
        Some(Command::Add(args)) => commands::add::run(ctx, args),
        Some(Command::Remove(args)) => commands::remove::run(ctx, args),
        Some(Command::Status) => commands::status::run(ctx, &()),
    }
}
