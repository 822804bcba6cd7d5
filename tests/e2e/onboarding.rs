//! The first ten minutes and the way back to health: `setup` from nothing against
//! moto's IAM, `import` of the plaintext layout people migrate from, `doctor` on a broken
//! and on a working setup, shell completions.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::rig::Rig;
use crate::support::*;
use crate::tools::*;

/// A config that was there before setup: setup must keep every byte of it.
const EARLIER_CONFIG: &str =
    "# mine\n[default]\nregion = eu-west-1\noutput = json\n\n[profile other]\nregion = us-east-1";

pub(crate) fn backups_of(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    let mut found: Vec<PathBuf> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{name}.aws-mfa-proc-backup-"))
        })
        .collect();
    found.sort();
    found
}

pub(crate) fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn setup_lists_the_users_mfa_devices_appends_the_profile_and_logs_in() {
    let rig = Rig::new();
    let alice = iam_user_alice(&rig, &["alice-phone", "alice-laptop"]);
    rig.write_config(EARLIER_CONFIG);

    let mut pty = rig.pty("aws-mfa-proc", &["setup"]);
    pty.expect("Profile name [mfa]: ");
    pty.send_line("other");
    pty.expect("already exists");
    pty.expect("Profile name [mfa]: ");
    pty.send_line("");
    pty.expect("Access key ID of your IAM user");
    pty.send_line(&alice.access_key_id);
    pty.expect("Secret access key (hidden): ");
    pty.send_line(&alice.secret_access_key);
    pty.expect("Region [eu-west-1]: ");
    pty.send_line("");
    pty.expect("user/alice");
    pty.expect("MFA device [1-2]: ");
    pty.send_line("2");
    pty.expect(PROMPT);
    let (laptop, seed) = &alice.devices[1];
    pty.send_line(&totp(seed, "now"));
    pty.expect("Logged in: ");
    let (status, screen) = pty.wait();
    eprintln!("--- setup transcript ---\n{screen}\n---");
    assert!(status.success(), "{screen}");
    assert!(
        !screen.contains(&alice.secret_access_key),
        "the secret was echoed"
    );

    let config = std::fs::read_to_string(rig.config_path()).unwrap();
    let front = Path::new(env!("CARGO_BIN_EXE_aws-mfa-proc"));
    assert_eq!(
        config,
        format!(
            "{EARLIER_CONFIG}\n\n[profile mfa]\ncredential_process = {} --profile mfa\nmfa_serial = {laptop}\nregion = eu-west-1\n",
            front.display()
        ),
        "the earlier config is kept byte for byte and the new profile appended"
    );
    let backups = backups_of(&rig.config_path());
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(
        std::fs::read_to_string(&backups[0]).unwrap(),
        EARLIER_CONFIG
    );
    assert_eq!(mode(&backups[0]), 0o600);

    // The session it made serves the CLI from an IDE-like process: no prompt.
    let out = detached(
        &rig,
        "aws",
        &["sts", "get-caller-identity", "--profile", "mfa"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stored = detached(&rig, "aws-mfa-proc", &["status", "mfa"]);
    assert!(
        text(&stored.stdout).contains(&format!("keys {} stored", alice.access_key_id)),
        "{}",
        text(&stored.stdout)
    );
}

#[test]
fn setup_interrupted_at_the_code_says_what_it_saved_and_login_finishes() {
    let rig = Rig::new();
    let alice = iam_user_alice(&rig, &["alice-phone"]);
    let mut pty = rig.pty("aws-mfa-proc", &["setup"]);
    for (question, answer) in [
        ("Profile name [mfa]: ", ""),
        ("Access key ID", alice.access_key_id.as_str()),
        (
            "Secret access key (hidden): ",
            alice.secret_access_key.as_str(),
        ),
        ("Region [eu-west-1]: ", ""),
    ] {
        pty.expect(question);
        pty.send_line(answer);
    }
    pty.expect(PROMPT);
    pty.send(b"\x03");
    let (status, screen) = pty.wait();
    assert_eq!(status.code(), Some(130), "{screen}");
    assert!(
        screen.contains("the keys are stored and [profile mfa] is in")
            && screen.contains("`aws-mfa-proc login mfa`"),
        "{screen}"
    );
    login(&rig, "123456");
}

/// The layout of the old rotation script: long-term keys in `[default]`, the MFA
/// session it wrote in `[mfa]`, in plaintext.
const SCRIPT_CREDENTIALS: &str = "\
# written by hand, then by the rotation script
[default]
aws_access_key_id = AKIATESTLONGTERM0001
aws_secret_access_key = longtermSecretXy7Kq2Vb9Lm4Np6Rt8
region = eu-west-1

[mfa]
output = json
region = eu-west-1
aws_access_key_id = ASIAOLDSCRIPTSESSION
aws_secret_access_key = oldScriptSessionSecretQw3Er5Ty7
aws_session_token = oldScriptSessionTokenZx1Cv3Bn5Mm7
";

const SCRIPT_CONFIG: &str = "\
[default]
region = eu-west-1
output = json

[profile mfa]
credential_process = aws-mfa-proc --profile mfa --source-profile default
mfa_serial = arn:aws:iam::111111111111:mfa/alice
region = eu-west-1

[profile production]
role_arn = arn:aws:iam::222222222222:role/Role-Name-To-Assume
source_profile = mfa
region = eu-west-1
";

#[test]
fn import_moves_the_keys_into_the_keychain_and_removes_exactly_their_lines() {
    let rig = Rig::new();
    rig.write_credentials(SCRIPT_CREDENTIALS);
    rig.write_config(SCRIPT_CONFIG);

    let mut pty = rig.pty("aws-mfa-proc", &["import", "--from-profile", "default"]);
    pty.expect("holds session keys in plaintext");
    pty.expect("Delete the section? [y/N] ");
    pty.send_line("y");
    let (status, screen) = pty.wait();
    eprintln!("--- import transcript ---\n{screen}\n---");
    assert!(status.success(), "{screen}");

    let credentials = std::fs::read_to_string(rig.credentials_path()).unwrap();
    let expected = SCRIPT_CREDENTIALS
        .replace("aws_access_key_id = AKIATESTLONGTERM0001\n", "")
        .replace(
            "aws_secret_access_key = longtermSecretXy7Kq2Vb9Lm4Np6Rt8\n",
            "",
        );
    let expected = &expected[..expected.find("[mfa]").unwrap()];
    assert_eq!(credentials, expected, "every other byte stays");
    assert_eq!(
        std::fs::read_to_string(rig.config_path()).unwrap(),
        SCRIPT_CONFIG.replace(" --source-profile default", ""),
        "the helper reads the keys from the keychain now"
    );
    let backups = backups_of(&rig.credentials_path());
    assert!(!backups.is_empty());
    for backup in &backups {
        assert_eq!(mode(backup), 0o600, "{}", backup.display());
        assert!(
            screen.contains(backup.to_str().unwrap()),
            "the backup is named: {screen}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&backups[0]).unwrap(),
        SCRIPT_CREDENTIALS
    );

    // The role chains from the keychain's keys: one code, and it works.
    production_at_the_terminal(&rig, "123456");

    // As the import told the person: the backups still hold the keys; delete them.
    for backup in backups_of(&rig.credentials_path()) {
        std::fs::remove_file(backup).unwrap();
    }
}

/// Everything the issue lists as a broken layout, at once.
const BROKEN_CONFIG: &str = "\
[mfa]
region = eu-west-1

[profile mfa]
credential_process = aws-mfa-proc
mfa_serial = arn:aws:iam::111111111111:mfa/alice
source_profile = default

[profile production]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = mfa
mfa_serial = arn:aws:iam::111111111111:mfa/alice
duration_seconds = 7200

[profile other]
credential_process = aws-mfa-proc
mfa_serial = arn:aws:iam::111111111111:mfa/alice
aws_access_key_id = AKIAEXAMPLEKEY000001
";

const LEFTOVER_SESSION: &str = "\
[legacy]
aws_access_key_id = ASIAOLDSCRIPTSESSION
aws_secret_access_key = oldScriptSessionSecretQw3Er5Ty7
aws_session_token = oldScriptSessionTokenZx1Cv3Bn5Mm7
";

#[test]
fn doctor_on_a_broken_config_fails_one_line_per_problem_each_with_its_fix() {
    let rig = Rig::new();
    rig.write_config(BROKEN_CONFIG);
    rig.write_credentials(LEFTOVER_SESSION);

    let out = detached(&rig, "aws-mfa-proc", &["doctor"]);
    let report = text(&out.stdout);
    eprintln!("--- doctor on a broken config ---\n{report}---");
    assert_eq!(out.status.code(), Some(1), "{report}{}", text(&out.stderr));
    let failed: Vec<&str> = report.lines().filter(|l| l.starts_with("✗ ")).collect();
    // (what the line is about, what it must say)
    let expected: &[(&str, &str)] = &[
        ("layout `mfa`", "write [profile mfa]"),
        ("layout", "run a bare `aws-mfa-proc`"),
        (
            "layout `mfa`",
            "`source_profile` sits beside credential_process",
        ),
        ("layout `other`", "`aws_access_key_id` for this profile"),
        ("layout `legacy`", "holds session keys in plaintext"),
        ("layout `production`", "ask for a second code"),
        ("layout `production`", "`duration_seconds = 7200`"),
    ];
    for (about, says) in expected {
        assert!(
            failed
                .iter()
                .any(|l| l.starts_with(&format!("✗ {about}: ")) && l.contains(says)),
            "no ✗ {about}: …{says}… in\n{report}"
        );
    }
    assert_no_secret("doctor's report", &report);

    let json = detached(&rig, "aws-mfa-proc", &["doctor", "--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(
        checks.iter().filter(|c| c["status"] == "fail").count(),
        failed.len(),
        "the JSON holds the same checks"
    );
}

#[test]
fn doctor_passes_on_a_working_setup_at_a_terminal() {
    let rig = Rig::new();
    configured(&rig);
    let front = env!("CARGO_BIN_EXE_aws-mfa-proc");
    rig.write_config(&CONFIG.replace(
        "credential_process = aws-mfa-proc",
        &format!("credential_process = {front}"),
    ));

    let (status, screen) = rig.pty("aws-mfa-proc", &["doctor"]).wait();
    eprintln!("--- doctor on a working setup ---\n{screen}---");
    assert!(status.success(), "{screen}");
    for check in [
        "config",
        "keychain",
        "profile `mfa`",
        "keys `mfa`",
        "clock",
        "prompt",
        "binaries",
    ] {
        assert!(
            screen.contains(&format!("✓ {check}: ")),
            "no ✓ {check} in\n{screen}"
        );
    }
    assert!(!screen.contains("✗"), "{screen}");

    // From an IDE (no terminal, no display) nothing could ask, but a cached session
    // serves until it expires: advice, not a failure.
    login(&rig, "123456");
    let out = detached(&rig, "aws-mfa-proc", &["doctor"]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("! prompt: the session lasts until "),
        "{report}"
    );
}

#[test]
fn completions_are_generated_for_every_shell_and_bash_parses_its_own() {
    let rig = Rig::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = detached(&rig, "aws-mfa-proc", &["completions", shell]);
        let script = text(&out.stdout);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        // The scripts ask the full program (dynamic completion; what it offers is
        // checked shell by shell in package.rs).
        assert!(
            script.contains("_AWS_MFA_PROC_COMPLETE") && script.contains("aws-mfa-proc-full"),
            "{shell} completions do not ask the full program:\n{script}"
        );
        if shell == "bash" {
            // A reader that stops early is no crash.
            let early = run(rig.command("bash").args([
                "-c",
                "aws-mfa-proc completions bash | head -c 10 >/dev/null",
            ]));
            assert!(
                !text(&early.stderr).contains("panicked"),
                "{}",
                text(&early.stderr)
            );
            let file = rig.dir().join("completions.bash");
            std::fs::write(&file, &script).unwrap();
            let parsed = run(rig.command("bash").arg("-n").arg(&file));
            assert!(parsed.status.success(), "{}", text(&parsed.stderr));
        }
    }
}
