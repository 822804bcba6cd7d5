//! Issue 17, what an answer or a config may do: an IAM answer cannot write a line into
//! `~/.aws/config` or drive the terminal (item 5), a symlinked `~/.aws/credentials` or
//! `~/.aws/config` is edited where it really is (item 6), and `exec` never writes its
//! credentials file to disk (item 11).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;

use crate::rig::Rig;
use crate::support::*;

/// A stub of STS and IAM for `setup`: GetCallerIdentity answers `arn`, ListMFADevices
/// one device numbered `serial`. Both go into the XML as given, so `&#10;` is a newline
/// once the SDK has decoded it. Returns the stub's URL.
fn stub_iam(arn: &'static str, serial: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream, arn, serial));
        }
    });
    url
}

fn answer(stream: TcpStream, arn: &str, serial: &str) {
    let mut reader = BufReader::new(&stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body = String::from_utf8_lossy(&body);
    let xml = if body.contains("Action=ListMFADevices") {
        format!(
            "<ListMFADevicesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListMFADevicesResult><IsTruncated>false</IsTruncated><MFADevices><member><UserName>alice</UserName><SerialNumber>{serial}</SerialNumber><EnableDate>2026-01-01T00:00:00Z</EnableDate></member></MFADevices></ListMFADevicesResult><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></ListMFADevicesResponse>"
        )
    } else {
        format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDAEXAMPLE000000001</UserId><Account>111111111111</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        )
    };
    let _ = write!(
        &stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
        xml.len()
    );
}

/// `setup` up to the point where AWS has answered, against the stub at `url`.
fn setup_against(rig: &mut Rig, url: &str) -> crate::rig::Pty {
    rig.set_env("AWS_ENDPOINT_URL_STS", url);
    rig.set_env("AWS_ENDPOINT_URL_IAM", url);
    let mut pty = rig.pty("aws-mfa-proc", &["setup"]);
    for (question, answer) in [
        ("Profile name [mfa]: ", ""),
        ("Access key ID", LONG_TERM_ID),
        ("Secret access key (hidden): ", LONG_TERM_SECRET),
        ("Region [eu-west-1]: ", ""),
    ] {
        pty.expect(question);
        pty.send_line(answer);
    }
    pty
}

const EARLIER: &str = "[default]\nregion = eu-west-1\n";

#[test]
fn setup_writes_and_shows_no_iam_answer_that_would_add_a_config_line_or_a_terminal_line() {
    let mut rig = Rig::new();
    rig.write_config(EARLIER);
    let witness = rig.dir().join("mfa-process-ran");
    let planted: &'static str = Box::leak(
        format!(
            "arn:aws:iam::111111111111:mfa/alice&#10;mfa_process = touch {}",
            witness.display()
        )
        .into_boxed_str(),
    );

    // A caller ARN with a line of its own in it: refused, and not shown raw.
    let url = stub_iam(
        "arn:aws:iam::111111111111:user/alice&#10;Fake: you are root",
        "arn:aws:iam::111111111111:mfa/alice",
    );
    let mut pty = setup_against(&mut rig, &url);
    pty.expect("malformed ARN");
    let (status, screen) = pty.wait();
    eprintln!("--- setup, bad ARN ---\n{screen}\n---");
    assert!(!status.success(), "{screen}");
    assert!(screen.contains(r"alice\nFake: you are root"), "{screen}");
    assert!(!screen.contains("\nFake"), "the ARN made a line: {screen}");

    // A serial number carrying an `mfa_process` line: refused, nothing is written, and
    // setup asks for the device instead.
    let url = stub_iam("arn:aws:iam::111111111111:user/alice", planted);
    let mut pty = setup_against(&mut rig, &url);
    pty.expect("malformed MFA device serial number");
    pty.expect("MFA device ARN (arn:aws:iam::ACCOUNT:mfa/NAME): ");
    pty.send(b"\x04"); // Ctrl-D: no answer
    let (status, screen) = pty.wait();
    eprintln!("--- setup, bad serial ---\n{screen}\n---");
    assert_eq!(status.code(), Some(130), "{screen}");
    assert!(!screen.contains("\nmfa_process"), "{screen}");
    assert_eq!(
        std::fs::read_to_string(rig.config_path()).unwrap(),
        EARLIER,
        "the config is untouched"
    );
    assert!(!witness.exists(), "the planted mfa_process ran");
}

const SYMLINKED_CREDENTIALS: &str = "\
[default]
aws_access_key_id = AKIATESTLONGTERM0001
aws_secret_access_key = longtermSecretXy7Kq2Vb9Lm4Np6Rt8
region = eu-west-1
";

