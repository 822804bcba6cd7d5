#![no_main]
//! See aws_mfa_proc::fuzzing::front_arguments for the property this target checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aws_mfa_proc::fuzzing::front_arguments(data));
