//! `console`: a role's sign-in through the federation endpoint, with MFA kept. The
//! sign-in host cannot be reached from here, so a stand-in plays it (at
//! AWS_MFA_PROC_SIGNIN_ENDPOINT, the override for private partitions); moto plays STS.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::rig::Rig;
use crate::support::*;
use crate::tools::*;

pub const SIGNIN_TOKEN: &str = "standinSigninTokenForTheConsole";

/// The federation endpoint's `getSigninToken`: records each `Session` (decoded JSON)
/// and answers with [`SIGNIN_TOKEN`].
pub struct Federation {
    pub url: String,
    pub sessions: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Federation {
    pub fn start() -> Federation {
        Federation::start_on("127.0.0.1")
    }

    /// On another loopback address (`127.0.0.2`), which plays a host elsewhere.
    pub fn start_on(ip: &str) -> Federation {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let seen = sessions.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                let mut header = String::new();
                while reader.read_line(&mut header).unwrap_or(0) > 2 {
                    header.clear();
                }
                let target = request.split_whitespace().nth(1).unwrap_or("");
                let query = query_of(target);
                let (status, body) = match (
                    query.get("Action").map(String::as_str),
                    query.get("Session"),
                ) {
                    (Some("getSigninToken"), Some(session)) => {
                        seen.lock()
                            .unwrap()
                            .push(serde_json::from_str(session).unwrap());
                        ("200 OK", format!("{{\"SigninToken\":\"{SIGNIN_TOKEN}\"}}"))
                    }
                    _ => ("400 Bad Request", String::new()),
                };
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Federation { url, sessions }
    }
}

/// The decoded query parameters of `/path?a=b&c=d`.
pub fn query_of(target: &str) -> std::collections::HashMap<String, String> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// A BROWSER that notes its argument (`browser-args`); given a page (`file://…`), notes
/// what it saw of it (`browser-page.json`: its one-time addresses, modes, file system)
/// and takes the address in it; writes the address's port to `PORT_DIR/browser-port`;
/// waits for `GATE` (if not `-`); then fetches the address once, without following
/// the redirect, and notes where it was sent (`browser-location`, written whole, after
/// the console may have ended: read it with [`browser_location`]).
pub fn browser(rig: &Rig) -> String {
    browser_with(rig, rig.dir(), None)
}

/// Where the browser was redirected: waits (within the hang guard) for the note, which
/// the browser writes after the console has answered it, so maybe after it ended.
pub fn browser_location(rig: &Rig) -> String {
    wait_for_file(&rig.dir().join("browser-location"))
}

/// Waits (within the hang guard) until `path` exists; its contents.
pub fn wait_for_file(path: &std::path::Path) -> String {
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while std::time::Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{} did not appear within {HANG_GUARD:?}", path.display());
}

pub fn browser_with(
    rig: &Rig,
    port_dir: &std::path::Path,
    gate: Option<&std::path::Path>,
) -> String {
    let script = rig.dir().join("browser.py");
    std::fs::write(&script, BROWSER).unwrap();
    let wrapper = rig.dir().join("browser");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec {python} {script} \"$1\" {dir} {port_dir} {gate}\n",
            python = rig.python().display(),
            script = script.display(),
            dir = rig.dir().display(),
            port_dir = port_dir.display(),
            gate = gate.map_or("-".into(), |g| g.display().to_string()),
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    wrapper.to_str().unwrap().to_string()
}

const BROWSER: &str = r#"
import json, os, re, subprocess, sys, time, http.client, urllib.parse as u
arg, out, port_dir, gate = sys.argv[1:5]
open(out + "/browser-args", "w").write(arg + "\n")
target = arg
if arg.startswith("file://"):
    path = u.unquote(u.urlsplit(arg).path)
    page = open(path).read()
    urls = sorted(set(re.findall(r"http://[^\"'<> ]+", page)))
    json.dump({
        "urls": urls,
        "mode": oct(os.stat(path).st_mode & 0o777),
        "dir_mode": oct(os.stat(os.path.dirname(path)).st_mode & 0o777),
        "fs": subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True).stdout.strip(),
        "page": page,
    }, open(out + "/browser-page.json", "w"))
    target = urls[0]
