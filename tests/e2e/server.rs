//! The local credential endpoint (`exec --server`, `serve`): real callers read the role
//! from it with no profile and no keys in their environment; bad requests are refused
//! and the endpoint keeps serving, with nothing secret in any output.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::rig::Rig;
use crate::sdks::{account_of, installed, rust_sdk_check, signing_key};
use crate::support::*;
use crate::tools;

/// What the caller identity of `production`'s role contains.
const ROLE: &str = "assumed-role/Role-Name-To-Assume";
/// The account of `production`'s role.
const ROLE_ACCOUNT: u64 = 222_222_222_222;

const BOTO3: &str = "\
import boto3
print(boto3.client('sts').get_caller_identity()['Arn'])
";

const JS_V3: &str = "\
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
const client = new STSClient({ region: 'eu-west-1' });
client.send(new GetCallerIdentityCommand({})).then(r => console.log(r.Arn), e => { console.error(e); process.exit(1); });
";

/// Sends each bad request to the endpoint, then a good one; prints one line per request:
/// its name and the status (or `closed` when the connection was closed unanswered).
const BAD_REQUESTS: &str = r#"
import os, socket, time, urllib.parse
uri = urllib.parse.urlsplit(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'])
token = os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN']
wrong = ('0' if token[0] != '0' else '1') + token[1:]

def connect():
    s = socket.create_connection((uri.hostname, uri.port), timeout=30)
    return s

def status(s):
    answer = b''
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass
    s.close()
    return answer.split(b' ')[1].decode() if answer.startswith(b'HTTP/') else 'closed'

def ask(name, head):
    s = connect()
    try:
        s.sendall(head)
    except (ConnectionResetError, BrokenPipeError):
        pass
    print(name, status(s), flush=True)

def get(path, auth):
    lines = ['GET %s HTTP/1.1' % path, 'Host: 127.0.0.1']
    if auth is not None:
        lines.append('Authorization: ' + auth)
    return ('\r\n'.join(lines) + '\r\n\r\n').encode()

# A slow client: connected, never finishing, held open while the others are served.
slow = connect()
slow.sendall(b'GET ' + uri.path.encode())
ask('no-token', get(uri.path, None))
ask('wrong-token', get(uri.path, wrong))
ask('another-path', get('/credentials/../other?profile=mfa', token))
ask('post', ('POST %s HTTP/1.1\r\nAuthorization: %s\r\nContent-Length: 0\r\n\r\n' % (uri.path, token)).encode())
ask('huge', get(uri.path, token)[:-2] + b'X-Pad: ' + b'A' * (1024 * 1024) + b'\r\n\r\n')
ask('good', get(uri.path, token))
print('slow', status(slow), flush=True)
"#;

/// A logged-in rig with the issue's config (plain SDK role profile `production`), moto
/// recording.
fn logged_in() -> Rig {
    let rig = Rig::new();
    configured(&rig);
    login(&rig, "123456");
    rig.moto_start_recording();
    rig
}

/// `aws-mfa-proc exec --server production -- PROGRAM ARGS…` with no terminal, and
/// AWS_PROFILE set in its own environment (which the program must not see).
fn under_server(rig: &Rig, program: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = rig.command("setsid");
    cmd.args([
        "aws-mfa-proc",
        "exec",
        "--server",
        "production",
        "--",
        program,
    ])
    .args(args)
    .env("AWS_PROFILE", "mfa");
    run(&mut cmd)
}

/// The stdout of a run that succeeded with no prompt.
fn succeeded(what: &str, out: std::process::Output) -> String {
    let stderr = text(&out.stderr);
    assert!(
        out.status.success(),
        "{what}: {}\n{stderr}",
        text(&out.stdout)
    );
    assert_eq!(prompts_on(&stderr), 0, "{what}: {stderr}");
    text(&out.stdout)
}

#[test]
fn exec_server_gives_the_program_the_endpoint_and_token_and_no_keys_or_profile() {
    let rig = logged_in();
    let script = r#"
        for name in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
                    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE; do
            eval "value=\${$name-unset}"; echo "$name=$value"
        done
        echo "uri=$AWS_CONTAINER_CREDENTIALS_FULL_URI"
        echo "token=$AWS_CONTAINER_AUTHORIZATION_TOKEN"
        echo "argv=$(tr '\0' ' ' < /proc/$PPID/cmdline)"
        exit 7"#;
    let out = under_server(&rig, "sh", &["-c", script]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let value = |key: &str| {
        let prefix = format!("{key}=");
        let line = stdout.lines().find(|line| line.starts_with(&prefix));
        line.unwrap_or_else(|| panic!("no {key} in {stdout}"))[prefix.len()..].to_owned()
    };
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    ] {
        assert_eq!(value(name), "unset", "{name}");
    }
    let uri = value("uri");
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    let token = value("token");
    assert!(
        token.len() >= 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "at least 128 random bits: {token}"
    );
    assert!(
        !value("argv").contains(&token),
        "the token is in exec's argv"
    );
    assert!(!text(&out.stderr).contains(&token));
    tools::forget_moto_recording(&rig);
}

#[test]
fn the_cli_boto3_and_js_v3_read_the_role_from_the_endpoint() {
    let rig = logged_in();
    // Without the endpoint these callers have no credentials at all.
    let alone = detached(&rig, "aws", &["sts", "get-caller-identity"]);
    assert!(!alone.status.success(), "{}", text(&alone.stdout));
    let cli = under_server(&rig, "aws", &["sts", "get-caller-identity"]);
    assert!(succeeded("AWS CLI", cli).contains(ROLE));

    let script = rig.dir().join("boto3_check.py");
    std::fs::write(&script, BOTO3).unwrap();
    let python = rig.python();
    let boto3 = under_server(&rig, python.to_str().unwrap(), &[script.to_str().unwrap()]);
    assert!(succeeded("boto3", boto3).contains(ROLE));

    let script = rig.dir().join("js_v3_check.js");
    std::fs::write(&script, JS_V3).unwrap();
    let mut cmd = rig.command("setsid");
    cmd.args(["aws-mfa-proc", "exec", "--server", "production", "--"])
        .args(["node", script.to_str().unwrap()])
        .env("NODE_PATH", rig.node_dir().join("node_modules"));
    assert!(succeeded("JS SDK v3", run(&mut cmd)).contains(ROLE));

    assert_served_by_one_code(&rig);
}

#[test]
fn go_v2_rclone_and_rust_read_the_role_from_the_endpoint() {
    let rig = logged_in();
    let go = installed(&rig.deps_bin().join("sdk-go-v2-check"));
    let arn = succeeded("Go SDK v2", under_server(&rig, go.to_str().unwrap(), &[]));
    assert!(arn.contains(ROLE), "{arn}");

    let rust = rust_sdk_check();
    let arn = succeeded("Rust SDK", under_server(&rig, rust.to_str().unwrap(), &[]));
    assert!(arn.contains(ROLE), "{arn}");

    // rclone (Go SDK v1) lists a bucket made through the endpoint by the AWS CLI.
    let file = rig.dir().join("object.txt");
    std::fs::write(&file, "in the role's account\n").unwrap();
    let made = under_server(
        &rig,
        "sh",
        &[
            "-c",
            "aws s3 mb s3://endpoint-bucket && aws s3 cp \"$0\" s3://endpoint-bucket/dir/f.txt",
            file.to_str().unwrap(),
        ],
    );
    succeeded("AWS CLI making the bucket", made);
    let rclone = installed(Path::new("/usr/bin/rclone"));
    let mut cmd = rig.command("setsid");
    cmd.args(["aws-mfa-proc", "exec", "--server", "production", "--"])
        .arg(&rclone)
        .args([
            "lsf",
            "-R",
            "x:endpoint-bucket",
            "--s3-endpoint",
            &rig.moto_url(),
        ])
        .env("RCLONE_CONFIG", "/dev/null")
        .env("RCLONE_CONFIG_X_TYPE", "s3")
        .env("RCLONE_CONFIG_X_PROVIDER", "Other")
        .env("RCLONE_CONFIG_X_ENV_AUTH", "true");
    let listing = succeeded("rclone", run(&mut cmd));
    assert!(listing.lines().any(|key| key == "dir/f.txt"), "{listing}");
    let recorded = rig.moto_recorded_requests();
    let key = signing_key(&recorded, "GET ", "/endpoint-bucket?");
    assert_eq!(account_of(key), ROLE_ACCOUNT, "{key} signed the listing");

    assert_served_by_one_code(&rig);
}

#[test]
fn bad_requests_are_refused_and_the_endpoint_keeps_serving_with_nothing_secret_logged() {
    let rig = logged_in();
    let script = rig.dir().join("bad_requests.py");
    std::fs::write(&script, BAD_REQUESTS).unwrap();
    let python = rig.python();
    // At the most verbose level: even debug lines must not show the token or a key.
    let mut cmd = rig.command("setsid");
    cmd.args([
        "aws-mfa-proc",
        "-vv",
        "exec",
        "--server",
        "production",
        "--",
    ])
    .arg(&python)
    .arg(&script);
    let started = Instant::now();
    let out = run(&mut cmd);
    let stdout = succeeded("the bad requests", out.clone());
    let mut statuses: Vec<(&str, &str)> = stdout
        .lines()
        .filter_map(|line| line.split_once(' '))
        .collect();
    // The endpoint answers 400 at the bound and closes with the rest unread: the
    // client may see the answer, or the reset that its unread bytes cause.
    if statuses.get(4) == Some(&("huge", "closed")) {
        statuses[4] = ("huge", "400");
    }
    assert_eq!(
        statuses,
        [
            ("no-token", "401"),
            ("wrong-token", "401"),
            ("another-path", "404"),
            ("post", "405"),
            ("huge", "400"),
            ("good", "200"),
            ("slow", "400"),
        ],
        "{stdout}"
    );
    // Behavioural: the slow client was cut off at the endpoint's own deadline.
    assert!(started.elapsed() < HANG_GUARD);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("aws-mfa-proc: debug:"), "verbose: {stderr}");
    assert_no_secret("exec's stderr", &stderr);
    for hidden in ["Authorization", "AWS_CONTAINER_AUTHORIZATION_TOKEN="] {
        assert!(
            !stderr.contains(&format!("{hidden}:")),
            "{hidden} in: {stderr}"
        );
    }
    tools::forget_moto_recording(&rig);
}

