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
        before.contains("production: role arn:aws:iam::222222222222:role/Role-Name-To-Assume via the MFA session of `mfa`; the role is assumed by the SDK; MFA session (keys AKIATESTLONGTERM0001 stored) nothing cached"),
        "{before}"
    );
    login(&rig, "123456");
    for listing in [status(&[]), status(&["production"])] {
        let role = listing
            .lines()
            .find(|l| l.starts_with("production: "))
            .unwrap_or_else(|| panic!("no line for production:\n{listing}"));
        assert!(
            role.contains("MFA session (keys AKIATESTLONGTERM0001 stored) cached until"),
            "{role}"
        );
    }
    assert!(status(&[]).lines().any(|l| l.starts_with("mfa: ")));
}