open(port_dir + "/browser-port.tmp", "w").write(str(u.urlsplit(target).port))
os.chmod(port_dir + "/browser-port.tmp", 0o644)
os.rename(port_dir + "/browser-port.tmp", port_dir + "/browser-port")
deadline = time.time() + 60
while gate != "-" and not os.path.exists(gate) and time.time() < deadline:
    time.sleep(0.05)
p = u.urlsplit(target)
c = http.client.HTTPConnection(p.netloc, timeout=60)
c.request("GET", p.path)
location = c.getresponse().getheader("Location") or ""
open(out + "/browser-location.tmp", "w").write(location)
os.rename(out + "/browser-location.tmp", out + "/browser-location")
"#;

#[test]
fn one_code_serves_the_cli_and_the_console_signed_in_as_the_role() {
    let federation = Federation::start();
    let mut rig = Rig::new();
    configured(&rig);
    rig.set_env("AWS_MFA_PROC_SIGNIN_ENDPOINT", federation.url.clone());
    rig.set_env("BROWSER", browser(&rig));
    rig.moto_start_recording();

    production_at_the_terminal(&rig, "123456");

    let out = detached(&rig, "aws-mfa-proc", &["console", "production"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Opened the AWS console as `production`"));

    // The browser was handed a page holding a one-time local address, never the
    // sign-in URL itself.
    let args = std::fs::read_to_string(rig.dir().join("browser-args")).unwrap();
    assert!(args.starts_with("file:///"), "{args}");
    assert!(!args.contains("SigninToken"), "{args}");
    let page: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rig.dir().join("browser-page.json")).unwrap())
            .unwrap();
    assert_eq!(page["urls"].as_array().unwrap().len(), 1, "{page}");
    let local = page["urls"][0].as_str().unwrap();
    assert!(local.starts_with("http://127.0.0.1:"), "{local}");
    assert_eq!(
        local.rsplit('/').next().unwrap().len(),
        32,
        "a 128-bit nonce: {local}"
    );
    assert!(!local.contains("SigninToken"), "{local}");

    // Fetching it once redirected to a well-formed login URL.
    let location = browser_location(&rig);
    assert!(
        location.starts_with(&format!("{}/federation?", federation.url)),
        "{location}"
    );
    let login = query_of(&location);
    assert_eq!(login["Action"], "login");
    assert_eq!(login["Issuer"], "aws-mfa-proc");
    assert_eq!(login["SigninToken"], SIGNIN_TOKEN);
    assert_eq!(
        login["Destination"],
        "https://console.aws.amazon.com/console/home?region=eu-west-1"
    );

    // The token request carried the role's session: moto knows it as the role.
    let sessions = federation.sessions.lock().unwrap().clone();
    assert_eq!(sessions.len(), 1);
    let session = &sessions[0];
    let who = run(rig
        .command("aws")
        .args([
            "sts",
            "get-caller-identity",
            "--query",
            "Arn",
            "--output",
            "text",
        ])
        .env("AWS_ACCESS_KEY_ID", session["sessionId"].as_str().unwrap())
        .env(
            "AWS_SECRET_ACCESS_KEY",
            session["sessionKey"].as_str().unwrap(),
        )
        .env(
            "AWS_SESSION_TOKEN",
            session["sessionToken"].as_str().unwrap(),
        ));
    assert!(
        text(&who.stdout).contains("assumed-role/Role-Name-To-Assume/"),
        "{} {}",
        text(&who.stdout),
        text(&who.stderr)
    );

    // `--print` puts the URL on stdout instead, here for the S3 console.
    let printed = detached(
        &rig,
        "aws-mfa-proc",
        &["console", "production", "--path", "s3", "--print"],
    );
    assert!(printed.status.success(), "{}", text(&printed.stderr));
    let url = text(&printed.stdout);
    assert_eq!(url.lines().count(), 1, "{url}");
    assert_eq!(
        query_of(url.trim())["Destination"],
        "https://console.aws.amazon.com/s3/home?region=eu-west-1"
    );

    let recorded = rig.moto_recorded_requests();
    forget_moto_recording(&rig);
    assert_eq!(
        calls_to(&recorded, "GetSessionToken"),
        1,
        "one code for the CLI and the console"
    );
}
