//! `console` against the people it must not serve (issue #17, items 1, 2 and 8):
//! another local user racing the browser for the sign-in, a same-user client that
//! sends too much or too slowly, and a sign-in endpoint variable from a `.env` that
//! would send the role's credentials elsewhere.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::console::{
    Federation, SIGNIN_TOKEN, browser, browser_location, browser_with, query_of, wait_for_file,
};
use crate::rig::Rig;
use crate::support::*;

/// Another local user's watcher: polls every process's argv for the arguments of the
/// browser (the process whose argv holds `MARKER`); fetches any `http://` address it
/// sees there and reads any `file://` page; connects to the sign-in port (in
/// `OUT/browser-port`, where it would find it in /proc/net/tcp; told here so that it
/// probes no other test's server) once with a request and once holding it silently.
/// Notes everything in `OUT/thief.json`, then opens the browser's gate `OUT/thief-done`.
const THIEF: &str = r#"
import json, os, socket, sys, time, http.client, urllib.parse as u
marker, out = sys.argv[1:3]
report = {"argv": [], "fetched": [], "pages": [], "port": []}
deadline = time.time() + 50
seen = probed = False
while time.time() < deadline and not (seen and probed):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            args = open("/proc/%s/cmdline" % pid, "rb").read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if not any(marker in a for a in args):
            continue
        for a in args:
            if a in report["argv"] or not (a.startswith("http://") or a.startswith("file://")):
                continue
            report["argv"].append(a)
            seen = True
            try:
                if a.startswith("http://"):
                    p = u.urlsplit(a)
                    c = http.client.HTTPConnection(p.netloc, timeout=10)
                    c.request("GET", p.path)
                    r = c.getresponse()
                    report["fetched"].append({"status": r.status, "location": r.getheader("Location") or ""})
                else:
                    report["pages"].append({"read": open(u.unquote(u.urlsplit(a).path)).read()})
            except Exception as e:
                report["fetched" if a.startswith("http") else "pages"].append({"error": repr(e)})
    if seen and not probed and os.path.exists(out + "/browser-port"):
        port = int(open(out + "/browser-port").read())
        try:
            held = socket.create_connection(("127.0.0.1", port), timeout=10)
            asked = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError as e:
            report["port"].append({"who": "both", "answer": "", "end": repr(e)})
            held = asked = None
        try:
            asked and asked.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        except OSError:
            pass
        for name, s in (("asked", asked), ("held", held)):
            if s is None:
                continue
            got = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                end = "closed"
            except OSError as e:
                end = repr(e)
            report["port"].append({"who": name, "answer": got.decode(errors="replace"), "end": end})
        probed = True
    time.sleep(0.01)
json.dump(report, open(out + "/thief.json", "w"))
open(out + "/thief-done", "w").close()
"#;