const SYMLINKED_CONFIG: &str = "\
[profile mfa]
credential_process = aws-mfa-proc --profile mfa --source-profile default
mfa_serial = arn:aws:iam::111111111111:mfa/alice
region = eu-west-1
";

#[test]
fn import_edits_a_symlinked_credentials_file_and_config_at_their_targets_and_keeps_the_links() {
    let rig = Rig::new();
    let dotfiles = rig.dir().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    for (name, text, link) in [
        ("credentials", SYMLINKED_CREDENTIALS, rig.credentials_path()),
        ("config", SYMLINKED_CONFIG, rig.config_path()),
    ] {
        std::fs::write(dotfiles.join(name), text).unwrap();
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(dotfiles.join(name), &link).unwrap();
    }

    let out = detached(
        &rig,
        "aws-mfa-proc",
        &["import", "--from-profile", "default"],
    );
    let report = text(&out.stdout);
    eprintln!("--- import ---\n{report}{}---", text(&out.stderr));
    assert!(out.status.success(), "{report}{}", text(&out.stderr));

    let is_link = |p: &Path| std::fs::symlink_metadata(p).unwrap().is_symlink();
    assert!(
        is_link(&rig.credentials_path()),
        "the credentials link was replaced"
    );
    assert!(is_link(&rig.config_path()), "the config link was replaced");
    assert_eq!(
        std::fs::read_to_string(dotfiles.join("credentials")).unwrap(),
        "[default]\nregion = eu-west-1\n",
        "the keys are gone from the file the link points to"
    );
    assert_eq!(
        std::fs::read_to_string(dotfiles.join("config")).unwrap(),
        SYMLINKED_CONFIG.replace(" --source-profile default", "")
    );
    let real = dotfiles.canonicalize().unwrap();
    assert!(
        report.contains(real.join("credentials").to_str().unwrap()),
        "the real file is named: {report}"
    );
    assert_eq!(
        files_containing(&dotfiles, LONG_TERM_SECRET),
        Vec::<std::path::PathBuf>::new(),
        "no backup or temporary file with the secret is left in the link's target directory"
    );
    // The backup holding the secret is beside the link, where the person looks.
    let backups = files_containing(rig.credentials_path().parent().unwrap(), LONG_TERM_SECRET);
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(report.contains(backups[0].to_str().unwrap()), "{report}");
    std::fs::remove_file(&backups[0]).unwrap();
}

#[test]
fn exec_without_a_usable_dev_shm_passes_variables_only_and_says_so() {
    let probe = std::process::Command::new("unshare")
        .args(["-m", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return skip("`unshare -m` is not allowed here, so /dev/shm cannot be taken away");
    }
    let mut rig = Rig::new();
    // A runtime directory on disk, as on a system without XDG_RUNTIME_DIR.
    let disk = tempfile::Builder::new()
        .prefix("aws-mfa-proc-disk.")
        .tempdir_in(std::env::temp_dir())
        .unwrap();
    let on_disk = std::process::Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(disk.path())
        .output()
        .unwrap();
    if matches!(text(&on_disk.stdout).trim(), "tmpfs" | "ramfs") {
        return skip("the temporary directory is in memory; no disk to keep the file from");
    }
    let run = disk.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    rig.set_env("XDG_RUNTIME_DIR", run.to_str().unwrap());
    configured(&rig);
    login(&rig, "123456");

    // /dev/shm read-only in a mount namespace of this run only.
    let script = r#"
        mount --bind /dev/shm /dev/shm && mount -o remount,bind,ro /dev/shm || exit 97
        exec aws-mfa-proc exec --profile mfa -- sh -c '
            echo "file=${AWS_SHARED_CREDENTIALS_FILE-none}"
            echo "id=$AWS_ACCESS_KEY_ID"
            echo "left=$(ls -A "$XDG_RUNTIME_DIR/aws-mfa-proc" | grep -c credentials)"'
    "#;
    let pty = rig.pty("unshare", &["-m", "sh", "-c", script]);
    let (status, screen) = pty.wait();
    eprintln!("--- exec without /dev/shm ---\n{screen}\n---");
    assert!(status.success(), "{screen}");
    // The rig's own AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) comes through.
    assert!(
        screen.contains(&format!("file={}\r\n", rig.credentials_path().display())),
        "a credentials file was written: {screen}"
    );
    assert!(screen.contains("left=0"), "{screen}");
    assert!(
        screen.contains("id=AKIA") || screen.contains("id=ASIA"),
        "{screen}"
    );
    assert!(
        screen.contains("never written to disk") && screen.contains("environment variables only"),
        "the person is not told: {screen}"
    );
    assert_eq!(
        files_containing(disk.path(), MOTO_SESSION_SECRET),
        Vec::<std::path::PathBuf>::new()
    );
}
