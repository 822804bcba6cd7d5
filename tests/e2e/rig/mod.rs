//! The end-to-end test rig: one isolated little world per test.
//!
//! [`Rig::new`] makes a temporary directory (in /dev/shm: in memory, like a real
//! XDG_RUNTIME_DIR) and starts, for this test alone:
//! - a private D-Bus session bus (`dbus-daemon` with its own config: no service
//!   activation, so nothing can auto-start a second, locked keyring daemon);
//! - `gnome-keyring-daemon --foreground --unlock --components=secrets` on that bus, fed
//!   the login password on stdin; `new` returns only once `org.freedesktop.secrets` has an
//!   owner *and* the default collection reports `Locked=false` (`--unlock` exits 0 even
//!   when it fails, so the owner alone proves nothing);
//! - a `moto_server` (a local AWS) on a port of its own choosing on 127.0.0.1, waited
//!   for until it answers.
//!
//! [`Rig::without_keychain`] starts moto only; its `DBUS_SESSION_BUS_ADDRESS` points at a
//! socket that does not exist, so every Secret Service call fails at once.
//!
//! Everything is killed and the directory removed when the `Rig` is dropped, also when
//! the test panics, and the session copies the tool made for this rig's keychain in the
//! user's kernel keyring (`@u`, shared by every process of the user) are invalidated
//! ([`Rig::kernel_copies`]). (A test process killed with SIGKILL leaves its daemons
//! behind, and those copies until their kernel timeout.)
//!
//! # The leak audit
//! Children run without diagnostics, as users run the tool, so cache hits are served by
//! the `aws-mfa-proc` front door; a test that wants the most verbose logging sets
//! `AWS_MFA_PROC_LOG=trace` itself (see hygiene.rs). When a `Rig` is dropped at the
//! end of a test that has not already failed, every file under [`Rig::dir`] is
//! searched for [`crate::support::KNOWN_SECRETS`], and the drop panics naming each file
//! that holds one. What the programs under test print on
//! *stdout* is where credentials legitimately go (to the SDK that ran the helper), so the
//! rig captures stdout into a separate directory ([`Rig::stdout_dir`]) that is not
//! searched; stderr captures stay under [`Rig::dir`] and are searched.
//!
//! # Layout of [`Rig::dir`]
//! ```text
//! home/                 HOME; .aws/config, .aws/credentials
//! home/.config          XDG_CONFIG_HOME
//! home/.cache           XDG_CACHE_HOME
//! home/.local/share     XDG_DATA_HOME (the keyring files: keyrings/login.keyring)
//! run/                  XDG_RUNTIME_DIR, mode 0700; run/bus is the D-Bus socket
//! logs/                 dbus-daemon.log, gnome-keyring.log, moto.log
//! moto/                 moto's working directory and its request recording
//! captured/             the stderr (and exit status) of programs run with
//!                       Rig::pty_captured and Rig::pty_crowd
//! ```
//! (A moto recording holds the session token of every request signed with it: start
//! one only in tests that never hand moto a known secret, or the audit flags it.)
//!
//! # Running things
//! - [`Rig::env`] is the *whole* environment for a child: HOME, XDG_*,
//!   DBUS_SESSION_BUS_ADDRESS, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE,
//!   AWS_ENDPOINT_URL (moto), AWS_EC2_METADATA_DISABLED=true, AWS_REGION and
//!   AWS_DEFAULT_REGION ([`REGION`]), LANG=C.UTF-8, TERM=xterm
//!   and PATH. PATH is: the directory of the `aws-mfa-proc` binary under test, the
//!   venv's `bin`, `node_modules/.bin`, the directory of the host's `node` when that
//!   is not already `/usr/bin` or `/bin`, then `/usr/bin:/bin`. Nothing else comes from
//!   the parent; [`Rig::set_env`] adds or replaces variables.
//! - [`Rig::command`] is a `Command` with exactly that environment, run in HOME.
//! - [`Rig::pty`] runs a program under a pseudo-terminal (its controlling terminal), as
//!   a person at a shell would; [`Rig::pty_split_stdout`] does the same but sends the
//!   program's stdout to a file, so what it prints can be told apart from the prompts on
//!   the terminal. The terminal's echo is off: what [`Pty::send_line`] types does not
//!   show on the screen. The screen has `\r\n` line ends.
//! - [`Rig::pty_captured`] sends both stdout and stderr to files, so the screen shows only
//!   what the program wrote to the terminal itself (`/dev/tty`); [`Rig::pty_crowd`] starts
//!   N copies of a program at once, in the background of one shell on one terminal (as
//!   `make -j` or Terraform would), each with its own stdout, stderr and exit status.
//! - [`Rig::lock_keychain`] locks the login collection, as a screen lock would.
//! - [`Rig::secret_tool`] / [`Rig::secret_tool_input`] run `secret-tool` against this
//!   rig's keyring, bounded in time.
//! - [`Rig::python`] is the venv's interpreter (boto3, awscli, moto); [`Rig::node_dir`]
//!   holds `node_modules` (`@aws-sdk/client-sts`, `@aws-sdk/credential-providers`, osls):
//!   set `NODE_PATH` to `node_dir()/node_modules` to `require` them from a script;
//!   [`Rig::deps_bin`] holds the Go programs built for the tests (`sdk-go-v2-check`).
//! - [`Rig::moto_reset`], [`Rig::moto_start_recording`] and
//!   [`Rig::moto_recorded_requests`] drive moto's API; the recording is one line per
//!   request with the signing key and the decoded form body (`…&TokenCode=123456`).
//!
//! # Test dependencies
//! The Python venv and node_modules live in `.test-deps` under the crate root, or in
//! `$AWS_MFA_PROC_TEST_DEPS`; the daemons and `secret-tool` come from Debian packages.
//! `scripts/install-test-deps.sh` installs all of it; a rig panics naming what is missing.

