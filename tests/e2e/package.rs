//! What the package installs besides the credential path: the shell completions, asked
//! as bash, zsh and fish ask them (`_AWS_MFA_PROC_COMPLETE=SHELL aws-mfa-proc-full --
//! WORDS…`, the line the scripts in completions/ run). The installed package itself is
//! checked by scripts/test-package.sh.

use std::path::Path;
use std::process::Command;

const CONFIG: &str = "[default]\nregion = eu-west-1\n\n[profile mfa]\ncredential_process = aws-mfa-proc --profile mfa\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\nmfa_process = echo VALUE-NEVER-OFFERED\n\n[profile production]\nrole_arn = arn:aws:iam::222222222222:role/Admin\nsource_profile = mfa\n\n[sso-session corp]\nsso_region = eu-west-1\n";
const CREDENTIALS: &str = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = SECRET-NEVER-OFFERED\n\n[old-script]\naws_session_token = TOKEN-NEVER-OFFERED\n";

/// What `shell` is offered for the command line `words` (the last one being typed),
/// one candidate a line, with a temporary HOME holding CONFIG and CREDENTIALS.
fn offered(program: &str, shell: &str, words: &[&str]) -> Vec<String> {
    let home = tempfile::tempdir().unwrap();
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(aws.join("config"), CONFIG).unwrap();
    std::fs::write(aws.join("credentials"), CREDENTIALS).unwrap();
    let output = Command::new(program)
        .arg("--")
        .args(words)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .env("_AWS_MFA_PROC_COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{words:?}: {stderr}");
    for value in ["NEVER-OFFERED", "AKIA", "arn:"] {
        assert!(
            !stdout.contains(value) && !stderr.contains(value),
            "{shell} {words:?} offered a value: {stdout}{stderr}"
        );
    }
    // fish: `value\tdescription`, zsh: `value:description`.
    stdout
        .lines()
        .map(|line| line.split(['\t', ':']).next().unwrap().to_string())
        .collect()
}

fn full() -> &'static str {
    env!("CARGO_BIN_EXE_aws-mfa-proc-full")
}

#[test]
fn every_command_that_takes_a_profile_completes_the_configs_profile_names() {
    let commands = [
        "login", "logout", "status", "exec", "env", "console", "rotate", "add", "remove", "doctor",
        "import",
    ];
    for command in commands {
        for words in [
            &["aws-mfa-proc", command, ""][..],
            &["aws-mfa-proc", command, "--profile", ""],
            &["aws-mfa-proc", "--profile", ""],
        ] {
            let offered = offered(full(), "bash", words);
            for name in ["default", "mfa", "production"] {
                assert!(
                    offered.contains(&name.to_string()),
                    "{words:?}: {offered:?}"
                );
            }
            assert!(
                !offered.contains(&"corp".to_string()),
                "{words:?}: {offered:?}"
            );
        }
    }
}

#[test]
fn a_started_name_is_completed_and_commands_are_too() {
    assert_eq!(
        offered(full(), "bash", &["aws-mfa-proc", "login", "pro"]),
        ["production"]
    );
    assert_eq!(
        offered(full(), "bash", &["aws-mfa-proc", "lo"]),
        ["login", "logout"]
    );
}

#[test]
fn the_source_of_static_keys_completes_the_credentials_files_profiles() {
    for words in [
        &["aws-mfa-proc", "login", "--source-profile", ""][..],
        &["aws-mfa-proc", "--source-profile", ""],
        &["aws-mfa-proc", "import", "--from-profile", ""],
    ] {
        assert_eq!(
            offered(full(), "bash", words),
            ["default", "old-script"],
            "{words:?}"
        );
    }
}

#[test]
fn zsh_and_fish_are_offered_the_same_names() {
    for shell in ["zsh", "fish"] {
        let offered = offered(full(), shell, &["aws-mfa-proc", "logout", ""]);
        for name in ["default", "mfa", "production"] {
            assert!(offered.contains(&name.to_string()), "{shell}: {offered:?}");
        }
    }
}

#[test]
fn a_completion_request_at_the_front_door_goes_to_the_full_program() {
    // The scripts ask aws-mfa-proc-full; one typed by hand at aws-mfa-proc is handed over.
    let front = env!("CARGO_BIN_EXE_aws-mfa-proc");
    assert!(Path::new(front).is_file());
    assert_eq!(
        offered(front, "bash", &["aws-mfa-proc", "exec", "m"]),
        ["mfa"]
    );
}
