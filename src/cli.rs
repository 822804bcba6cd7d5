//! The command line. Doc comments here are the `--help` text.

use std::ffi::OsString;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// MFA sessions for the AWS CLI and SDKs, cached in the OS keychain.
///
/// Run with no command, it is a credential_process: it prints the cached MFA session of
/// a profile as JSON, or asks for a TOTP code on the terminal when the session has
/// expired. Put it in ~/.aws/config:
///
///   [profile mfa]
///   credential_process = aws-mfa-proc --profile mfa
///   mfa_serial = arn:aws:iam::111111111111:mfa/alice
///   region = eu-west-1
///
///   [profile production]
///   role_arn = arn:aws:iam::222222222222:role/Admin
///   source_profile = mfa
///
/// then store the long-term keys once with `aws-mfa-proc add mfa`.
#[derive(Debug, Parser)]
#[command(name = "aws-mfa-proc", version, verbatim_doc_comment)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub select: ProfileArgs,

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
    /// Delete a profile's stored long-term keys and its cached session
    Remove(RemoveArgs),
    /// Ask for an MFA code now and cache a fresh session
    Login(ProfileArgs),
    /// Forget the cached MFA session, and the roles assumed with it
    Logout(ProfileArgs),
    /// List the profiles that run aws-mfa-proc, where their keys are, and their sessions
    Status,
    /// Print the credentials as environment variables, e.g. for direnv:
    /// eval "$(aws-mfa-proc env --profile mfa)"
    Env(EnvArgs),
    /// Run a program with the credentials in its environment (for tools that cannot
    /// chain a role from credential_process, e.g. Serverless v3):
    /// aws-mfa-proc exec --profile mfa -- sls info --aws-profile production
    Exec(ExecArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The profile that runs aws-mfa-proc (the keys are stored under this name)
    pub name: String,
    /// Read the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead of the terminal
    #[arg(long)]
    pub from_env: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    /// The name the keys were added under
    pub name: String,
}

#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    #[command(flatten)]
    pub select: ProfileArgs,
    /// Output syntax
    #[arg(long, value_enum, default_value_t = EnvFormat::Sh)]
    pub format: EnvFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    #[command(flatten)]
    pub select: ProfileArgs,
    /// The program and its arguments
    #[arg(
        trailing_var_arg = true,
        required = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
}

/// Which profile to serve.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct ProfileArgs {
    /// Profile to serve [default: the only profile whose credential_process runs aws-mfa-proc]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Take the long-term keys from this profile's static keys in ~/.aws/credentials
    /// instead of the keychain
    #[arg(long, value_name = "SRC")]
    pub source_profile: Option<String>,
}

impl ProfileArgs {
    /// These, or where one is missing, `outer`'s (given before the command word).
    pub(crate) fn or(&self, outer: &ProfileArgs) -> ProfileArgs {
        ProfileArgs {
            profile: self.profile.clone().or_else(|| outer.profile.clone()),
            source_profile: self
                .source_profile
                .clone()
                .or_else(|| outer.source_profile.clone()),
        }
    }
}

impl Command {
    /// The profile selection given after the command word, if the command takes one.
    pub(crate) fn select(&self) -> Option<&ProfileArgs> {
        match self {
            Command::Login(s) | Command::Logout(s) => Some(s),
            Command::Env(EnvArgs { select, .. }) | Command::Exec(ExecArgs { select, .. }) => {
                Some(select)
            }
            Command::Add(_) | Command::Remove(_) | Command::Status => None,
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
