//! The rig's daemons (a private D-Bus, gnome-keyring, moto) and the small clients that
//! talk to them (`dbus-send`, moto's HTTP API, `keyctl`), each bounded in time.

use std::{
    env,
    fs::{self, File},
    io::{self, BufRead, BufReader, Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

use super::{
    BUS_CONFIG, CALL_TIMEOUT, KEYRING_PASSWORD, POLL, START_TIMEOUT, SYSTEM_PATH, SYSTEM_TOOLS,
};

/// `keyctl args…`; its stdout, or None if it fails (no keyutils, blocked by seccomp).
/// Never panics: it runs in `Drop`.
pub(super) fn keyctl(args: &[&str]) -> Option<String> {
    let output = Command::new("/usr/bin/keyctl")
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A background process of the rig, killed on drop, with its output in `logs/NAME.log`.
pub(super) struct Daemon {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Spawns `command` with stderr, and stdout unless the caller set it, going to the
    /// log. The caller sets stdin.
    pub(super) fn spawn(
        root: &Path,
        name: &'static str,
        mut command: Command,
        pipe_stdout: bool,
    ) -> Daemon {
        let log = root.join("logs").join(format!("{name}.log"));
        let file = File::create(&log).expect("create a daemon log");
        let stdout = if pipe_stdout {
            Stdio::piped()
        } else {
            file.try_clone().expect("dup a log file").into()
        };
        let child = command
            .stdout(stdout)
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Daemon { name, child, log }
    }

    /// Panics with the log.
    pub(super) fn fail(&self, what: &str) -> ! {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        panic!(
            "{}: {what}\n--- {} ---\n{log}",
            self.name,
            self.log.display()
        );
    }

    /// Calls `ready` every 10 ms until it holds; panics with the log if the daemon exits
    /// or `START_TIMEOUT` passes first.
    pub(super) fn wait_until<T>(&mut self, what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(value) = ready() {
                return value;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.fail(&format!("exited ({status}) before {what}"));
            }
            if Instant::now() > deadline {
                self.fail(&format!("no {what} within {START_TIMEOUT:?}"));
            }
            thread::sleep(POLL);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn deps_dir() -> PathBuf {
    env::var_os("AWS_MFA_PROC_TEST_DEPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".test-deps"))
}

/// Panics naming every missing test dependency.
pub(super) fn check_deps(deps: &Path) {
    let mut missing: Vec<String> = [
        "venv/bin/moto_server",
        "venv/bin/aws",
        "node/node_modules/@aws-sdk/client-sts",
        "node/node_modules/@aws-sdk/credential-providers",
        "node/node_modules/.bin/sls",
    ]
    .iter()
    .map(|rel| deps.join(rel))
    .filter(|path| !path.exists())
    .map(|path| path.display().to_string())
    .collect();
    missing.extend(
        SYSTEM_TOOLS
            .iter()
            .filter(|tool| {
                !SYSTEM_PATH
                    .iter()
                    .any(|dir| Path::new(dir).join(tool).exists())
            })
            .map(|tool| tool.to_string()),
    );
    assert!(
        missing.is_empty(),
        "test dependencies missing ({}): run scripts/install-test-deps.sh (or scripts/test.sh)",
        missing.join(", ")
    );
}

/// The directory of `node` on the parent's PATH, when it is not a system directory.
pub(super) fn host_node_dir() -> Option<PathBuf> {
    let dir = env::split_paths(&env::var_os("PATH")?).find(|dir| dir.join("node").is_file())?;
    (!SYSTEM_PATH.iter().any(|system| dir == Path::new(system))).then_some(dir)
}

/// HOME, the XDG directories, the bus, PATH and LANG: what the daemons get.
pub(super) fn base_env(root: &Path, bus_address: &str) -> Vec<(String, String)> {
    let home = root.join("home");
    [
        ("HOME", utf8(&home)),
        ("XDG_CONFIG_HOME", utf8(&home.join(".config"))),
        ("XDG_CACHE_HOME", utf8(&home.join(".cache"))),
        ("XDG_DATA_HOME", utf8(&home.join(".local/share"))),
        ("XDG_RUNTIME_DIR", utf8(&root.join("run"))),
        ("DBUS_SESSION_BUS_ADDRESS", bus_address.to_owned()),
        ("PATH", SYSTEM_PATH.join(":")),
        ("LANG", "C.UTF-8".to_owned()),
    ]
    .map(|(key, value)| (key.to_owned(), value))
    .into()
}

pub(super) fn utf8(path: &Path) -> String {
    path.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {}", path.display()))
        .to_owned()
}

pub(super) fn write_file(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("a file has a parent"))
        .expect("create the file's directory");
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// The keyring a rig starts with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyring {
    None,
    Unlocked,
    NoDefault,
}

/// Starts the private bus and gnome-keyring on it; returns both and the bus address
/// once the daemon owns its name (and, with `unlocked`, the default collection is
/// unlocked).
pub(super) fn start_keychain(root: &Path, unlocked: bool) -> (Daemon, Daemon, String) {
    let config = root.join("bus.conf");
    fs::write(
        &config,
        BUS_CONFIG.replace("@SOCKET@", &utf8(&root.join("run/bus"))),
    )
    .expect("write bus.conf");
    let mut command = Command::new("/usr/bin/dbus-daemon");
    command
        .args(["--nofork", "--print-address"])
        .arg(format!("--config-file={}", config.display()))
        .env_clear()
        .envs(base_env(root, ""))
        .stdin(Stdio::null());
    let mut bus = Daemon::spawn(root, "dbus-daemon", command, true);
    // dbus-daemon prints its address once it listens (or closes stdout when it fails).
    let mut address = String::new();
    let _ = BufReader::new(bus.child.stdout.take().expect("piped stdout")).read_line(&mut address);
    let address = address.trim().to_owned();
    if address.is_empty() {
        bus.fail("printed no address");
    }

    let mut command = Command::new("/usr/bin/gnome-keyring-daemon");
    command
        .args(["--foreground", "--components=secrets"])
        .args(unlocked.then_some("--unlock"))
        .env_clear()
        .envs(base_env(root, &address))
        .stdin(Stdio::piped());
    let mut keyring = Daemon::spawn(root, "gnome-keyring", command, false);
    // The password is read up to end of input.
    keyring
        .child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(KEYRING_PASSWORD.as_bytes())
        .expect("give gnome-keyring its password");

    keyring.wait_until("owner of org.freedesktop.secrets", || {
        dbus_call(
            &address,
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &["string:org.freedesktop.secrets"],
        )
        .contains("boolean true")
        .then_some(())
    });
    if !unlocked {
        return (bus, keyring, address);
    }
    keyring.wait_until("unlocked default collection", || {
        dbus_call(
            &address,
            "org.freedesktop.secrets",
            "/org/freedesktop/secrets/aliases/default",
            "org.freedesktop.DBus.Properties.Get",
            &["string:org.freedesktop.Secret.Collection", "string:Locked"],
        )
        .contains("boolean false")
        .then_some(())
    });
    (bus, keyring, address)
}

/// `dbus-send` a method call on the bus at `address`; returns the printed reply, or ""
/// when the call fails.
pub(super) fn dbus_call(
    address: &str,
    dest: &str,
    object: &str,
    method: &str,
    args: &[&str],
) -> String {
    let mut command = Command::new("/usr/bin/dbus-send");
    command
        .arg(format!("--bus={address}"))
        .arg(format!("--dest={dest}"))
        .args(["--print-reply", "--reply-timeout=2000", object, method])
        .args(args)
        .env_clear();
    let output = run_bounded(command, b"", CALL_TIMEOUT);
    if output.status.success() {
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        String::new()
    }
}

pub(super) fn spawn_moto(root: &Path, deps: &Path) -> Daemon {
    let dir = root.join("moto");
    let mut command = Command::new(deps.join("venv/bin/moto_server"));
    command
        .args(["-H", "127.0.0.1", "-p", "0"])
        .env_clear()
        .envs([
            ("HOME", root.join("home")),
            ("PATH", PathBuf::from(SYSTEM_PATH.join(":"))),
            ("LANG", PathBuf::from("C.UTF-8")),
            ("MOTO_RECORDER_FILEPATH", dir.join("recording.jsonl")),
        ])
        .current_dir(&dir)
        .stdin(Stdio::null());
    Daemon::spawn(root, "moto", command, false)
}

/// Waits until moto logged the port it listens on and answers there; returns the port.
pub(super) fn wait_for_moto(moto: &mut Daemon) -> u16 {
    const BANNER: &str = "Running on http://127.0.0.1:";
    let log = moto.log.clone();
    let port = moto.wait_until("port in the log", || {
        let text = fs::read_to_string(&log).ok()?;
        let digits: String = text[text.find(BANNER)? + BANNER.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u16>().ok()
    });
    moto.wait_until("answer to /moto-api/reset", || {
        http(port, "POST", "/moto-api/reset")
            .ok()
            .filter(|(status, _)| *status == 200)
    });
    port
}

/// Calls moto's API; panics unless it answers 200. Returns the body.
pub(super) fn moto_api(port: u16, method: &str, path: &str) -> String {
    match http(port, method, path) {
        Ok((200, body)) => body,
        Ok((status, body)) => panic!("moto {method} {path}: HTTP {status}: {body}"),
        Err(e) => panic!("moto {method} {path}: {e}"),
    }
}

/// A bodiless HTTP/1.0 request to 127.0.0.1:`port`; returns the status and body.
pub(super) fn http(port: u16, method: &str, path: &str) -> io::Result<(u16, String)> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad HTTP response: {response:?}"),
        )
    };
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    Ok((status, body.to_owned()))
}

/// One line of moto's recording (a JSON object) as `METHOD URL key=ACCESS_KEY_ID BODY`.
pub(super) fn recorded_request(json: &str) -> String {
    let request: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("moto recording line {json:?}: {e}"));
    let field = |name: &str| request[name].as_str().unwrap_or_default();
    let key = request["headers"]["Authorization"]
        .as_str()
        .and_then(|auth| auth.split_once("Credential=")?.1.split('/').next())
        .unwrap_or_default();
    let body = if request["body_encoded"].as_bool() == Some(true) {
        String::from_utf8_lossy(&base64_decode(field("body"))).into_owned()
    } else {
        field("body").to_owned()
    };
    format!(
        "{} {} key={key} {}",
        field("method"),
        field("url"),
        body.replace('\n', "\\n")
    )
}

/// Decodes standard base64, skipping padding and anything else outside the alphabet.
pub(super) fn base64_decode(text: &str) -> Vec<u8> {
    let (mut bytes, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6 | u32::from(value)) & 0xffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
        }
    }
    bytes
}

/// Runs `command` with `input` on stdin and stdout/stderr captured; panics if it takes
/// longer than `timeout`. (Meant for small outputs: the pipes are read after it ends.)
pub(super) fn run_bounded(mut command: Command, input: &[u8], timeout: Duration) -> Output {
    let shown = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {shown}: {e}"));
    // A program that does not read its stdin may close it first: that is fine.
    let _ = child.stdin.take().expect("piped stdin").write_all(input);
    let deadline = Instant::now() + timeout;
    while child.try_wait().expect("wait for a child").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} took longer than {timeout:?}");
        }
        thread::sleep(Duration::from_millis(2));
    }
    child.wait_with_output().expect("collect a child's output")
}

/// Ends every process whose environment names the rig's directory: one a test started
/// that left on its own (`setsid -f gnome-keyring-daemon --replace`, as a fix message
/// says to run) would outlive the rig.
pub(super) fn end_strays(dir: &Path) {
    let needle = format!("={}/", dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for pid in entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
    {
        let named = std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
            env.split(|b| *b == 0)
                .any(|v| v.windows(needle.len()).any(|w| w == needle.as_bytes()))
        });
        if named && pid != std::process::id() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}
