#![no_main]
//! See aws_mfa_proc::fuzzing::edit for the property this target checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aws_mfa_proc::fuzzing::edit(data));
