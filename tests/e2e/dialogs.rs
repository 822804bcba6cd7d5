//! No dead end without a terminal: a desktop dialog (zenity on a virtual X display), a
//! code command (`mfa_process`, with oathtool as a real TOTP source) or a YubiKey
//! (`ykman`, a stand-in: there is no key here). One dialog for any number of callers;
//! a cancel stops them all and holds new dialogs back for a minute.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::display::{Display, READY_TIMEOUT};
use crate::rig::{Rig, Run};
use crate::standin;
use crate::support::*;
use crate::tools::*;

/// What a waiting caller logs (with `AWS_MFA_PROC_LOG=debug`) when another one holds the
/// prompt: the event the tests wait for instead of sleeping.
const WAITING: &str = "another aws-mfa-proc is refreshing; waiting";

/// A caller started as an IDE starts the AWS CLI: no controlling terminal, stdin closed.
/// Its stderr goes to a file the test can read while it runs; it logs at debug level, so
/// the test sees when it waits for another caller's prompt.
struct Caller {
    child: Child,
    stderr: PathBuf,
}

impl Caller {
    fn start(rig: &Rig, program: &str, args: &[&str]) -> Caller {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stderr = rig.dir().join(format!("caller-{n}.stderr"));
        let child = rig
            .command("setsid")
            .arg(program)
            .args(args)
            .env("AWS_MFA_PROC_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("spawn");
        Caller { child, stderr }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn is_waiting(&self) -> bool {
        self.stderr().contains(WAITING)
    }

    /// Panics, with its stderr, if the caller has already ended: whatever the test
    /// waits for will not come.
    fn assert_running(&mut self, waiting_for: &str) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "a caller ended ({status}) while the test waited for {waiting_for}; its stderr:\n{}",
                self.stderr()
            );
        }
    }

    /// Waits for the caller to end (panics after the hang guard); how it ended.
    fn finished(self) -> Run {
        let Caller { child, stderr } = self;
        let (tx, rx) = std::sync::mpsc::channel();
        let pid = child.id();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let out = match rx.recv_timeout(HANG_GUARD) {
            Ok(out) => out.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                panic!(
                    "a caller hung for {HANG_GUARD:?}; its stderr:\n{}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
        };
        let run = Run {
            status: out.status,
            stdout: text(&out.stdout),
            stderr: std::fs::read_to_string(&stderr).unwrap(),
        };
        assert_no_secret("stderr", &run.stderr);
        run
    }
}