#[test]
fn another_local_user_cannot_take_or_block_the_console_sign_in() {
    let Some(thief) = other_user("amp-console-thief") else {
        return skip("needs root to make a second local user");
    };
    let federation = Federation::start();
    let mut rig = Rig::new();
    configured(&rig);
    rig.set_env("AWS_MFA_PROC_SIGNIN_ENDPOINT", federation.url.clone());
    // A place the thief can write and the browser can leave the port in.
    let shared = tempfile::tempdir_in("/dev/shm").unwrap();
    std::fs::set_permissions(
        shared.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let gate = shared.path().join("thief-done");
    let browser = browser_with(&rig, shared.path(), Some(&gate));
    rig.set_env("BROWSER", browser.clone());
    production_at_the_terminal(&rig, "123456");

    let script = shared.path().join("thief.py");
    std::fs::write(&script, THIEF).unwrap();
    let mut watcher = as_user(
        thief,
        &[("PATH".into(), "/usr/bin:/bin".into())],
        "/usr/bin/python3",
        &[
            script.to_str().unwrap(),
            &browser,
            shared.path().to_str().unwrap(),
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();

    let out = run(rig.command("aws-mfa-proc").args(["console", "production"]));
    let stderr = text(&out.stderr);
    let thief_log = wait_for(&mut watcher);
    assert!(out.status.success(), "{stderr}");
    assert!(text(&out.stdout).contains("Opened the AWS console as `production`"));

    // The thief got nothing: no address in any argv, no page, no answer on the port.
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(shared.path().join("thief.json"))
            .unwrap_or_else(|e| panic!("no thief report ({e}): {thief_log}")),
    )
    .unwrap();
    eprintln!("the thief: {report}");
    assert!(!report.to_string().contains(SIGNIN_TOKEN), "{report}");
    assert!(
        !report["argv"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().starts_with("http://")),
        "an address in the browser's argv: {report}"
    );
    let pages = report["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 1, "the thief saw the page's path: {report}");
    assert!(
        pages[0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("Permission"),
        "{report}"
    );
    let port = report["port"].as_array().unwrap();
    assert_eq!(port.len(), 2, "{report}");
    for attempt in port {
        assert_eq!(attempt["answer"], "", "{report}");
    }
    // Each refused connection is reported, and the browser was still waited for.
    let uid = format!("another user (uid {})", thief.0);
    assert_eq!(
        stderr
            .lines()
            .filter(
                |l| l.contains("refused a connection to the console sign-in page")
                    && l.contains(&uid)
            )
            .count(),
        2,
        "{stderr}"
    );
    let location = browser_location(&rig);
    assert_eq!(
        query_of(&location)["SigninToken"],
        SIGNIN_TOKEN,
        "{location}"
    );

    // The page was 0600 in a private directory in memory, and is gone.
    let page: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rig.dir().join("browser-page.json")).unwrap())
            .unwrap();
    assert_eq!(page["mode"], "0o600", "{page}");
    assert_eq!(page["dir_mode"], "0o700", "{page}");
    assert_eq!(page["fs"], "tmpfs", "{page}");
    let args = std::fs::read_to_string(rig.dir().join("browser-args")).unwrap();
    let path = args.trim().strip_prefix("file://").unwrap();
    assert!(
        !std::path::Path::new(path).exists(),
        "{path} is still there"
    );
}

/// Runs `child` to its end (within the hang guard); its stderr.
fn wait_for(child: &mut Child) -> String {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if child.try_wait().unwrap().is_some() {
            let mut stderr = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
            return stderr;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{child:?} hung for {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The most memory (VmHWM, in KiB) process `pid` has held.
fn peak_memory_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_huge_or_endless_request_neither_bloats_the_console_nor_holds_it_past_its_deadline() {
    const HUGE: usize = 256 * 1024 * 1024;
    /// How long the slow client would go on if nothing stopped it: past the console's
    /// 60 s patience for the browser.
    const ENDLESS: Duration = Duration::from_secs(75);

    let federation = Federation::start();
    let mut rig = Rig::new();
    configured(&rig);
    rig.set_env("AWS_MFA_PROC_SIGNIN_ENDPOINT", federation.url.clone());
    let gate = rig.dir().join("clients-done");
    rig.set_env("BROWSER", browser_with(&rig, rig.dir(), Some(&gate)));
    // The runtime directory on a disk: the page goes to a private directory in memory.
    let disk = tempfile::tempdir_in("/var/tmp").unwrap();
    rig.set_env("XDG_RUNTIME_DIR", "");
    rig.set_env("XDG_STATE_HOME", disk.path().to_str().unwrap());
    production_at_the_terminal(&rig, "123456");

    let console = rig
        .command("aws-mfa-proc")
        .args(["console", "production"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port: u16 = wait_for_file(&rig.dir().join("browser-port"))
        .trim()
        .parse()
        .unwrap();

    // 256 MiB without a newline, then the end of the stream.
    let mut huge = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let sent_all = huge.write_all(&vec![b'A'; HUGE]).is_ok();
    let _ = huge.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = huge.read_to_end(&mut answer);
    drop(huge);
    let peak = peak_memory_kib(console.id());
    eprintln!("sent all of it: {sent_all}; answer {answer:?}; peak memory {peak} KiB");

    // One byte every half second, never ending a line: each read is quick, the
    // request never completes.
    let started = Instant::now();
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let cut_after = loop {
        if started.elapsed() > ENDLESS {
            break None;
        }
        if slow.write_all(b"G").is_err() {
            break Some(started.elapsed());
        }
        match slow.read(&mut [0u8; 64]) {
            Ok(0) => break Some(started.elapsed()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break Some(started.elapsed()),
        }
    };
    drop(slow);
    std::fs::write(&gate, "").unwrap();

    let out = wait_for_output(console);
    assert!(
        cut_after.is_some(),
        "a client sending a byte every 0.5 s was never cut off"
    );
    assert!(
        peak < (HUGE / 1024 / 2) as u64,
        "the console held {peak} KiB after a {HUGE}-byte request line"
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Opened the AWS console"));
    let location = browser_location(&rig);
    assert_eq!(
        query_of(&location)["SigninToken"],
        SIGNIN_TOKEN,
        "{location}"
    );
}

/// `console`'s output once it ends (within twice the hang guard: it may wait its whole
/// patience for the browser).
fn wait_for_output(mut child: Child) -> std::process::Output {
    let deadline = Instant::now() + 2 * HANG_GUARD;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("console hung for {:?}", 2 * HANG_GUARD);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A listener that takes connections and drops them: a host that must never be sent
/// anything (it plays one elsewhere, at 127.0.0.2).
fn sink() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.2:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    (address, count)
}

#[test]
fn the_sign_in_endpoint_variable_cannot_send_the_role_s_credentials_elsewhere() {
    let elsewhere = Federation::start_on("127.0.0.2");
    let (named_host, named_count) = sink();
    let mut rig = Rig::new();
    configured(&rig);
    rig.set_env("BROWSER", browser(&rig));
    production_at_the_terminal(&rig, "123456");
    let named = format!("https://{named_host}");

    // (AWS_MFA_PROC_SIGNIN_ENDPOINT, what the role profile names, refused)
    let cases: Vec<(String, Option<&str>, bool)> = vec![
        (elsewhere.url.clone(), None, true),
        ("https://signin.evil.example".into(), None, true),
        (
            "https://signin.aws.amazon.com.evil.example".into(),
            None,
            true,
        ),
        (
            "https://signin.aws.amazon.com@evil.example".into(),
            None,
            true,
        ),
        (elsewhere.url.clone(), Some(&named), true),
        // Named in the profile: accepted (this stand-in speaks no TLS, so the call
        // then fails, at the network).
        (named.clone(), Some(&named), false),
    ];
    for (variable, in_profile, refused) in cases {
        let config = match in_profile {
            Some(url) => format!("{CONFIG}aws_mfa_proc_signin_endpoint = {url}\n"),
            None => CONFIG.to_string(),
        };
        rig.write_config(&config);
        rig.set_env("AWS_MFA_PROC_SIGNIN_ENDPOINT", variable.clone());
        let out = detached(&rig, "aws-mfa-proc", &["console", "production", "--print"]);
        let message = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{variable}: {message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        assert_eq!(text(&out.stdout), "", "{variable}");
        let was_refused = message.contains("AWS_MFA_PROC_SIGNIN_ENDPOINT")
            && message.contains("is refused")
            && message.contains("aws_mfa_proc_signin_endpoint");
        assert_eq!(
            was_refused, refused,
            "{variable} ({in_profile:?}): {message}"
        );
    }
    assert_eq!(
        elsewhere.sessions.lock().unwrap().len(),
        0,
        "the role's credentials went to {}",
        elsewhere.url
    );
    assert!(named_count.load(std::sync::atomic::Ordering::SeqCst) > 0);
}
