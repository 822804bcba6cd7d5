//! Every file in config-examples/ loads, and every helper profile in it is valid.

use crate::rig::Rig;
use crate::support::*;

#[test]
fn every_config_example_loads() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config-examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "ini") {
            continue;
        }
        let rig = Rig::without_keychain();
        let mut cmd = rig.command("aws-mfa-proc");
        cmd.arg("status").env("AWS_CONFIG_FILE", &path);
        let credentials = path.with_extension("credentials");
        if credentials.exists() {
            cmd.env("AWS_SHARED_CREDENTIALS_FILE", &credentials);
        }
        let out = run(&mut cmd);
        let stdout = text(&out.stdout);
        // 1 only because this rig has no keychain (keys cannot be found there).
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        // The `mfa` profile is listed, with where its keys come from.
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with("mfa: ") && line.contains("keys in")),
            "{}: {stdout}",
            path.display()
        );
        assert!(
            !stdout.contains("misconfigured") && !stdout.contains("WARNING"),
            "{}: {stdout}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} examples found");
}
