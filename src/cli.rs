//! The command line. Doc comments here are the `--help` text, the shell completions and
//! the man page (docs/man/aws-mfa-proc.1).
//!
//! Invariants:
//! - every command that is about a profile takes it the same ways: as the first word
//!   after the command (`login mfa`, `exec production -- cmd`), as `--profile NAME`
//!   after the command, or as `--profile NAME` before it;
//! - a command shows and takes only the options it uses: `--source-profile` only where
//!   credentials are fetched (no command, `login`, `logout`, `env`, `exec`, `console`,
//!   `serve`);
//! - every profile argument completes in the shell: PROFILE and `--profile` with the
//!   config's profiles, `--source-profile` and `--from-profile` with the credentials
//!   file's (see [`crate::complete`]).

use std::ffi::OsString;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::completers::{credentials_profiles, profiles};

/// MFA sessions for the AWS CLI and SDKs, cached in the OS keychain.
///
/// Run with no command, it is a credential_process: it prints the cached MFA session of
/// a profile as JSON, or asks for a TOTP code (terminal, dialog, YubiKey or
/// mfa_process) when the session has expired. Start with `aws-mfa-proc setup`, or put
/// it in ~/.aws/config:
///
///   [profile mfa]
///   credential_process = /home/you/.cargo/bin/aws-mfa-proc --profile mfa
///   mfa_serial = arn:aws:iam::111111111111:mfa/alice
///   region = eu-west-1
///
///   [profile production]
///   role_arn = arn:aws:iam::222222222222:role/Admin
///   source_profile = mfa
///
/// then store the long-term keys once with `aws-mfa-proc add mfa`.
#[derive(Debug, Parser)]
#[command(
    name = "aws-mfa-proc",
    bin_name = "aws-mfa-proc",
    version,
    verbatim_doc_comment
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub select: ProfileFlags,

    /// Diagnostics on stderr; never shows secrets. Also AWS_MFA_PROC_LOG=debug
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Store a profile's long-term access keys in the OS keychain
    Add(AddArgs),
    /// Delete a profile's stored long-term keys, and every session and role made from them
    Remove(Selection),
    /// Ask for an MFA code now and cache a fresh session (e.g. before starting an IDE);
    /// for a sign-in profile, sign in to AWS in the browser
    Login(LoginArgs),
    /// Forget the cached MFA session, and the roles assumed with it
    Logout(KeySelection),
    /// List the profiles that run aws-mfa-proc, where their keys are, and their sessions
    #[command(mut_arg("name", |a| a.help("Only this profile [default: every profile]")))]
    Status(Selection),
    /// Print the credentials as environment variables, e.g. for direnv:
    /// eval "$(aws-mfa-proc env mfa)"
    Env(EnvArgs),
    /// Run a program with the credentials in its environment (for tools that cannot
    /// chain a role from credential_process, e.g. Serverless v3):
    /// aws-mfa-proc exec production -- sls info
    ///
    /// With --server, the program gets no keys but a local endpoint that serves them,
    /// refreshed for as long as it runs (AWS_CONTAINER_CREDENTIALS_FULL_URI and
    /// AWS_CONTAINER_AUTHORIZATION_TOKEN, which every SDK reads)
    Exec(ExecArgs),
    /// Serve the credentials on 127.0.0.1 to a container on the host network, until
    /// Ctrl-C: prints AWS_CONTAINER_CREDENTIALS_FULL_URI and
    /// AWS_CONTAINER_AUTHORIZATION_TOKEN to export
    Serve(ServeArgs),
    /// Set up a profile from scratch, at a terminal: keys, MFA device, region, config;
    /// with --sign-in, a profile signed in to AWS in the browser (no keys)
    Setup(SetupArgs),
    /// Move static keys from ~/.aws/credentials into the keychain, and offer to delete
    /// plaintext session keys left there by old scripts; or move an `aws login`
    /// session into the keychain (--from-login-session)
    Import(ImportArgs),
    /// Check the setup, one line per check (✓ or ✗ with the fix); exit 0 only if all pass
    Doctor(DoctorArgs),
    /// Open the AWS console in the browser as a role profile, with MFA kept.
    /// The sign-in URL is a credential (valid 15 minutes): --print writes it to stdout
    Console(ConsoleArgs),
    /// Replace the IAM user's access key: create a new one, store it, check it, delete
    /// the old one, and forget every session made from the old one
    Rotate(Selection),
    /// Print the shell script that completes commands and profile names:
    /// source <(aws-mfa-proc completions bash)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

/// Which profile a command is about.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct Selection {
    /// The profile [default: the only profile whose credential_process runs aws-mfa-proc]
    #[arg(value_name = "PROFILE", add = profiles())]
    pub name: Option<String>,

    /// The same as PROFILE
    #[arg(long, value_name = "NAME", add = profiles())]
    pub profile: Option<String>,
}

/// The selection of a command that fetches credentials, which may take the long-term
/// keys from ~/.aws/credentials instead of the keychain.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct KeySelection {
    #[command(flatten)]
    pub select: Selection,

    /// Take the long-term keys from this profile's static keys in ~/.aws/credentials
    /// instead of the keychain
    #[arg(long, value_name = "SRC", add = credentials_profiles())]
    pub source_profile: Option<String>,
}

/// `login`: the selection, and how a sign-in profile signs in.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct LoginArgs {
    #[command(flatten)]
    pub select: KeySelection,

    /// Sign in on another device (e.g. over SSH): print the sign-in URL here and read
    /// the code the browser shows from the terminal (sign-in profiles only)
    #[arg(long)]
    pub remote: bool,
}

