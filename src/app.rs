//! `aws-mfa-proc-full`: the whole program. [`main`] builds the real world (process
//! environment, clock, keychain, STS, terminal, stdout) and [`run`] dispatches the
//! command line to one command, so tests can run it on in-memory twins.

use std::process::ExitCode;

use clap::Parser;

use crate::aws::RealAws;
use crate::cache::Cache;
use crate::cli::{Cli, Command};
use crate::commands::Error;
use crate::commands::{self, Ctx};
use crate::prompt::ControllingTerminal;
use crate::runtime::LazyRuntime;
use crate::system::{Environment, ProcessEnv, SystemClock};

/// The full program's `main`.
#[allow(clippy::print_stderr)]
pub fn main() -> ExitCode {
    crate::harden::process();
    #[cfg(windows)]
    crate::prompt::show_credui_if_asked();
    crate::complete::answer_if_asked();
    let cli = Cli::parse();
    let env = ProcessEnv;
    crate::log::set_level(cli.verbose.max(crate::log::level_from_env(
        env.var("AWS_MFA_PROC_LOG").as_deref(),
    )));
    let cache = Cache::open(&env);
    let runtime = LazyRuntime::new(&env);
    let mut terminal = ControllingTerminal;
    let mut stdout = std::io::stdout();
    let at_terminal = std::io::IsTerminal::is_terminal(&stdout);
    let mut ctx = Ctx::new(
        &env,
        &SystemClock,
        &cache,
        &RealAws,
        &mut terminal,
        &mut stdout,
        &runtime,
    );
    ctx.out_is_terminal = at_terminal;
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
    let inner = cli.command.as_ref().and_then(Command::select);
    ctx.profile = one_profile([
        inner.and_then(|(s, _)| s.name.as_deref()),
        inner.and_then(|(s, _)| s.profile.as_deref()),
        cli.select.profile.as_deref(),
    ])?;
    ctx.source_profile = one_profile([
        inner.and_then(|(_, source)| source),
        cli.select.source_profile.as_deref(),
        None,
    ])?;
    match &cli.command {
        None => commands::credential::run(ctx, &()),
        Some(Command::Login(args)) => commands::login::run(ctx, args),
        Some(Command::Logout(args)) => commands::logout::run(ctx, args),
        Some(Command::Env(args)) => commands::env::run(ctx, args),
        Some(Command::Exec(args)) => commands::exec::run(ctx, args),
        Some(Command::Serve(args)) => commands::serve::run(ctx, args),
        Some(Command::Add(args)) => commands::add::run(ctx, args),
        Some(Command::Remove(args)) => commands::remove::run(ctx, args),
        Some(Command::Status(args)) => commands::status::run(ctx, args),
        Some(Command::Setup(args)) if args.sign_in => commands::setup_signin::run(ctx, args.remote),
        Some(Command::Setup(_)) => commands::setup::run(ctx, &()),
        Some(Command::Import(args)) => commands::import::run(ctx, args),
        Some(Command::Doctor(args)) => commands::doctor::run(ctx, args),
        Some(Command::Console(args)) => commands::console::run(ctx, args),
        Some(Command::Rotate(args)) => commands::rotate::run(ctx, args),
        Some(Command::Completions { shell }) => commands::completions::run(ctx, shell),
    }
}

/// The one profile named, wherever it was named; naming two is an error.
fn one_profile<const N: usize>(given: [Option<&str>; N]) -> Result<Option<String>, Error> {
    let mut named = given.into_iter().flatten();
    let first = named.next();
    match (first, named.find(|other| Some(*other) != first)) {
        (Some(a), Some(b)) => Err(Error::Input(format!(
            "two profiles were given (`{a}` and `{b}`); name one"
        ))),
        _ => Ok(first.map(str::to_string)),
    }
}
