//! Trust, round three (issue 17): the kernel copies belong to a keychain, not to the
//! address it was reached at, and a full kernel quota is never silent.

use std::process::Command;

use crate::rig::{Rig, Run};
use crate::standin;
use crate::support::*;
use crate::tools::*;

/// Issue 17, item 3. One keychain, two D-Bus addresses (here: the rig's socket and a
/// symlink to it; the issue used a second bus on the same keyring files): a call at the
/// second address finds the copies the first made, and `logout` there revokes them
/// all, so the front door at the first address serves nothing.
#[test]
fn logout_at_another_d_bus_address_of_the_same_keychain_revokes_every_kernel_copy() {
    if !kernel_keyring_usable() {
        return skip("the kernel keyring is not usable here");
    }
    let rig = Rig::new();
    configured_with_built_in_role(&rig);
    let bus_a = rig
        .env()
        .into_iter()
        .find(|(k, _)| k == "DBUS_SESSION_BUS_ADDRESS")
        .unwrap()
        .1;
    let socket = bus_a
        .strip_prefix("unix:path=")
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("not a socket path: {bus_a}"))
        .to_owned();
    let link = rig.dir().join("bus-b");
    std::os::unix::fs::symlink(&socket, &link).unwrap();
    let bus_b = format!("unix:path={}", link.display());

    login(&rig, "123456");
    let role = detached(&rig, "aws-mfa-proc", &["--profile", "production"]);
    assert!(role.status.success(), "{}", text(&role.stderr));
    let names = || -> Vec<String> { rig.kernel_copies().into_iter().map(|(_, d)| d).collect() };
    let made = names();
    assert_eq!(made.len(), 2, "the session and the role: {made:?}");

    // The front door, alone, at either address, with no keychain connection.
    let front = front_door_alone(&rig);
    let front_door_at = |bus: &str, profile: &str| {
        let mut command = rig.command(front.to_str().unwrap());
        command
            .args(["--profile", profile])
            .env("DBUS_SESSION_BUS_ADDRESS", bus);
        Run::from(run(&mut command))
    };
    let at_bus_b = |args: &[&str]| {
        let mut command = rig.command("setsid");
        command
            .arg("aws-mfa-proc")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus_b);
        run(&mut command)
    };
    let at_b = at_bus_b(&["--profile", "production"]);
    assert!(at_b.status.success(), "{}", text(&at_b.stderr));
    assert_eq!(
        names(),
        made,
        "the same keychain at another address has the same copies"
    );
    assert!(front_door_at(&bus_b, "production").status.success());

    let out = at_bus_b(&["logout", "--profile", "mfa"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Forgot"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(names(), Vec::<String>::new(), "logout at bus B left copies");
    for profile in ["mfa", "production"] {
        let served = front_door_at(&bus_a, profile);
        assert!(
            !served.status.success() && served.stdout.is_empty(),
            "the front door at bus A still serves `{profile}`: {}",
            served.stdout
        );
    }
}

/// Issue 17, item 9. The keyutils backend with the per-user quota full (a `useradd`
/// user's is 20,000 bytes; root's is too large to fill without starving parallel
/// tests): a call in credential mode still gets its credentials, and says on stderr, in
/// one line, that the quota stops caching; `status` and `doctor` say so too.
#[test]
fn a_full_kernel_quota_is_one_stderr_line_in_credential_mode_and_status_and_doctor_report_it() {
    let Some(user) = other_user("amp-trust-quota") else {
        return skip("needs root to make a user whose kernel quota is the default (root's is not)");
    };
    if !kernel_keyring_usable() {
        return skip("the kernel keyring is not usable here");
    }
    let sts = standin::StandIn::start();
    let home = tempfile::tempdir_in("/dev/shm").unwrap();
    // Codes from a program, as in an IDE: nothing to tell at a terminal.
    let config = "\
[profile mfa]
credential_process = aws-mfa-proc --profile mfa
mfa_serial = arn:aws:iam::111111111111:mfa/alice
region = eu-west-1
mfa_process = shuf -i 500600-599999 -n 1
";
    std::fs::write(home.path().join("config"), config).unwrap();
    let chown = Command::new("chown")
        .args(["-R", &format!("{}:{}", user.0, user.1)])
        .arg(home.path())
        .status();
    assert!(chown.unwrap().success());
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_aws-mfa-proc"))
        .parent()
        .unwrap();
    let env: Vec<(String, String)> = [
        ("HOME", home.path().to_str().unwrap()),
        ("PATH", &format!("{}:/usr/bin:/bin", bin.display())),
        (
            "AWS_CONFIG_FILE",
            home.path().join("config").to_str().unwrap(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials").to_str().unwrap(),
        ),
        ("AWS_MFA_PROC_KEYCHAIN", "keyutils"),
        ("AWS_ENDPOINT_URL_STS", sts.url()),
        ("AWS_ACCESS_KEY_ID", LONG_TERM_ID),
        ("AWS_SECRET_ACCESS_KEY", LONG_TERM_SECRET),
        ("LANG", "C.UTF-8"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let as_them = |program: &str, args: &[&str]| {
        let mut command = as_user(user, &env, "setsid", &[]);
        command.arg(program).args(args);
        Run::from(run(&mut command))
    };
    let _ = as_them("keyctl", &["clear", "@u"]);
    let added = as_them("aws-mfa-proc", &["add", "mfa", "--from-env"]);
    assert!(added.status.success(), "{}", added.stderr);

    let filled = as_them(
        "sh",
        &[
            "-c",
            r#"i=0
for size in 1500 100 1; do
    head -c $size /dev/zero | tr '\0' x > "$HOME/filler"
    while keyctl padd user amp-filler-$i @u < "$HOME/filler" >/dev/null 2>&1; do i=$((i+1)); done
done
echo $i"#,
        ],
    );
    assert!(
        filled.stdout.trim().parse::<u32>().unwrap() > 0,
        "{}",
        filled.stderr
    );

    let call = as_them("aws-mfa-proc", &["--profile", "mfa"]);
    assert!(call.status.success(), "{}", call.stderr);
    assert_standin_session(&call.stdout);
    let warning = the_message(&call.stderr);
    assert!(
        warning.contains("could not be cached") && warning.contains("kernel.keys.maxbytes"),
        "{warning}"
    );

    let status = as_them("aws-mfa-proc", &["status"]);
    assert_eq!(status.status.code(), Some(1), "{}", status.stdout);
    assert!(
        status.stdout.contains("kernel.keys.maxbytes") && status.stdout.contains("quota is full"),
        "{}",
        status.stdout
    );
    let doctor = as_them("aws-mfa-proc", &["doctor"]);
    assert!(!doctor.status.success(), "{}", doctor.stdout);
    assert!(
        doctor
            .stdout
            .lines()
            .any(|l| l.contains('✗') && l.contains("kernel.keys.maxbytes")),
        "{}",
        doctor.stdout
    );
    let _ = as_them("keyctl", &["clear", "@u"]);
}