#[test]
fn serve_prints_the_two_lines_serves_a_caller_and_stops_on_ctrl_c() {
    let rig = logged_in();
    let mut server = rig
        .command("setsid")
        .args(["aws-mfa-proc", "serve", "production"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut exported = Vec::new();
    for _ in 0..2 {
        let line = lines.next().expect("an export line").unwrap();
        let (name, value) = line
            .strip_prefix("export ")
            .and_then(|rest| rest.split_once('='))
            .unwrap_or_else(|| panic!("not an export line: {line}"));
        exported.push((name.to_owned(), value.trim_matches('\'').to_owned()));
    }
    let names: Vec<&str> = exported.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN"
        ]
    );
    // A caller with only those two (as `docker run -e …` would pass them).
    let mut cli = rig.command("setsid");
    cli.args(["aws", "sts", "get-caller-identity"])
        .envs(exported.iter().map(|(n, v)| (n, v)));
    let arn = succeeded("AWS CLI from serve", run(&mut cli));
    assert!(arn.contains(ROLE), "{arn}");

    // Ctrl-C: SIGINT to the server (it leads its own session, so no shell is in between).
    let stopped = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(server.wait_with_output());
    });
    let out = rx
        .recv_timeout(HANG_GUARD)
        .expect("serve stops on Ctrl-C")
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("stopped serving profile `production`"),
        "{stderr}"
    );
    assert_no_secret("serve's stderr", &stderr);
    assert!(!stderr.contains(&exported[1].1), "the token in {stderr}");
    tools::forget_moto_recording(&rig);
}

/// Exactly one GetSessionToken reached moto, the login's, before the recording: every
/// caller was served from it. Forgets the recording, which holds session tokens.
fn assert_served_by_one_code(rig: &Rig) {
    let recorded = rig.moto_recorded_requests();
    tools::forget_moto_recording(rig);
    assert_eq!(
        tools::calls_to(&recorded, "GetSessionToken"),
        0,
        "no code after the login: {recorded}"
    );
}
