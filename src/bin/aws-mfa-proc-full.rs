//! `aws-mfa-proc-full`: parse, run, report; everything else is in the library. The
//! `aws-mfa-proc` front door hands over to this binary whenever it cannot answer.

use std::process::ExitCode;

use clap::Parser;

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = aws_mfa_proc::cli::Cli::parse();
    match aws_mfa_proc::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("aws-mfa-proc: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
