//! `aws-mfa-proc`: the front door the SDKs run (see the library's `front` module).
fn main() -> std::process::ExitCode {
    aws_mfa_proc::front_door()
}
