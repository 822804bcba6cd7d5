//! The keychain misbehaving: a corrupt item is a cache miss, never a crash or output; a
//! locked keychain is an error that says so, never a hang.

use std::time::Instant;

use crate::rig::{Rig, Run};
use crate::support::*;

/// The session item of [`CONFIG`]'s `mfa` profile, as the tool names it.
const SESSION_ITEM: &str = "v1:session:keychain/mfa:arn:aws:iam::111111111111:mfa/alice";

#[test]
fn a_garbage_session_item_asks_for_a_code_and_afterwards_plain_calls_work_again() {
    let (mut rig, sts) = with_standin();
    // No kernel-keyring copy in front (as after a reboot): the keychain item is what
    // every call reads.
    rig.set_env("AWS_MFA_PROC_KERNEL_CACHE", "off");
    login(&rig, "123456");
    // secret-tool adds an attribute of its own (xdg:schema), so this may add a second
    // matching item instead of overwriting: both must read as unusable.
    let store = [
        "store",
        "--label=garbage",
        "service",
        "aws-mfa-proc",
        "username",
        SESSION_ITEM,
    ];
    let stored = rig.secret_tool_input(&store, "amp1 1 0000\n{\"Version\":1,garbage");
    assert!(stored.status.success(), "{}", text(&stored.stderr));

    let (run, _) = answer_prompt_with(&rig, "234567");
    assert!(run.status.success(), "{}", run.stderr);
    let renewed = assert_standin_session(&run.stdout);

    let plain = Run::from(detached(&rig, "aws-mfa-proc", &["--profile", "mfa"]));
    assert!(plain.status.success(), "{}", plain.stderr);
    assert_eq!(assert_standin_session(&plain.stdout), renewed);
    assert_eq!(sts.codes(), ["123456", "234567"]);
}

#[test]
fn a_locked_keychain_fails_at_once_saying_the_secret_service_is_locked() {
    let (rig, sts) = with_standin();
    rig.lock_keychain();

    let started = Instant::now();
    let run = Run::from(detached(&rig, "aws-mfa-proc", &["--profile", "mfa"]));
    assert_failed_before_the_sts_deadline("a call on a locked keychain", started.elapsed());
    assert_failed_with(&run, &["Secret Service"]);
    let message = the_message(&run.stderr);
    assert!(
        message.contains("locked") || message.contains("unlock"),
        "{message:?} should say it is locked"
    );
    assert!(sts.codes().is_empty());
}

#[test]
fn with_no_default_keyring_add_stops_before_asking_and_its_fix_works() {
    let rig = Rig::without_default_collection();
    rig.write_config(CONFIG);
    // At a terminal: the error comes before any question.
    let (refused, screen) = rig
        .pty_captured("aws-mfa-proc", &["add", "mfa"])
        .wait_captured();
    assert!(
        !screen.contains("Access key ID"),
        "it asked first:\n{screen}"
    );
    assert_failed_with(
        &refused,
        &[
            "no default keyring",
            "gnome-keyring-daemon --replace --unlock",
        ],
    );

    // The fix the message gives, with the password where it reads it.
    let fix = "printf '%s' \"$1\" | setsid -f gnome-keyring-daemon --replace --unlock --components=secrets >/dev/null 2>&1";
    let fixed = run(rig
        .command("sh")
        .args(["-c", fix, "sh", rig.keyring_password()]));
    assert!(fixed.status.success(), "{}", text(&fixed.stderr));
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        let add = run(rig
            .command("aws-mfa-proc")
            .args(["add", "mfa", "--from-env"])
            .env("AWS_ACCESS_KEY_ID", LONG_TERM_ID)
            .env("AWS_SECRET_ACCESS_KEY", LONG_TERM_SECRET));
        if add.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still failing: {}",
            text(&add.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn without_any_secret_service_add_says_the_keys_live_in_kernel_memory_until_reboot() {
    if !kernel_keyring_usable() {
        return skip("the kernel keyring is not usable here");
    }
    let rig = Rig::without_keychain();
    // A name of its own: the kernel keyring is shared by every test of this user.
    let name = format!("fallback{}", std::process::id());
    rig.write_config(&CONFIG.replace("profile mfa]", &format!("profile {name}]")));
    let add = run(rig
        .command("aws-mfa-proc")
        .args(["add", &name, "--from-env"])
        .env("AWS_ACCESS_KEY_ID", LONG_TERM_ID)
        .env("AWS_SECRET_ACCESS_KEY", LONG_TERM_SECRET));
    let said = text(&add.stdout);
    assert!(add.status.success(), "{}", text(&add.stderr));
    for needle in [
        "kernel keyring",
        "lost at reboot",
        "Secret Service is unreachable",
    ] {
        assert!(said.contains(needle), "{needle:?} not in {said}");
    }
    let removed = run(rig.command("aws-mfa-proc").args(["remove", &name]));
    assert!(removed.status.success(), "{}", text(&removed.stderr));
}
