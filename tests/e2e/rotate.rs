//! `rotate` against moto's IAM, checked with the AWS CLI: one key left, the stored one,
//! and the next call asks for one new code.

use crate::rig::Rig;
use crate::support::*;
use crate::tools::*;

/// The config, with alice's moto key stored for `mfa`.
fn alice_configured(rig: &Rig) -> IamUser {
    let alice = iam_user_alice(rig, &[]);
    rig.write_config(CONFIG);
    let out = run(rig
        .command("aws-mfa-proc")
        .args(["add", "mfa", "--from-env"])
        .env("AWS_ACCESS_KEY_ID", &alice.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &alice.secret_access_key));
    assert!(out.status.success(), "{}", text(&out.stderr));
    alice
}

fn stored_key(rig: &Rig) -> String {
    let status = text(&detached(rig, "aws-mfa-proc", &["status", "mfa"]).stdout);
    let at = status.find("(keys ").expect(&status) + 6;
    status[at..].split_whitespace().next().unwrap().to_string()
}

#[test]
fn after_rotate_iam_lists_one_key_the_stored_one_and_the_next_call_asks_one_new_code() {
    let rig = Rig::new();
    let alice = alice_configured(&rig);
    production_at_the_terminal(&rig, "123456");

    let out = detached(&rig, "aws-mfa-proc", &["rotate", "mfa"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains(&alice.access_key_id), "{said}");

    let keys = access_keys_of_alice(&rig);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_ne!(keys[0], alice.access_key_id);
    assert_eq!(stored_key(&rig), keys[0], "IAM's one key is the stored one");

    rig.moto_start_recording();
    production_at_the_terminal(&rig, "654321");
    let recorded = rig.moto_recorded_requests();
    forget_moto_recording(&rig);
    let sessions: Vec<&str> = recorded
        .lines()
        .filter(|l| l.contains("Action=GetSessionToken&"))
        .collect();
    assert_eq!(sessions.len(), 1, "{recorded}");
    assert!(
        sessions[0].contains(&format!("key={} ", keys[0])),
        "signed with the new key: {}",
        sessions[0]
    );
}

#[test]
fn a_user_who_already_has_two_keys_is_told_the_other_key_and_nothing_changes() {
    let rig = Rig::new();
    let alice = alice_configured(&rig);
    let other = admin(&rig, &["iam", "create-access-key", "--user-name", "alice"]);
    let other = other["AccessKey"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();

    let mut pty = rig.pty("aws-mfa-proc", &["rotate", "mfa"]);
    pty.expect(PROMPT);
    pty.send_line("123456");
    let (status, screen) = pty.wait();
    assert_eq!(status.code(), Some(1), "{screen}");
    assert!(
        screen.contains(&other) && screen.contains("delete-access-key"),
        "{screen}"
    );

    let mut keys = access_keys_of_alice(&rig);
    keys.sort();
    let mut expected = vec![alice.access_key_id.clone(), other];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(stored_key(&rig), alice.access_key_id);
}
