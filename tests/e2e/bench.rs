//! The benchmark script still runs: one iteration of each measurement, no thresholds.

use crate::support::text;

#[test]
fn the_cached_path_benchmark_runs_and_prints_its_table() {
    let root = env!("CARGO_MANIFEST_DIR");
    // `timeout` is the hang guard: the script starts daemons and runs the AWS CLI.
    let out = std::process::Command::new("timeout")
        .args(["300", "bash", &format!("{root}/bench/cached-path.sh")])
        .env("RUNS", "1")
        .env("CLI_RUNS", "1")
        .env("SHAPE_RUNS", "1")
        .env("SHAPE_SIZES", "5000")
        .env("AWS_MFA_PROC_BIN", env!("CARGO_BIN_EXE_aws-mfa-proc"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for row in [
        "cat of the same JSON",
        "cache hit, --profile, Secret Service",
        "cache hit, bare call",
        "bare: 5,000 profiles minus 1 profile",
        "@u not possessed",
        "AWS CLI overhead",
        "--profile mfa, comments",
        "peak RSS",
    ] {
        assert!(stdout.contains(row), "no `{row}` row in:\n{stdout}");
    }
}
