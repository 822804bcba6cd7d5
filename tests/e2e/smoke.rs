//! Proves the rig itself works: the private keyring, moto with the real clients, the
//! pseudo-terminal, the keychain-less rig, and the clean-up on drop.

use std::{
    fs,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use crate::rig::{Regex, Rig};

/// Static dummy keys: moto accepts any.
const CREDENTIALS: &str = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
/// moto's default account.
const ACCOUNT: &str = "123456789012";

fn stdout_of(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path))
        } else {
            files.push(path)
        }
    }
    files
}

#[test]
fn keyring_round_trips_a_secret_and_keeps_it_encrypted() {
    let rig = Rig::new();
    let secret = "s3cret-value-that-must-not-leak";
    let attrs = ["service", "aws-mfa-proc-smoke", "account", "default"];

    let store: Vec<&str> = ["store", "--label=rig smoke"]
        .into_iter()
        .chain(attrs)
        .collect();
    stdout_of(&rig.secret_tool_input(&store, secret));
    let lookup: Vec<&str> = ["lookup"].into_iter().chain(attrs).collect();
    assert_eq!(stdout_of(&rig.secret_tool(&lookup)), secret);

    let data_home = rig.home().join(".local/share");
    let files = files_under(&data_home);
    assert!(
        files.iter().any(|f| f.ends_with("keyrings/login.keyring")),
        "no login keyring under {}: {files:?}",
        data_home.display()
    );
    for file in files {
        let bytes = fs::read(&file).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the secret in plaintext",
            file.display()
        );
    }
}

#[test]
fn aws_cli_and_boto3_reach_moto() {
    let rig = Rig::new();
    rig.write_credentials(CREDENTIALS);
    rig.write_config(&format!("[default]\nregion = {}\n", crate::rig::REGION));
    assert!(rig.config_path().is_file() && rig.credentials_path().is_file());

    rig.moto_start_recording();
    let out = stdout_of(
        &rig.command("aws")
            .args(["sts", "get-caller-identity", "--output", "json"])
            .output()
            .unwrap(),
    );
    assert!(out.contains(ACCOUNT), "{out}");
    let recorded = rig.moto_recorded_requests();
    assert_eq!(recorded.lines().count(), 1, "{recorded}");
    assert!(recorded.starts_with("POST "), "{recorded}");
    assert!(
        recorded.contains(" key=AKIAIOSFODNN7EXAMPLE Action=GetCallerIdentity&"),
        "{recorded}"
    );

    let script = "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])";
    let out = stdout_of(
        &rig.command(rig.python().to_str().unwrap())
            .args(["-c", script])
            .output()
            .unwrap(),
    );
    assert_eq!(out.trim(), ACCOUNT);

    // After a reset moto forgets what it was given.
    let create = [
        "s3api",
        "create-bucket",
        "--bucket",
        "rig-smoke",
        "--create-bucket-configuration",
    ];
    let location = format!("LocationConstraint={}", crate::rig::REGION);
    stdout_of(
        &rig.command("aws")
            .args(create)
            .arg(&location)
            .output()
            .unwrap(),
    );
    rig.moto_reset();
    let buckets = stdout_of(
        &rig.command("aws")
            .args(["s3api", "list-buckets", "--output", "json"])
            .output()
            .unwrap(),
    );
    assert!(!buckets.contains("rig-smoke"), "{buckets}");
}

#[test]
fn node_clients_load_and_reach_moto() {
    let rig = Rig::new();
    rig.write_credentials(CREDENTIALS);
    let script = r#"
        const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
        const { fromIni } = require('@aws-sdk/credential-providers');
        new STSClient({ credentials: fromIni() })
            .send(new GetCallerIdentityCommand({}))
            .then((r) => console.log(r.Account));
    "#;
    let out = rig
        .command("node")
        .env("NODE_PATH", rig.node_dir().join("node_modules"))
        .args(["-e", script])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out).trim(), ACCOUNT);

    let version = stdout_of(&rig.command("sls").arg("--version").output().unwrap());
    assert!(version.contains("osls"), "{version}");
}

