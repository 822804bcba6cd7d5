//! `aws-mfa-proc`: the front door (see `front`). A fresh cached copy is printed here;
//! everything else is handed to `aws-mfa-proc-full`.

use std::process::ExitCode;

use aws_mfa_proc::config::ProcessEnv;
use aws_mfa_proc::front;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    if front::serve(&args, &ProcessEnv) {
        return ExitCode::SUCCESS;
    }
    front::hand_over(&args)
}
