//! The command line. Doc comments here are the `--help` text.

use std::ffi::OsString;

use clap::{ArgAction, Parser, Subcommand, ValueEnum};

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
pub struct Cli {
    #[command(flatten)]
    pub select: ProfileArgs,

    /// Diagnostics on stderr; never shows secrets. Also AWS_MFA_PROC_LOG=debug
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store a profile's long-term access keys in the OS keychain
    Add {
        /// The profile that runs aws-mfa-proc (the keys are stored under this name)
        name: String,
        /// Read the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead of the terminal
        #[arg(long)]
        from_env: bool,
    },
    /// Delete a profile's stored long-term keys and its cached session
    Remove {
        /// The name the keys were added under
        name: String,
    },
    /// Ask for an MFA code now and cache a fresh session
    Login {
        #[command(flatten)]
        select: ProfileArgs,
    },
    /// Forget the cached MFA session, and the roles assumed with it
    Logout {
        #[command(flatten)]
        select: ProfileArgs,
    },
    /// List the profiles that run aws-mfa-proc, where their keys are, and their sessions
    Status,
    /// Print the credentials as environment variables, e.g. for direnv:
    /// eval "$(aws-mfa-proc env --profile mfa)"
    Env {
        #[command(flatten)]
        select: ProfileArgs,
        /// Output syntax
        #[arg(long, value_enum, default_value_t = EnvFormat::Sh)]
        format: EnvFormat,
    },
    /// Run a program with the credentials in its environment (for tools that cannot
    /// chain a role from credential_process, e.g. Serverless v3):
    /// aws-mfa-proc exec --profile mfa -- sls info --aws-profile production
    Exec {
        #[command(flatten)]
        select: ProfileArgs,
        /// The program and its arguments
        #[arg(
            trailing_var_arg = true,
            required = true,
            allow_hyphen_values = true,
            value_name = "COMMAND"
        )]
        command: Vec<OsString>,
    },
}

/// Which profile to serve.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ProfileArgs {
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
    pub fn or(self, outer: &ProfileArgs) -> ProfileArgs {
        ProfileArgs {
            profile: self.profile.or_else(|| outer.profile.clone()),
            source_profile: self.source_profile.or_else(|| outer.source_profile.clone()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EnvFormat {
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