/// `--profile` and `--source-profile` before the command word, or with no command.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct ProfileFlags {
    /// Profile to serve [default: the only profile whose credential_process runs aws-mfa-proc]
    #[arg(long, value_name = "NAME", add = profiles())]
    pub profile: Option<String>,

    /// Take the long-term keys from this profile's static keys in ~/.aws/credentials
    /// instead of the keychain
    #[arg(long, value_name = "SRC", add = credentials_profiles())]
    pub source_profile: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    #[command(flatten)]
    pub select: Selection,
    /// Read the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead of the terminal
    #[arg(long)]
    pub from_env: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub select: Selection,
    /// The profile in ~/.aws/credentials whose static keys move (e.g. default)
    #[arg(long, value_name = "SRC", add = credentials_profiles())]
    pub from_profile: Option<String>,
    /// Delete sections of plaintext session keys (aws_session_token) without asking
    #[arg(long)]
    pub delete_sessions: bool,
    /// The `aws login` profile (with `login_session`) whose sign-in moves from the AWS
    /// CLI's cache (~/.aws/login/cache) into the keychain; the profile then runs
    /// aws-mfa-proc
    #[arg(long, value_name = "SRC", conflicts_with_all = ["from_profile", "delete_sessions"])]
    pub from_login_session: Option<String>,
    /// Taken only to name the right flag: import's source is `--from-profile`
    #[arg(long, value_name = "SRC", hide = true)]
    pub source_profile: Option<String>,
}

#[derive(Debug, Default, Args)]
pub(crate) struct SetupArgs {
    /// A profile whose credentials come from AWS Sign-In (the console sign-in, in the
    /// browser): asks only for a name and a region, then signs in
    #[arg(long)]
    pub sign_in: bool,
    /// With --sign-in: sign in on another device (print the URL, paste the code)
    #[arg(long, requires = "sign_in")]
    pub remote: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub select: Selection,
    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// one check per line, ✓ or ✗
    Text,
    /// one JSON object
    Json,
}

#[derive(Debug, Args)]
#[command(mut_arg("name", |a| a.help(
    "The role profile [default: the one role profile that chains from the only profile whose credential_process runs aws-mfa-proc]"
)))]
pub(crate) struct ConsoleArgs {
    #[command(flatten)]
    pub select: KeySelection,
    /// The console page: a service (s3, ec2), or a path as given
    /// (ec2/home?region=eu-west-1#Instances) [default: the console home]
    #[arg(long)]
    pub path: Option<String>,
    /// The console's region [default: the profile's]
    #[arg(long)]
    pub region: Option<String>,
    /// Write the sign-in URL to stdout instead of opening a browser. It is a credential:
    /// anyone with it is signed in as the role for its 15 minutes
    #[arg(long)]
    pub print: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    #[command(flatten)]
    pub select: KeySelection,
    /// Output syntax
    #[arg(long, value_enum, default_value_t = EnvFormat::Sh)]
    pub format: EnvFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    #[command(flatten)]
    pub select: KeySelection,
    /// Give the program a local endpoint that serves the credentials, refreshed while
    /// it runs, instead of the credentials themselves
    #[arg(long)]
    pub server: bool,
    /// The program and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub select: KeySelection,
    /// The port on 127.0.0.1 [default: one the OS picks]
    #[arg(long)]
    pub port: Option<u16>,
}

impl Command {
    /// The profile selection given after the command word, if the command takes one,
    /// and its `--source-profile`, if it takes that too.
    pub(crate) fn select(&self) -> Option<(&Selection, Option<&str>)> {
        match self {
            Command::Login(LoginArgs { select: k, .. })
            | Command::Logout(k)
            | Command::Env(EnvArgs { select: k, .. })
            | Command::Exec(ExecArgs { select: k, .. })
            | Command::Serve(ServeArgs { select: k, .. })
            | Command::Console(ConsoleArgs { select: k, .. }) => {
                Some((&k.select, k.source_profile.as_deref()))
            }
            Command::Remove(s) | Command::Status(s) | Command::Rotate(s) => Some((s, None)),
            Command::Add(AddArgs { select, .. })
            | Command::Import(ImportArgs { select, .. })
            | Command::Doctor(DoctorArgs { select, .. }) => Some((select, None)),
            Command::Setup(_) | Command::Completions { .. } => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum EnvFormat {
    /// `export NAME='value'` (bash, zsh, sh; direnv: also a watch_file line)
    Sh,
    /// `set -gx NAME 'value';`
    Fish,
    /// `$Env:NAME = 'value'`
    Powershell,
    /// `NAME=value`
    Dotenv,
    /// one JSON object
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::path::Path;

    /// docs/man holds one page for the program and one per command, rendered from the
    /// definitions above; `UPDATE_MAN=1 cargo test --lib man_pages` writes them.
    #[test]
    fn the_man_pages_in_docs_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
        let top = Cli::command();
        let mut pages = vec![("aws-mfa-proc".to_string(), top.clone())];
        for sub in top.get_subcommands() {
            let name = format!("aws-mfa-proc-{}", sub.get_name());
            pages.push((
                name.clone(),
                sub.clone().display_name(name.clone()).bin_name(name),
            ));
        }
        let update = std::env::var_os("UPDATE_MAN").is_some();
        for (name, command) in pages {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page).unwrap();
            let path = dir.join(format!("{name}.1"));
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &page).unwrap();
            }
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == page,
                "{} is stale: run `UPDATE_MAN=1 cargo test --lib man_pages`",
                path.display()
            );
        }
    }
}
