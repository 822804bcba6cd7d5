//! Trust: what a careful user, and an attacker on the same machine, found in issue 9,
//! each as a test. Logout logs out everywhere, the kernel copy is as safe as the
//! keychain, nothing leaks through a core dump, a tampered value never reaches an
//! output, and another local user can neither read, block nor redirect anything.

use std::process::Command;
use std::time::Instant;

use crate::rig::{Rig, Run};
use crate::standin;
use crate::support::*;
use crate::tools::*;

/// `/proc/keys`'s timeout and permission columns for key `id` (decimal, as keyctl
/// prints it), e.g. `("59m", "0b0b0000")`.
fn key_columns(id: &str) -> (String, String) {
    let hex = format!("{:08x}", id.parse::<u32>().unwrap());
    let keys = std::fs::read_to_string("/proc/keys").unwrap();
    let line = keys
        .lines()
        .find(|l| l.starts_with(&hex))
        .unwrap_or_else(|| panic!("key {id} ({hex}) not in /proc/keys"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    (cols[3].to_owned(), cols[4].to_owned())
}

/// The credential_process document in `stdout`, which may follow keyctl's own line.
fn document(stdout: &str) -> serde_json::Value {
    let line = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {stdout:?}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn under_a_session_keyring_without_the_user_keyring_the_copy_still_has_a_timeout_and_read_only_permissions()
 {
    if !kernel_keyring_usable() {
        return skip("the kernel keyring is not usable here");
    }
    let (rig, _sts) = with_standin();
    let front = front_door_alone(&rig);
    // `keyctl session -`: a new session keyring that does not link @u.
    let mut pty = rig.pty(
        "keyctl",
        &["session", "-", "aws-mfa-proc", "login", "--profile", "mfa"],
    );
    pty.expect(PROMPT);
    pty.send_line("123456");
    pty.expect("cached until");
    assert!(pty.wait().0.success());

    let copies = rig.kernel_copies();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let (timeout, perms) = key_columns(&copies[0].0);
    assert_ne!(timeout, "perm", "the copy has no timeout");
    assert_eq!(
        perms, "0b0b0000",
        "view, read and search for possessor and user only"
    );

    // A hit in such a session is the front door's alone.
    let hit = detached(
        &rig,
        "keyctl",
        &["session", "-", front.to_str().unwrap(), "--profile", "mfa"],
    );
    assert!(hit.status.success(), "{}", text(&hit.stderr));
    assert_eq!(
        document(&text(&hit.stdout))["SecretAccessKey"],
        standin::SESSION_SECRET
    );

    let logout = detached(
        &rig,
        "keyctl",
        &["session", "-", "aws-mfa-proc", "logout", "--profile", "mfa"],
    );
    assert!(logout.status.success(), "{}", text(&logout.stderr));
    assert!(
        rig.kernel_copies().is_empty(),
        "logout left {:?}",
        rig.kernel_copies()
    );
    let after = Run::from(detached(&rig, "aws-mfa-proc", &["--profile", "mfa"]));
    assert_failed_with(&after, &["aws-mfa-proc login"]);
}

#[test]
fn logout_removes_the_copies_made_in_every_namespace() {
    if !kernel_keyring_usable() {
        return skip("the kernel keyring is not usable here");
    }
    let (rig, _sts) = with_standin();
    login(&rig, "123456");
    // A call from an environment without XDG_RUNTIME_DIR makes a copy in another
    // namespace of the kernel keyring.
    let elsewhere = |args: &[&str]| {
        let mut command = rig.command("setsid");
        command
            .arg("aws-mfa-proc")
            .args(args)
            .env("XDG_RUNTIME_DIR", "");
        Run::from(run(&mut command))
    };
    let hit = elsewhere(&["--profile", "mfa"]);
    assert!(hit.status.success(), "{}", hit.stderr);

    let out = detached(&rig, "aws-mfa-proc", &["logout", "--profile", "mfa"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_failed_with(&elsewhere(&["--profile", "mfa"]), &["aws-mfa-proc login"]);
    let left = Command::new("keyctl")
        .args(["show", "@u"])
        .output()
        .unwrap();
    let ours: Vec<_> = text(&left.stdout)
        .lines()
        .filter(|l| l.contains("aws-mfa-proc:") && !l.contains("aws-mfa-proc:store:"))
        .map(str::to_owned)
        .collect();
    for line in &ours {
        // Other tests' copies may be there; none of this rig's session.
        assert!(rig.kernel_copies().is_empty(), "{line}");
    }
}

#[test]
fn remove_and_add_forget_every_role_made_from_the_old_keys_with_or_without_kernel_copies() {
    for kernel_cache in ["on", "off"] {
        for replace in [false, true] {
            let mut rig = Rig::new();
            configured_with_built_in_role(&rig);
            rig.set_env("AWS_MFA_PROC_KERNEL_CACHE", kernel_cache);
            login(&rig, "123456");
            let role = detached(&rig, "aws-mfa-proc", &["--profile", "production"]);
            assert!(role.status.success(), "{}", text(&role.stderr));
            let mut revoke = rig.command("aws-mfa-proc");
            if replace {
                revoke
                    .args(["add", "mfa", "--from-env"])
                    .env("AWS_ACCESS_KEY_ID", "AKIATESTLONGTERM0002")
                    .env("AWS_SECRET_ACCESS_KEY", LONG_TERM_SECRET);
            } else {
                revoke.args(["remove", "mfa"]);
            }
            let out = run(&mut revoke);
            assert!(out.status.success(), "{}", text(&out.stderr));
            let after = detached(&rig, "aws-mfa-proc", &["--profile", "production"]);
            assert!(
                !after.status.success() && after.stdout.is_empty(),
                "kernel cache {kernel_cache}, replace {replace}: the role outlived its keys"
            );
        }
    }
}

#[test]
fn a_copy_cannot_be_rewritten_and_a_malformed_replacement_is_a_miss() {
    if !kernel_keyring_usable() {
        return skip("the kernel keyring is not usable here");
    }
    let (rig, _sts) = with_standin();
    login(&rig, "123456");
    let front = front_door_alone(&rig);
    let (id, description) = rig.kernel_copies().pop().expect("a copy");
    let forged = r#"{"Version":1,"AccessKeyId":"ASIAFORGED00000001","SecretAccessKey":"a\n[evil]","SessionToken":"t","Expiration":"2099-01-01T00:00:00Z","SourceAccessKeyId":"AKIATESTLONGTERM0001"}"#;
    let padd = |extra: &str| {
        run(rig.command("sh").args([
            "-c",
            &format!("{extra} printf %s \"$1\" | keyctl padd user \"$2\" @u"),
            "sh",
            forged,
            &description,
        ]))
    };
    // Rewriting our key in place is refused: no one has write permission on it.
    assert!(
        !padd("").status.success(),
        "the copy was rewritten in place"
    );
    // Unlinking it and planting another key is possible for the same user; a planted
    // value that is not a well-formed record is a miss, never output.
    assert!(
        padd(&format!("keyctl unlink {id} @u >/dev/null;"))
            .status
            .success()
    );
    let hit = Run::from(detached(
        &rig,
        front.to_str().unwrap(),
        &["--profile", "mfa"],
    ));
    assert!(!hit.stdout.contains("FORGED"), "{}", hit.stdout);
    assert!(
        the_message(&hit.stderr).contains("cannot run"),
        "{}",
        hit.stderr
    );
    let full = Run::from(detached(&rig, "aws-mfa-proc", &["--profile", "mfa"]));
    assert!(full.status.success(), "{}", full.stderr);
    assert_standin_session(&full.stdout);
}

#[test]
fn no_core_file_is_written_while_the_prompt_holds_the_long_term_key() {
    let (rig, _sts) = with_standin();
    let cores = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("core")
            })
            .count()
    };
    // Starts `command` on a terminal in a directory of its own, with core files allowed,
    // waits for `ready` on the screen, sends SIGABRT, and counts the core files.
    let abort_in = |name: &str, command: &str, ready: &str| {
        let dir = rig.dir().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!("ulimit -c unlimited; cd \"$1\"; exec {command}");
        let mut pty = rig.pty("sh", &["-c", &script, "sh", dir.to_str().unwrap()]);
        pty.expect(ready);
        let _ = Command::new("kill")
            .args(["-ABRT", &pty.pid().to_string()])
            .status();
        let (status, _) = pty.wait();
        assert!(!status.success());
        cores(&dir)
    };
    // A control: does this machine write core files at all?
    if abort_in("control", "sh -c 'echo ready; exec sleep 30'", "ready") == 0 {
        let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
        return skip(&format!(
            "this machine writes no core files here (core_pattern {:?})",
            pattern.trim()
        ));
    }
    let written = abort_in("prompt", "aws-mfa-proc login --profile mfa", PROMPT);
    assert_eq!(written, 0, "a core file was written at the prompt");
}
#[test]
fn the_runtime_directory_is_never_a_shared_or_relative_path_and_is_checked_before_any_sweep() {
    let (mut rig, _sts) = with_standin();
    // Unset: a private directory in HOME, whatever is in /tmp.
    let squatted = std::path::Path::new("/tmp/aws-mfa-proc-0");
    let _ = std::fs::create_dir(squatted);
    rig.set_env("XDG_RUNTIME_DIR", "");
    login(&rig, "123456");
    let state = rig.home().join(".local/state/aws-mfa-proc");
    assert!(state.is_dir(), "{}", state.display());
    // Relative: never under the current directory.
    rig.set_env("XDG_RUNTIME_DIR", "relative-run");
    login(&rig, "234567");
    assert!(!rig.home().join("relative-run").exists());

    // A runtime directory replaced by a symlink to someone else's files: exec refuses
    // before it sweeps anything there.
    let run = rig.dir().join("run");
    rig.set_env("XDG_RUNTIME_DIR", run.to_str().unwrap());
    let victim = rig.dir().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("exec-999999.credentials"), "keep me").unwrap();
    let _ = std::fs::remove_dir_all(run.join("aws-mfa-proc"));
    std::os::unix::fs::symlink(&victim, run.join("aws-mfa-proc")).unwrap();
    let out = Run::from(detached(
        &rig,
        "aws-mfa-proc",
        &["exec", "--profile", "mfa", "--", "true"],
    ));
    assert_failed_with(&out, &["not a directory, or a symlink"]);
    assert!(
        victim.join("exec-999999.credentials").exists(),
        "the sweep followed the symlink"
    );
    let _ = std::fs::remove_dir(squatted);
}

#[test]
fn the_keyutils_backend_times_out_sessions_and_a_full_quota_names_the_quota() {
    let Some(user) = other_user("amp-keyutils") else {
        return skip("needs root to make a user whose kernel quota is the default (root's is not)");
    };
    if !kernel_keyring_usable() {
        return skip("the kernel keyring is not usable here");
    }
    let sts = standin::StandIn::start();
    let home = tempfile::tempdir_in("/dev/shm").unwrap();
    std::fs::write(home.path().join("config"), CONFIG).unwrap();
    let chown = |path: &std::path::Path| {
        let out = Command::new("chown")
            .args(["-R", &format!("{}:{}", user.0, user.1)])
            .arg(path)
            .status();
        assert!(out.unwrap().success());
    };
    chown(home.path());
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
    let as_them = |program: &str, args: &[&str]| run(&mut as_user(user, &env, program, args));
    let _ = as_them("keyctl", &["clear", "@u"]);

    assert!(
        as_them("aws-mfa-proc", &["add", "mfa", "--from-env"])
            .status
            .success()
    );
    let mut login = as_user(user, &env, "aws-mfa-proc", &["login", "--profile", "mfa"]);
    login.env("TERM", "xterm");
    let mut pty = crate::rig::Pty::on_a_terminal(login);
    pty.expect(PROMPT);
    pty.send_line("123456");
    pty.expect("cached until");
    assert!(pty.wait().0.success());

    let keys = text(&as_them("cat", &["/proc/keys"]).stdout);
    let column = |item: &str| -> String {
        let line = keys
            .lines()
            .find(|l| l.contains(&format!("aws-mfa-proc:store:{item}")))
            .unwrap_or_else(|| panic!("no {item} in {keys}"));
        line.split_whitespace().nth(3).unwrap().to_owned()
    };
    assert_ne!(
        column("v1:session:"),
        "perm",
        "a session item without a timeout"
    );
    assert_eq!(
        column("v1:keys:mfa"),
        "perm",
        "long-term keys last until reboot"
    );

    // Fill the per-user quota, then store more.
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
    assert!(text(&filled.stdout).trim().parse::<u32>().unwrap() > 0);
    let out = as_them("aws-mfa-proc", &["add", "other", "--from-env"]);
    let message = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(
        message.contains("quota") && message.contains("kernel.keys.maxbytes"),
        "{message}"
    );
    let _ = as_them("keyctl", &["clear", "@u"]);
}

#[test]
fn a_tampered_keychain_value_never_reaches_exec_s_file_or_a_dotenv_line() {
    use sha2::{Digest, Sha256};
    let (mut rig, _sts) = with_standin();
    // No kernel copy in front: the keychain item is what every call reads.
    rig.set_env("AWS_MFA_PROC_KERNEL_CACHE", "off");
    login(&rig, "123456");
    let item = "v1:session:keychain/mfa:arn:aws:iam::111111111111:mfa/alice";
    let record = r#"{"Version":1,"AccessKeyId":"ASIASTANDIN00001","SecretAccessKey":"s\n[evil]\ncredential_process = touch /tmp/pwned","SessionToken":"t","Expiration":"2099-01-01T00:00:00Z","SourceAccessKeyId":"AKIATESTLONGTERM0001"}"#;
    let digest: String = Sha256::digest(record.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let framed = format!("amp1 1 {digest}\n{record}");
    let cleared = rig.secret_tool(&["clear", "service", "aws-mfa-proc", "username", item]);
    assert!(cleared.status.success(), "{}", text(&cleared.stderr));
    let stored = rig.secret_tool_input(
        &[
            "store",
            "--label=tampered",
            "service",
            "aws-mfa-proc",
            "username",
            item,
        ],
        &framed,
    );
    assert!(stored.status.success(), "{}", text(&stored.stderr));

    for args in [
        &[
            "exec",
            "--profile",
            "mfa",
            "--",
            "cat",
            "/proc/self/environ",
        ][..],
        &["env", "--profile", "mfa", "--format", "dotenv"],
        &["--profile", "mfa"],
    ] {
        let out = Run::from(detached(&rig, "aws-mfa-proc", args));
        assert!(!out.stdout.contains("evil"), "{args:?}: {}", out.stdout);
        assert_failed_with(&out, &["aws-mfa-proc login"]);
    }
}

#[test]
fn an_sts_message_of_100_kb_over_many_lines_becomes_one_bounded_line() {
    let (rig, _sts) = with_standin();
    let (run, _) = answer_prompt_with(&rig, standin::HUGE_MESSAGE);
    assert_failed_with(&run, &["ValidationError"]);
    let message = the_message(&run.stderr);
    assert!(
        message.chars().count() < 1000,
        "{} characters",
        message.chars().count()
    );
}

#[test]
fn a_fifo_or_a_device_as_the_config_file_fails_at_once() {
    let rig = Rig::without_keychain();
    let fifo = rig.dir().join("config-fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for path in [fifo.to_str().unwrap(), "/dev/zero", "/dev/urandom"] {
        let started = Instant::now();
        let mut command = rig.command("setsid");
        command
            .args(["aws-mfa-proc", "--profile", "mfa"])
            .env("AWS_CONFIG_FILE", path);
        let out = Run::from(run(&mut command));
        assert_failed_before_the_sts_deadline(path, started.elapsed());
        assert_failed_with(&out, &["not a regular file"]);
    }
}

#[test]
fn while_exec_waits_for_its_program_no_copy_of_the_session_secret_is_in_its_memory() {
    let rig = Rig::new();
    configured(&rig);
    login(&rig, "123456");
    let mut pty = rig.pty(
        "aws-mfa-proc",
        &[
            "exec",
            "--profile",
            "mfa",
            "--",
            "sh",
            "-c",
            "echo started; read line",
        ],
    );
    pty.expect("started");
    // Root may read another process's memory (CAP_SYS_PTRACE), non-dumpable or not.
    let scan = r#"
import re, sys
pid, needle = sys.argv[1], sys.argv[2].encode()
found = 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (r)", line)
        if not m: continue
        start, end = int(m[1], 16), int(m[2], 16)
        try:
            mem.seek(start); found += mem.read(end - start).count(needle)
        except (OSError, ValueError, OverflowError): pass
print(found)
"#;
    let copies_in = |pid: &str| -> u32 {
        let out = Command::new(rig.python())
            .args(["-c", scan, pid, MOTO_SESSION_SECRET])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().parse().unwrap()
    };
    let exec = pty.pid().to_string();
    let child = Command::new("pgrep").args(["-P", &exec]).output().unwrap();
    let child = text(&child.stdout).trim().to_owned();
    // The control: the program's environment holds the session, and the scan finds it.
    assert!(
        copies_in(&child) >= 1,
        "the scan does not see the program's environment"
    );
    let copies = copies_in(&exec);
    pty.send_line("");
    assert!(pty.wait().0.success());
    assert_eq!(
        copies, 0,
        "copies of the session secret in exec's memory while it waits"
    );
}

#[test]
fn another_local_user_can_neither_read_block_nor_redirect_anything() {
    let Some(user) = other_user("amp-intruder") else {
        return skip("needs root to make a second local user");
    };
    let (mut rig, sts) = with_standin();
    login(&rig, "123456");
    let env: Vec<(String, String)> = vec![
        ("PATH".into(), "/usr/bin:/bin".into()),
        (
            "DBUS_SESSION_BUS_ADDRESS".into(),
            rig.env()
                .into_iter()
                .find(|(k, _)| k == "DBUS_SESSION_BUS_ADDRESS")
                .unwrap()
                .1,
        ),
    ];
    let intruder = |program: &str, args: &[&str]| run(&mut as_user(user, &env, program, args));

    // Read: the runtime directory, the keychain's bus, the kernel copies.
    let runtime = rig.dir().join("run/aws-mfa-proc");
    assert!(
        !intruder("ls", &[runtime.to_str().unwrap()])
            .status
            .success()
    );
    let keychain = intruder(
        "secret-tool",
        &["search", "--all", "service", "aws-mfa-proc"],
    );
    assert!(
        !text(&keychain.stdout).contains("secret"),
        "{}",
        text(&keychain.stdout)
    );
    for (id, _) in rig.kernel_copies() {
        let read = intruder("keyctl", &["print", &id]);
        assert!(!read.status.success(), "{}", text(&read.stdout));
    }
    // Block and redirect: squat the paths a victim might use in shared directories.
    for path in [
        "/tmp/aws-mfa-proc-0",
        "/tmp/aws-mfa-proc",
        "/dev/shm/aws-mfa-proc-exec-0-1",
    ] {
        let _ = intruder("mkdir", &["-m", "777", path]);
    }
    rig.set_env("XDG_RUNTIME_DIR", "");
    login(&rig, "234567");
    let exec = detached(
        &rig,
        "aws-mfa-proc",
        &["exec", "--profile", "mfa", "--", "true"],
    );
    assert!(exec.status.success(), "{}", text(&exec.stderr));
    assert_eq!(sts.codes(), ["123456", "234567"]);
    for path in [
        "/tmp/aws-mfa-proc-0",
        "/tmp/aws-mfa-proc",
        "/dev/shm/aws-mfa-proc-exec-0-1",
    ] {
        let _ = std::fs::remove_dir(path);
    }
}