/// Waits until `display` shows an aws-mfa-proc dialog; its window id. Fails at once,
/// with the caller's stderr, if one of `callers` ends first (a dialog that could not
/// open, a refusal), and loudly after [`READY_TIMEOUT`].
fn dialog_of(display: &Display, callers: &mut [Caller]) -> String {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(window) = display.dialogs().into_iter().next() {
            return window;
        }
        for caller in callers.iter_mut() {
            caller.assert_running("a dialog");
        }
        assert!(
            Instant::now() < deadline,
            "no dialog appeared within {READY_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `n` of `callers` wait for another caller's prompt (they logged it).
fn until_waiting(callers: &mut [Caller], n: usize) {
    let deadline = Instant::now() + READY_TIMEOUT;
    while callers.iter().filter(|c| c.is_waiting()).count() < n {
        for caller in callers.iter_mut() {
            caller.assert_running("callers to wait for the prompt");
        }
        assert!(
            Instant::now() < deadline,
            "{n} callers did not all wait for the one prompt within {READY_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A rig whose STS is a stand-in, on a virtual display, with the config.
fn on_a_desktop() -> (Rig, standin::StandIn, Display) {
    let (mut rig, sts) = with_standin();
    let display = Display::start();
    rig.set_env("DISPLAY", display.name());
    (rig, sts, display)
}

#[test]
fn an_ide_without_a_terminal_gets_one_dialog_and_the_role() {
    let mut rig = Rig::new();
    configured(&rig);
    let display = Display::start();
    rig.set_env("DISPLAY", display.name());
    rig.moto_start_recording();

    let mut cli = [Caller::start(
        &rig,
        "aws",
        &["sts", "get-caller-identity", "--profile", "production"],
    )];
    let dialog = dialog_of(&display, &mut cli);
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    display.screenshot(&dialog, &shots.join("dialog.png"));
    display.answer(&dialog, "123456");
    let [cli] = cli;
    let run = cli.finished();
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        run.stdout.contains("assumed-role/Role-Name-To-Assume"),
        "{}",
        run.stdout
    );

    let recorded = rig.moto_recorded_requests();
    forget_moto_recording(&rig);
    assert_eq!(calls_to(&recorded, "GetSessionToken"), 1, "{recorded}");
    assert!(recorded.contains("TokenCode=123456"), "{recorded}");
    assert!(display.dialogs().is_empty(), "the dialog is gone");
}

#[test]
fn eight_callers_without_a_terminal_share_one_dialog_and_one_sts_call() {
    let (rig, sts, display) = on_a_desktop();
    let mut callers: Vec<Caller> = (0..8)
        .map(|_| Caller::start(&rig, "aws-mfa-proc", &["--profile", "mfa"]))
        .collect();
    let dialog = dialog_of(&display, &mut callers);
    // Every other caller has reached the lock and waits: still one dialog.
    until_waiting(&mut callers, 7);
    assert_eq!(display.dialogs().len(), 1, "one dialog for eight callers");
    display.answer(&dialog, standin::SLOW_CODE);
    let runs: Vec<Run> = callers.into_iter().map(Caller::finished).collect();
    for (i, run) in runs.iter().enumerate() {
        assert!(run.status.success(), "caller {i}: {}", run.stderr);
        assert_eq!(
            assert_standin_session(&run.stdout),
            assert_standin_session(&runs[0].stdout)
        );
    }
    assert_eq!(sts.codes(), [standin::SLOW_CODE], "one GetSessionToken");
}

#[test]
fn cancelling_the_dialog_stops_every_waiting_caller_and_holds_new_dialogs_back() {
    let (rig, sts, display) = on_a_desktop();
    let mut callers: Vec<Caller> = (0..3)
        .map(|_| Caller::start(&rig, "aws-mfa-proc", &["--profile", "mfa"]))
        .collect();
    let dialog = dialog_of(&display, &mut callers);
    until_waiting(&mut callers, 2);
    let cancelled = Instant::now();
    display.cancel(&dialog);
    for caller in callers {
        let run = caller.finished();
        // Stopped by the cancel, not by waiting out the lock (45 s) or the STS deadline.
        assert_failed_before_the_sts_deadline(
            "a caller waiting on a cancelled dialog",
            cancelled.elapsed(),
        );
        assert_failed_with(&run, &["cancel", "aws-mfa-proc login --profile mfa"]);
    }
    eprintln!(
        "every caller stopped {:?} after the cancel",
        cancelled.elapsed()
    );

    // A new caller within the minute: no dialog, a fast failure that says why.
    let started_at = Instant::now();
    let run = Caller::start(&rig, "aws-mfa-proc", &["--profile", "mfa"]).finished();
    assert_failed_before_the_sts_deadline("a caller after a cancel", started_at.elapsed());
    assert_failed_with(
        &run,
        &["cancelled", "s ago", "aws-mfa-proc login --profile mfa"],
    );
    assert!(
        display.dialogs().is_empty(),
        "a dialog opened during the cooldown"
    );

    // login ignores the cooldown.
    let mut login = [Caller::start(
        &rig,
        "aws-mfa-proc",
        &["login", "--profile", "mfa"],
    )];
    let dialog = dialog_of(&display, &mut login);
    display.answer(&dialog, "123456");
    let [login] = login;
    let login = login.finished();
    assert!(login.status.success(), "{}", login.stderr);
    assert_eq!(sts.codes(), ["123456"]);
}

#[test]
fn mfa_process_with_oathtool_sends_exactly_the_code_oathtool_prints() {
    let (rig, sts) = with_standin();
    let secret = "JBSWY3DPEHPK3PXP";
    rig.write_config(&CONFIG.replace(
        "region = eu-west-1\n",
        &format!("region = eu-west-1\nmfa_process = oathtool --totp -b {secret}\n"),
    ));
    let oathtool = || {
        text(
            &Command::new("oathtool")
                .args(["--totp", "-b", secret])
                .output()
                .unwrap()
                .stdout,
        )
        .trim()
        .to_owned()
    };
    let before = oathtool();
    let run = Run::from(detached(&rig, "aws-mfa-proc", &["--profile", "mfa"]));
    let after = oathtool();
    assert!(run.status.success(), "{}", run.stderr);
    assert_standin_session(&run.stdout);
    let sent = sts.codes();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0] == before || sent[0] == after,
        "{sent:?} is not {before} or {after}"
    );
}

#[test]
fn mfa_process_gets_no_credentials_in_its_environment_and_a_bad_answer_names_it() {
    let (rig, sts) = with_standin();
    let seen = rig.home().join("mfa_process.env");
    let with = |command: &str| {
        rig.write_config(&CONFIG.replace(
            "region = eu-west-1\n",
            &format!("region = eu-west-1\nmfa_process = {command}\n"),
        ));
    };
    // The caller's environment holds long-term keys (a user with exported keys).
    let call = || {
        let mut command = rig.command("setsid");
        command
            .args(["aws-mfa-proc", "--profile", "mfa"])
            .env("AWS_ACCESS_KEY_ID", LONG_TERM_ID)
            .env("AWS_SECRET_ACCESS_KEY", LONG_TERM_SECRET);
        Run::from(run(&mut command))
    };
    with(&format!("env > {}; echo 123456", seen.display()));
    let ok = call();
    assert!(ok.status.success(), "{}", ok.stderr);
    let env = std::fs::read_to_string(&seen).unwrap();
    assert!(
        !env.contains("AWS_SECRET_ACCESS_KEY") && !env.contains(LONG_TERM_SECRET),
        "{env}"
    );

    run(rig
        .command("aws-mfa-proc")
        .args(["logout", "--profile", "mfa"]));
    with("echo not-a-code");
    assert_failed_with(&call(), &["mfa_process `echo not-a-code`", "6-digit"]);
    with("echo oops >&2; exit 3");
    assert_failed_with(&call(), &["mfa_process", "failed", "oops"]);
    assert_eq!(sts.codes(), ["123456"], "nothing else reached STS");
}

#[test]
fn ykman_is_asked_for_the_account_and_device_and_its_code_reaches_sts() {
    let (mut rig, sts) = with_standin();
    // A stand-in ykman (no YubiKey here): records its arguments, prints a new code
    // each time (65432N for its Nth run).
    let bin = rig.dir().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let argv = rig.dir().join("ykman.argv");
    let ykman = bin.join("ykman");
    std::fs::write(
        &ykman,
        format!(
            "#!/bin/sh\necho \"$*\" >> {argv}\necho 65432$(wc -l < {argv})\n",
            argv = argv.display()
        ),
    )
    .unwrap();
    assert!(
        Command::new("chmod")
            .arg("755")
            .arg(&ykman)
            .status()
            .unwrap()
            .success()
    );
    let path = rig.env().into_iter().find(|(k, _)| k == "PATH").unwrap().1;
    rig.set_env("PATH", format!("{}:{path}", bin.display()));
    rig.set_env("YKMAN_OATH_DEVICE_SERIAL", "12345678");
    // (extra profile settings, YKMAN_OATH_CREDENTIAL_NAME, the account asked for)
    let cases = [
        ("", "", "arn:aws:iam::111111111111:mfa/alice"),
        ("", "AWS:from-env", "AWS:from-env"),
        (
            "aws_mfa_proc_ykman_account = AWS:alice\n",
            "AWS:from-env",
            "AWS:alice",
        ),
    ];
    for (i, (extra, from_env, account)) in cases.into_iter().enumerate() {
        rig.write_config(&CONFIG.replace(
            "region = eu-west-1\n",
            &format!("region = eu-west-1\naws_mfa_proc_prompt = ykman\n{extra}"),
        ));
        rig.set_env("YKMAN_OATH_CREDENTIAL_NAME", from_env);
        let run = Run::from(detached(
            &rig,
            "aws-mfa-proc",
            &["login", "--profile", "mfa"],
        ));
        assert!(run.status.success(), "{}", run.stderr);
        let calls = std::fs::read_to_string(&argv).unwrap();
        assert_eq!(
            calls.lines().nth(i).unwrap(),
            format!("--device 12345678 oath accounts code --single -- {account}")
        );
    }
    assert_eq!(sts.codes(), ["654321", "654322", "654323"]);
}
