//! What a new user meets on the first run: the listing of every profile that works
//! through aws-mfa-proc, role profiles included.

use crate::rig::Rig;
use crate::support::*;

#[test]
fn status_shows_each_role_profile_with_the_state_of_the_session_it_chains_from() {
    let rig = Rig::new();
    configured(&rig);
    let status = |args: &[&str]| {
        let out = run(rig.command("aws-mfa-proc").arg("status").args(args));
        text(&out.stdout)
    };
    let before = status(&[]);
    assert!(
        before.contains("production: role arn:aws:iam::222222222222:role/Role-Name-To-Assume via the MFA session of `mfa`; the role is assumed by the SDK; MFA session (keys AKIATESTLONGTERM0001 stored): nothing cached"),
        "{before}"
    );
    login(&rig, "123456");
    for listing in [status(&[]), status(&["production"])] {
        let role = listing
            .lines()
            .find(|l| l.starts_with("production: "))
            .unwrap_or_else(|| panic!("no line for production:\n{listing}"));
        assert!(
            role.contains("MFA session (keys AKIATESTLONGTERM0001 stored): cached until"),
            "{role}"
        );
    }
    assert!(status(&[]).lines().any(|l| l.starts_with("mfa: ")));
}

#[test]
fn setup_without_a_session_bus_says_where_the_keys_would_go_and_asks_before_the_kernel_keyring() {
    if !kernel_keyring_usable() {
        return skip("the kernel keyring is not usable here");
    }
    let rig = Rig::without_keychain();
    let mut pty = rig.pty_captured("aws-mfa-proc", &["setup"]);
    pty.expect("The keys will be stored in the kernel keyring");
    pty.expect("Store them there anyway? [y/N] ");
    pty.send_line("");
    let (run, screen) = pty.wait_captured();
    assert_eq!(run.status.code(), Some(1), "{screen}\n{}", run.stderr);
    assert!(
        !screen.contains("Access key ID"),
        "it asked for keys first:\n{screen}"
    );
    let message = the_message(&run.stderr);
    assert!(
        message.contains("nothing was stored") && message.contains("Headless Linux"),
        "{message}"
    );
}

#[test]
fn keys_kept_in_the_secret_service_are_named_when_a_shell_without_its_bus_asks_for_them() {
    if !kernel_keyring_usable() {
        return skip("the kernel keyring is not usable here");
    }
    let mut rig = Rig::new();
    // A name of its own: the kernel keyring, where the call falls back, is shared by
    // every test of this user.
    let name = format!("elsewhere{}", std::process::id());
    rig.write_config(&CONFIG.replace("profile mfa]", &format!("profile {name}]")));
    let add = run(rig
        .command("aws-mfa-proc")
        .args(["add", &name, "--from-env"])
        .env("AWS_ACCESS_KEY_ID", LONG_TERM_ID)
        .env("AWS_SECRET_ACCESS_KEY", LONG_TERM_SECRET));
    assert!(add.status.success(), "{}", text(&add.stderr));

    // A shell without the session's D-Bus (an SSH login, a cron job).
    rig.set_env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let started = std::time::Instant::now();
    let out = crate::rig::Run::from(detached(&rig, "aws-mfa-proc", &["--profile", &name]));
    assert_failed_before_the_sts_deadline("a call without the bus", started.elapsed());
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let message = the_message(&out.stderr);
    for needle in [
        "were stored in the Secret Service",
        ".local/state/aws-mfa-proc/keychains",
        "DBUS_SESSION_BUS_ADDRESS",
    ] {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
    let status = run(rig.command("aws-mfa-proc").args(["status", &name]));
    assert!(
        text(&status.stdout).contains("they were stored in the Secret Service"),
        "{}",
        text(&status.stdout)
    );
}