use std::{
    env, fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::atomic::{AtomicUsize, Ordering},
    thread,
    time::Duration,
};

pub use expectrl::Regex;
use tempfile::TempDir;

/// A tmpfs every Linux machine has: the rig's directory lives there.
const MEMORY_DIR: &str = "/dev/shm";

/// The region every client in the rig uses.
pub const REGION: &str = "eu-west-1";

/// The login keyring's password (the keyring is created with it on first unlock).
const KEYRING_PASSWORD: &str = "rig-login-password";
/// What children find on PATH after the rig's own directories.
const SYSTEM_PATH: [&str; 2] = ["/usr/bin", "/bin"];
/// Programs from Debian packages that the rig or the tests run.
const SYSTEM_TOOLS: [&str; 6] = [
    "dbus-daemon",
    "dbus-send",
    "gnome-keyring-daemon",
    "secret-tool",
    "faketime",
    "keyctl",
];
/// How long a daemon may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long [`Pty::expect`] and [`Pty::wait`] wait.
const PTY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one `secret-tool` or `dbus-send` call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause between two looks at something not ready yet.
const POLL: Duration = Duration::from_millis(10);

/// The D-Bus configuration of the private bus: a session bus on one socket that lets
/// everyone talk and own names, with no `<servicedir>`, so nothing is ever auto-started.
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=@SOCKET@</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// One test's isolated environment; see the module docs.
pub struct Rig {
    /// Held only to be killed on drop, in this order: the keyring before its bus. Fields
    /// drop in declaration order, so every process ends before `dir` is removed.
    _daemons: Vec<Daemon>,
    moto_port: u16,
    bus_address: String,
    deps: PathBuf,
    pty_outputs: AtomicUsize,
    /// Set by [`Rig::set_env`]; applied over the rig's own variables.
    overrides: Vec<(String, String)>,
    home: PathBuf,
    /// Captured stdout: outside `dir`, because it is where credentials belong.
    stdout_dir: TempDir,
    dir: TempDir,
}

impl Rig {
    /// A rig with a private, unlocked Secret Service and moto.
    pub fn new() -> Rig {
        Rig::start(Keyring::Unlocked)
    }

    /// A rig with moto but no D-Bus at all: no Secret Service can be reached.
    pub fn without_keychain() -> Rig {
        Rig::start(Keyring::None)
    }

    /// A rig whose Secret Service runs but has no default collection, as a keyring
    /// daemon started without `--unlock` on a machine without a desktop.
    pub fn without_default_collection() -> Rig {
        Rig::start(Keyring::NoDefault)
    }

