//! `aws-mfa-proc-full`: everything the front door does not serve itself.
fn main() -> std::process::ExitCode {
    aws_mfa_proc::full()
}
