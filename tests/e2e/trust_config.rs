//! What a config may make the tool serve (audit #17): a bare `credential_process =
//! aws-mfa-proc` serves only when one profile can have asked, as every client counts
//! profiles (item 4); a profile written twice in one file is refused, naming both lines,
//! instead of resolving differently from run to run (item 10).
//!
//! Each test logs `mfa` in first, so a session is cached: before the fixes, the cached
//! path served it.

use crate::rig::Run;
use crate::support::*;

/// The helper profile run bare, and two more bare sections that botocore (the AWS CLI,
/// boto3) reads and the Rust SDK skips.
const BARE_WITH_SKIPPED: &str = "\
[profile mfa]
credential_process = aws-mfa-proc
mfa_serial = arn:aws:iam::111111111111:mfa/alice
region = eu-west-1

[profile dev!]
credential_process = aws-mfa-proc
region = eu-west-1

[profile \"dev sandbox\"]
credential_process = aws-mfa-proc
region = eu-west-1
";

/// boto3 (botocore, as the AWS CLI) asks for a profile's credentials and prints the
/// access key ID it got.
const BOTO3_KEY: &str = "\
import sys, boto3
print(boto3.Session(profile_name=sys.argv[1]).get_credentials().get_frozen_credentials().access_key)
";

#[test]
fn boto3_asking_for_a_profile_the_sdk_skips_never_gets_another_profiles_session() {
    let (rig, _sts) = with_standin();
    rig.write_config(BARE_WITH_SKIPPED);
    login(&rig, "123456");
    let served = Run::from(detached(&rig, "aws-mfa-proc", &["--profile", "mfa"]));
    assert!(served.status.success(), "{}", served.stderr);
    assert_standin_session(&served.stdout);

    let script = rig.dir().join("boto3_key.py");
    std::fs::write(&script, BOTO3_KEY).unwrap();
    let python = rig.python();
    for profile in ["dev sandbox", "dev!"] {
        let boto3 = Run::from(detached(
            &rig,
            python.to_str().unwrap(),
            &[script.to_str().unwrap(), profile],
        ));
        assert!(
            !boto3.status.success() && boto3.stdout.trim().is_empty(),
            "boto3 got credentials for `{profile}`: {}",
            boto3.stdout
        );
        assert!(
            boto3.stderr.contains("several profiles run aws-mfa-proc"),
            "{}",
            boto3.stderr
        );
        assert_no_secret("boto3's stderr", &boto3.stderr);
    }
    // status and doctor name both sections the Rust SDK skips.
    for command in ["status", "doctor"] {
        let report = Run::from(detached(&rig, "aws-mfa-proc", &[command]));
        assert_eq!(
            report.status.code(),
            Some(1),
            "{command}: {}",
            report.stdout
        );
        for section in ["[profile dev!]", "[profile \"dev sandbox\"]"] {
            assert!(
                report
                    .stdout
                    .lines()
                    .any(|l| l.contains(section) && l.contains("Rust SDK skips it")),
                "{command} should name {section}:\n{}",
                report.stdout
            );
        }
    }
}

#[test]
fn a_profile_pasted_twice_is_refused_by_every_command_naming_both_lines() {
    let (rig, _sts) = with_standin();
    login(&rig, "123456");
    // The pasted block differs from the first only in spacing, as an edited copy might.
    let config =
        format!("{CONFIG}\n[profile  mfa]\nmfa_serial = arn:aws:iam::111111111111:mfa/mallory\n");
    rig.write_config(&config);
    let second = config.lines().position(|l| l == "[profile  mfa]").unwrap() + 1;
    let path = rig.config_path().display().to_string();
    let both = format!("{path}:1 and {path}:{second}");

    for args in [&["--profile", "mfa"][..], &[], &["env", "--profile", "mfa"]] {
        let run = Run::from(detached(&rig, "aws-mfa-proc", args));
        assert_eq!(run.status.code(), Some(1), "{args:?}: {}", run.stdout);
        assert!(run.stdout.is_empty(), "{args:?} served: {}", run.stdout);
        assert!(
            the_message(&run.stderr).contains(&both),
            "{args:?}: {}",
            run.stderr
        );
        assert_no_secret("stderr", &run.stderr);
    }
    for command in ["status", "doctor"] {
        let report = Run::from(detached(&rig, "aws-mfa-proc", &[command]));
        assert_eq!(
            report.status.code(),
            Some(1),
            "{command}: {}",
            report.stdout
        );
        let said = format!("{}{}", report.stdout, report.stderr);
        assert!(said.contains(&both), "{command}: {said}");
    }
    // A profile in both the config and the credentials file is legitimate.
    rig.write_config(CONFIG);
    rig.write_credentials("[mfa]\nregion = eu-west-1\n");
    let served = Run::from(detached(&rig, "aws-mfa-proc", &["--profile", "mfa"]));
    assert!(served.status.success(), "{}", served.stderr);
    assert_standin_session(&served.stdout);
}