    /// The login keyring's password, to create or unlock it as a person would.
    pub fn keyring_password(&self) -> &'static str {
        KEYRING_PASSWORD
    }

    fn start(keyring: Keyring) -> Rig {
        let deps = deps_dir();
        check_deps(&deps);
        // In memory, as XDG_RUNTIME_DIR is on a real system (/run/user/UID is tmpfs).
        let dir = tempfile::Builder::new()
            .prefix("aws-mfa-proc-rig.")
            .tempdir_in(MEMORY_DIR)
            .or_else(|_| {
                tempfile::Builder::new()
                    .prefix("aws-mfa-proc-rig.")
                    .tempdir()
            })
            .expect("create the rig's temporary directory");
        let stdout_dir = tempfile::Builder::new()
            .prefix("aws-mfa-proc-rig-stdout.")
            .tempdir()
            .expect("create the rig's stdout directory");
        let root = dir.path();
        for sub in [
            "home/.aws",
            "home/.config",
            "home/.cache",
            "home/.local/share",
            "run",
            "logs",
            "moto",
            "captured",
        ] {
            fs::create_dir_all(root.join(sub)).expect("create the rig's directories");
        }
        fs::set_permissions(root.join("run"), fs::Permissions::from_mode(0o700))
            .expect("chmod XDG_RUNTIME_DIR");

        // moto takes the longest to start: let it start while the keychain comes up.
        let mut moto = spawn_moto(root, &deps);
        let (mut daemons, bus_address) = if keyring == Keyring::None {
            (
                vec![],
                format!("unix:path={}", root.join("run/no-bus-here").display()),
            )
        } else {
            let (bus, daemon, address) = start_keychain(root, keyring == Keyring::Unlocked);
            (vec![daemon, bus], address)
        };
        let moto_port = wait_for_moto(&mut moto);
        daemons.push(moto);

        let home = root.join("home");
        Rig {
            _daemons: daemons,
            moto_port,
            bus_address,
            deps,
            pty_outputs: AtomicUsize::new(0),
            overrides: Vec::new(),
            home,
            stdout_dir,
            dir,
        }
    }

    /// The temporary root of this rig (see the layout in the module docs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where the rig puts what programs print on stdout; not searched for secrets.
    pub fn stdout_dir(&self) -> &Path {
        self.stdout_dir.path()
    }

    /// HOME of every child.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// `HOME/.aws/config`.
    pub fn config_path(&self) -> PathBuf {
        self.home().join(".aws/config")
    }

    /// `HOME/.aws/credentials`.
    pub fn credentials_path(&self) -> PathBuf {
        self.home().join(".aws/credentials")
    }

    /// Writes `HOME/.aws/config`.
    pub fn write_config(&self, text: &str) {
        write_file(&self.config_path(), text);
    }

    /// Writes `HOME/.aws/credentials`.
    pub fn write_credentials(&self, text: &str) {
        write_file(&self.credentials_path(), text);
    }

    /// moto's base URL, `http://127.0.0.1:PORT`.
    pub fn moto_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.moto_port)
    }

    /// The venv's Python interpreter (with boto3, awscli and moto).
    pub fn python(&self) -> PathBuf {
        self.deps.join("venv/bin/python")
    }

    /// The directory holding the npm clients' `node_modules`.
    pub fn node_dir(&self) -> PathBuf {
        self.deps.join("node")
    }

    /// The directory of the programs built for the tests (`sdk-go-v2-check`).
    pub fn deps_bin(&self) -> PathBuf {
        self.deps.join("bin")
    }

    /// The complete environment for a child process (see the module docs).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut path = vec![
            Path::new(env!("CARGO_BIN_EXE_aws-mfa-proc"))
                .parent()
                .expect("the binary under test has a directory")
                .to_path_buf(),
            self.deps.join("venv/bin"),
            self.node_dir().join("node_modules/.bin"),
        ];
        path.extend(host_node_dir());
        path.extend(SYSTEM_PATH.iter().map(PathBuf::from));
        let path = env::join_paths(path).expect("PATH entries contain no ':'");

        let mut vars = base_env(self.dir(), &self.bus_address);
        vars.retain(|(key, _)| key != "PATH");
        vars.extend(
            [
                ("PATH", utf8(Path::new(&path))),
                ("AWS_CONFIG_FILE", utf8(&self.config_path())),
                (
                    "AWS_SHARED_CREDENTIALS_FILE",
                    utf8(&self.credentials_path()),
                ),
                ("AWS_ENDPOINT_URL", self.moto_url()),
                ("AWS_EC2_METADATA_DISABLED", "true".into()),
                ("AWS_REGION", REGION.into()),
                ("AWS_DEFAULT_REGION", REGION.into()),
                ("TERM", "xterm".into()),
            ]
            .map(|(key, value)| (key.to_owned(), value)),
        );
        for (key, value) in &self.overrides {
            vars.retain(|(k, _)| k != key);
            vars.push((key.clone(), value.clone()));
        }
        vars
    }

    /// Adds `key=value` to [`Rig::env`] for every later child, replacing the rig's own
    /// value if it has one (e.g. `AWS_ENDPOINT_URL_STS` to put a stand-in before moto).
    pub fn set_env(&mut self, key: &str, value: impl Into<String>) {
        self.overrides.retain(|(k, _)| k != key);
        self.overrides.push((key.to_owned(), value.into()));
    }

    /// `program` with exactly [`Rig::env`], run in HOME. `program` is looked up on the
    /// rig's PATH.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .envs(self.env())
            .current_dir(self.home());
        command
    }

    /// Runs `program args…` on a new pseudo-terminal, which is its controlling terminal
    /// and its stdin, stdout and stderr.
    pub fn pty(&self, program: &str, args: &[&str]) -> Pty {
        let mut command = self.command(program);
        command.args(args);
        Pty::spawn(command, Vec::new())
    }

    /// Like [`Rig::pty`], but the program's stdout goes to a file of its own: read it,
    /// after the program ends, with [`Pty::wait_with_stdout`].
    pub fn pty_split_stdout(&self, program: &str, args: &[&str]) -> Pty {
        let capture = Capture {
            stdout: self
                .stdout_dir()
                .join(format!("pty-{}", self.next_capture())),
            stderr: None,
            status: None,
        };
        let mut command = self.command("sh");
        command
            .args(["-c", r#"out=$1; shift; exec "$@" >"$out""#, "sh"])
            .arg(&capture.stdout)
            .arg(program)
            .args(args);
        Pty::spawn(command, vec![capture])
    }

    /// Like [`Rig::pty`], but the program's stdout and stderr go to files of their own:
    /// the screen shows only what it writes to the terminal device. Read them, after the
    /// program ends, with [`Pty::wait_captured`].
    pub fn pty_captured(&self, program: &str, args: &[&str]) -> Pty {
        let n = self.next_capture();
        let capture = Capture {
            stdout: self.stdout_dir().join(format!("pty-{n}")),
            stderr: Some(self.dir().join(format!("captured/pty-{n}.stderr"))),
            status: None,
        };
        let mut command = self.command("sh");
        command
            .args([
                "-c",
                r#"out=$1; err=$2; shift 2; exec "$@" >"$out" 2>"$err""#,
                "sh",
            ])
            .arg(&capture.stdout)
            .args(&capture.stderr)
            .arg(program)
            .args(args);
        Pty::spawn(command, vec![capture])
    }

    /// Starts `n` copies of `program args…` at once in the background of one `sh` on one
    /// pseudo-terminal, their shared controlling terminal; the shell waits for all of
    /// them and then ends. Each copy's stdout, stderr and exit status go to files of its
    /// own: read them with [`Pty::wait_crowd`]. The screen shows only what the copies
    /// write to the terminal device.
    pub fn pty_crowd(&self, n: usize, program: &str, args: &[&str]) -> Pty {
        let k = self.next_capture();
        let out = self.stdout_dir().join(format!("crowd-{k}"));
        let err = self.dir().join(format!("captured/crowd-{k}"));
        fs::create_dir_all(&out).expect("create a crowd's stdout directory");
        fs::create_dir_all(&err).expect("create a crowd's stderr directory");
        let captures = (1..=n)
            .map(|i| Capture {
                stdout: out.join(i.to_string()),
                stderr: Some(err.join(format!("{i}.stderr"))),
                status: Some(err.join(format!("{i}.status"))),
            })
            .collect();
        const SCRIPT: &str = r#"out=$1; err=$2; n=$3; shift 3
i=1
while [ "$i" -le "$n" ]; do
    ( "$@" >"$out/$i" 2>"$err/$i.stderr"; echo $? >"$err/$i.status" ) &
    i=$((i + 1))
done
wait"#;
        let mut command = self.command("sh");
        command
            .args(["-c", SCRIPT, "sh"])
            .arg(&out)
            .arg(&err)
            .arg(n.to_string())
            .arg(program)
            .args(args);
        Pty::spawn(command, captures)
    }

    fn next_capture(&self) -> usize {
        self.pty_outputs.fetch_add(1, Ordering::Relaxed)
    }

    /// Locks the keyring's login collection (`org.freedesktop.Secret.Service.Lock`), as
    /// a screen lock or `secret-tool lock` would; returns once it reports `Locked=true`.
    /// Nothing can unlock it again: no prompter runs on the rig's bus.
    pub fn lock_keychain(&self) {
        let reply = dbus_call(
            &self.bus_address,
            "org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            &["array:objpath:/org/freedesktop/secrets/collection/login"],
        );
        assert!(
            reply.contains("/org/freedesktop/secrets/collection/login"),
            "Lock did not lock the login collection: {reply:?}"
        );
        let locked = dbus_call(
            &self.bus_address,
            "org.freedesktop.secrets",
            "/org/freedesktop/secrets/collection/login",
            "org.freedesktop.DBus.Properties.Get",
            &["string:org.freedesktop.Secret.Collection", "string:Locked"],
        );
        assert!(
            locked.contains("boolean true"),
            "still unlocked: {locked:?}"
        );
    }

    /// The copies of sessions that the tool made in the user's kernel keyring (`@u`) for
    /// this rig, as `(key id, description)`; empty where keyutils is unavailable. The
    /// tool names them `aws-mfa-proc:RUNTIME:IDENTITY:SESSION:ITEM`, RUNTIME being the
    /// first 6 bytes, in hex, of the SHA-256 of `XDG_RUNTIME_DIR` (see src/cache.rs),
    /// which differs for every rig. Computed from [`Rig::env`]: copies made by a command
    /// whose environment changes XDG_RUNTIME_DIR are not found.
    pub fn kernel_copies(&self) -> Vec<(String, String)> {
        use sha2::{Digest, Sha256};
        let env = self.env();
        let runtime = env
            .iter()
            .find(|(key, _)| key == "XDG_RUNTIME_DIR")
            .map_or("", |(_, value)| value.as_str());
        let digest = Sha256::digest(runtime.as_bytes());
        let namespace: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let prefix = format!("user: aws-mfa-proc:{namespace}:");
        // `keyctl show` prints one key a line: `ID PERMS UID GID \_ TYPE: DESCRIPTION`.
        keyctl(&["show", "@u"])
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let at = line.find(&prefix)?;
                let id = line.split_whitespace().next()?.to_owned();
                Some((id, line[at + "user: ".len()..].to_owned()))
            })
            .collect()
    }

    /// Runs `secret-tool args…` against this rig's keyring with empty stdin.
    pub fn secret_tool(&self, args: &[&str]) -> Output {
        self.secret_tool_input(args, "")
    }

    /// Runs `secret-tool args…` against this rig's keyring with `input` on stdin (the
    /// secret, for `secret-tool store`). Panics if it takes longer than 10 s.
    pub fn secret_tool_input(&self, args: &[&str], input: &str) -> Output {
        let mut command = self.command("secret-tool");
        command.args(args);
        run_bounded(command, input.as_bytes(), CALL_TIMEOUT)
    }

    /// Forgets everything moto holds (roles, users, stacks…).
    pub fn moto_reset(&self) {
        moto_api(self.moto_port, "POST", "/moto-api/reset");
    }

    /// Starts recording requests to moto, dropping any earlier recording.
    pub fn moto_start_recording(&self) {
        moto_api(self.moto_port, "POST", "/moto-api/recorder/reset-recording");
        moto_api(self.moto_port, "POST", "/moto-api/recorder/start-recording");
    }

    /// The requests moto saw since [`Rig::moto_start_recording`], one line each:
    /// `METHOD URL key=ACCESS_KEY_ID BODY`, with the form body decoded, e.g.
    /// `POST http://127.0.0.1:PORT/ key=AKIA… Action=GetSessionToken&…&TokenCode=123456`.
    /// The key is the one that signed the request (empty when unsigned).
    pub fn moto_recorded_requests(&self) -> String {
        let recording = moto_api(
            self.moto_port,
            "GET",
            "/moto-api/recorder/download-recording",
        );
        recording
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| recorded_request(line) + "\n")
            .collect()
    }
}

impl Drop for Rig {
    /// Removes the rig's kernel-keyring copies, then runs the leak audit (see the module
    /// docs), unless the test already failed, so that its own message is the one shown.
    /// The daemons and the directory go afterwards, also when the audit panics.
    fn drop(&mut self) {
        for (id, _) in self.kernel_copies() {
            let _ = keyctl(&["invalidate", &id]);
        }
        end_strays(self.dir());
        if thread::panicking() {
            return;
        }
        let leaks: Vec<String> = crate::support::KNOWN_SECRETS
            .iter()
            .flat_map(|secret| {
                crate::support::files_containing(self.dir(), secret)
                    .into_iter()
                    .map(move |file| format!("{} holds {secret:?}", file.display()))
            })
            .collect();
        assert!(
            leaks.is_empty(),
            "a known secret is in a file under the rig:\n{}",
            leaks.join("\n")
        );
    }
}

mod daemons;
mod pty;

use daemons::*;
use pty::Capture;
pub use pty::{Pty, Run};
