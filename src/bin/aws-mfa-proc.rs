//! `aws-mfa-proc`: the front door the SDKs run. It is the crate `aws-mfa-proc-front`
//! (crates/front) alone: it serves a cache hit, and hands anything else to
//! `aws-mfa-proc-full`.
fn main() -> std::process::ExitCode {
    aws_mfa_proc_front::main()
}