#[test]
fn pty_round_trip_with_an_added_variable() {
    let mut rig = Rig::without_keychain();
    rig.set_env("GREETING", "got");
    rig.set_env("AWS_REGION", "us-east-2");
    let regions: Vec<_> = rig
        .env()
        .into_iter()
        .filter(|(k, _)| k == "AWS_REGION")
        .collect();
    assert_eq!(regions, [("AWS_REGION".to_owned(), "us-east-2".to_owned())]);

    let mut pty = rig.pty(
        "sh",
        &["-c", "printf 'name? '; read x; echo $GREETING:$x; exit 3"],
    );
    pty.expect("name? ");
    pty.send_line("rig");
    assert_eq!(pty.expect(Regex(r"got:\w+")), "got:rig");
    let (status, screen) = pty.wait();
    assert_eq!(status.code(), Some(3));
    assert_eq!(screen, "name? got:rig\r\n");
}

#[test]
fn pty_keeps_stdout_apart_from_the_terminal() {
    let rig = Rig::without_keychain();
    // The shape of a credential_process helper: prompt on /dev/tty, JSON on stdout.
    let script =
        r#"printf 'MFA code: ' >/dev/tty; read code </dev/tty; printf '{"code":"%s"}\n' "$code""#;
    let mut pty = rig.pty_split_stdout("sh", &["-c", script]);
    pty.expect("MFA code: ");
    pty.send_line("123456");
    let (status, screen, stdout) = pty.wait_with_stdout();
    assert!(status.success());
    assert_eq!(stdout, "{\"code\":\"123456\"}\n");
    assert_eq!(screen, "MFA code: ");
}

#[test]
fn without_keychain_no_secret_service_answers() {
    let rig = Rig::without_keychain();
    let started = Instant::now();
    let lookup = rig.secret_tool(&["lookup", "service", "aws-mfa-proc-smoke"]);
    assert!(!lookup.status.success(), "{lookup:?}");
    // Refused, not left to D-Bus's 25 s call timeout (or a second daemon's activation).
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}: it waited for D-Bus instead of being refused",
        started.elapsed()
    );
}

#[test]
fn drop_ends_every_process_and_removes_the_dir() {
    let rig = Rig::new();
    let dir = rig.dir().to_path_buf();
    let env = rig.env();
    assert!(
        env.iter()
            .any(|(k, v)| k == "HOME" && Path::new(v) == rig.home())
    );
    drop(rig);

    assert!(!dir.exists(), "{} is still there", dir.display());
    // Every process of the rig had HOME inside its directory.
    let needle = format!("HOME={}", dir.join("home").display());
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(environ) = fs::read(entry.path().join("environ")) else {
            continue;
        };
        assert!(
            !environ
                .split(|b| *b == 0)
                .any(|var| var == needle.as_bytes()),
            "process {} outlived its rig",
            entry.file_name().to_string_lossy()
        );
    }
}

#[test]
fn the_leak_audit_names_a_file_holding_a_known_secret_and_still_cleans_up() {
    let rig = Rig::without_keychain();
    let dir = rig.dir().to_path_buf();
    fs::write(
        rig.home().join("leaked.txt"),
        crate::support::LONG_TERM_SECRET,
    )
    .unwrap();
    // What programs print on stdout is where credentials belong: not audited.
    fs::write(
        rig.stdout_dir().join("stdout-of-a-caller"),
        crate::support::LONG_TERM_SECRET,
    )
    .unwrap();

    let audit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rig)));
    let message = *audit
        .expect_err("the audit should have failed the test")
        .downcast::<String>()
        .unwrap();
    assert!(message.contains("leaked.txt"), "{message}");
    assert!(!message.contains("stdout-of-a-caller"), "{message}");
    assert!(!dir.exists(), "{} is still there", dir.display());
}

#[test]
fn drop_invalidates_the_kernel_keyring_copies_the_tool_made_for_the_rig() {
    let (rig, _sts) = crate::support::with_standin();
    crate::support::login(&rig, "123456");
    if !crate::support::kernel_keyring_usable() {
        return crate::support::skip(
            "the kernel keyring is not usable here (`keyctl show @u` fails)",
        );
    }
    let copies = rig.kernel_copies();
    assert!(
        !copies.is_empty(),
        "the tool made no kernel-keyring copy that the rig can find: did its naming change?"
    );
    drop(rig);
    for (id, description) in copies {
        let gone = Command::new("/usr/bin/keyctl")
            .args(["describe", &id])
            .output()
            .unwrap();
        assert!(
            !gone.status.success(),
            "{description} is still in the kernel keyring"
        );
    }
}
