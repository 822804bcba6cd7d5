//! The cached path as users run it: the SDKs run `aws-mfa-proc`, whose front door serves
//! a fresh cached copy by itself; everything else goes to `aws-mfa-proc-full`. Each test
//! runs a copy of the front door from a directory that lacks `aws-mfa-proc-full`, so a
//! success there can only have come from the front door.

use crate::rig::{Rig, Run};
use crate::support::*;

/// The config with the helper profile's credential_process pointing at `program`.
fn config_running(program: &std::path::Path) -> String {
    CONFIG.replace(
        "credential_process = aws-mfa-proc --profile mfa",
        &format!("credential_process = {} --profile mfa", program.display()),
    )
}

#[test]
fn after_login_a_cache_hit_is_served_by_the_front_door_alone_and_a_miss_is_handed_over() {
    if !kernel_keyring_usable() {
        return skip("the front door serves from the kernel keyring, which is not usable here");
    }
    let (rig, sts) = with_standin();
    let front = front_door_alone(&rig);
    login(&rig, "123456");

    let hit = Run::from(detached(
        &rig,
        front.to_str().unwrap(),
        &["--profile", "mfa"],
    ));
    assert!(hit.status.success(), "{}", hit.stderr);
    assert!(hit.stderr.is_empty(), "{}", hit.stderr);
    assert_standin_session(&hit.stdout);

    let logout = detached(&rig, "aws-mfa-proc", &["logout", "--profile", "mfa"]);
    assert!(logout.status.success(), "{}", text(&logout.stderr));
    let miss = Run::from(detached(
        &rig,
        front.to_str().unwrap(),
        &["--profile", "mfa"],
    ));
    assert_eq!(miss.status.code(), Some(1), "{}", miss.stderr);
    assert!(miss.stdout.is_empty(), "{}", miss.stdout);
    let message = the_message(&miss.stderr);
    assert!(
        message.contains("cannot run") && message.contains("aws-mfa-proc-full"),
        "{message}"
    );
    assert_eq!(sts.codes(), ["123456"]);
}

#[test]
fn the_aws_cli_chains_a_role_from_the_front_door_alone_after_login() {
    if !kernel_keyring_usable() {
        return skip("the front door serves from the kernel keyring, which is not usable here");
    }
    let rig = Rig::new();
    configured(&rig);
    let front = front_door_alone(&rig);
    rig.write_config(&config_running(&front));
    // Logging in goes through the normal installation (front door and full program).
    login(&rig, "123456");

    for _ in 0..2 {
        let out = detached(
            &rig,
            "aws",
            &["sts", "get-caller-identity", "--profile", "production"],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("assumed-role/Role-Name-To-Assume"),
            "{}",
            text(&out.stdout)
        );
    }
}

#[test]
fn a_bare_credential_process_line_is_served_by_the_front_door_alone() {
    if !kernel_keyring_usable() {
        return skip("the front door serves from the kernel keyring, which is not usable here");
    }
    let rig = Rig::new();
    configured(&rig);
    let front = front_door_alone(&rig);
    // The line people are told to write: no --profile. (A quoted absolute path, so the
    // SDKs run this copy; the front door finds its profile by scanning the config.)
    rig.write_config(&CONFIG.replace(
        "credential_process = aws-mfa-proc --profile mfa",
        &format!("credential_process = \"{}\"", front.display()),
    ));
    login(&rig, "123456");

    let cli = detached(
        &rig,
        "aws",
        &["sts", "get-caller-identity", "--profile", "production"],
    );
    assert!(cli.status.success(), "{}", text(&cli.stderr));
    assert!(
        text(&cli.stdout).contains("assumed-role/Role-Name-To-Assume"),
        "{}",
        text(&cli.stdout)
    );
    let bare = Run::from(detached(&rig, front.to_str().unwrap(), &[]));
    assert!(bare.status.success(), "{}", bare.stderr);
    assert!(bare.stderr.is_empty(), "{}", bare.stderr);
    let doc: serde_json::Value = serde_json::from_str(&bare.stdout).unwrap();
    assert_eq!(doc["SecretAccessKey"], MOTO_SESSION_SECRET);
}
