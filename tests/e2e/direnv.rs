//! `aws-mfa-proc env` in direnv: the one-line .envrc of config-examples/direnv.envrc asks
//! for a code once, on entering the directory, and exports the session to the shell.

use std::time::Instant;

use crate::rig::{Pty, Rig, Run};
use crate::support::*;

const SHELL_PROMPT: &str = "rig-shell> ";

/// An interactive bash on the rig's terminal, with direnv hooked in, at its prompt. No
/// line editing: the terminal's echo stays off, so the screen shows output only.
fn bash_with_direnv(rig: &Rig) -> Pty {
    let mut bash = rig.pty("bash", &["--norc", "--noprofile", "--noediting", "-i"]);
    bash.send_line(&format!(
        r#"PS1='{SHELL_PROMPT}'; eval "$(direnv hook bash)""#
    ));
    bash.expect(SHELL_PROMPT);
    bash
}

/// Types `command` and waits for the next prompt; panics unless the command succeeded.
/// Returns what the terminal showed: the command's output, then what direnv printed
/// before the prompt (direnv loads, unloads and reloads there, after each command).
fn at_the_shell(bash: &mut Pty, command: &str) -> String {
    // Quoted apart, so that only the echo's output can match.
    bash.send_line(&format!(r#"{command} && echo "command""-ok""#));
    bash.expect("command-ok") + &bash.expect(SHELL_PROMPT)
}

/// Enters HOME/project, typing `code` at the prompt that its .envrc brings up.
fn enter_project_typing(bash: &mut Pty, code: &str) {
    bash.send_line("cd project");
    bash.expect(PROMPT);
    bash.send_line(code);
    let loaded = bash.expect(SHELL_PROMPT);
    assert!(
        loaded.contains("direnv: export +AWS_ACCESS_KEY_ID"),
        "{loaded}"
    );
}

/// HOME/project, holding config-examples/direnv.envrc as its .envrc, allowed.
fn project_with_the_example_envrc(rig: &Rig) {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config-examples/direnv.envrc");
    let project = rig.home().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::copy(&example, project.join(".envrc")).unwrap();
    let allowed = run(rig.command("direnv").arg("allow").arg(&project));
    assert!(allowed.status.success(), "{}", text(&allowed.stderr));
}

#[test]
fn direnv_asks_once_on_entering_and_not_again_on_re_entering() {
    let rig = Rig::new();
    configured(&rig);
    project_with_the_example_envrc(&rig);
    let mut bash = bash_with_direnv(&rig);

    enter_project_typing(&mut bash, "123456");
    let identity = at_the_shell(
        &mut bash,
        "aws sts get-caller-identity --query Arn --output text",
    );
    assert!(identity.contains("arn:aws:"), "{identity}");

    let left = at_the_shell(&mut bash, "cd ..");
    assert!(left.contains("direnv: unloading"), "{left}");
    at_the_shell(&mut bash, r#"test -z "$AWS_SESSION_TOKEN""#);
    let re_entered = at_the_shell(&mut bash, "cd project");
    assert!(re_entered.contains("direnv: loading"), "{re_entered}");
    assert_eq!(prompts_on(&re_entered), 0, "asked again:\n{re_entered}");
    at_the_shell(&mut bash, "aws sts get-caller-identity");
}

/// Returns once the wall clock is in a later whole second than when called. direnv
/// compares the watched files' mtimes in whole seconds: a file written after this
/// differs from one written before, however busy the machine.
fn until_the_next_whole_second() {
    let second = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let now = second();
    while second() == now {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn direnv_reloads_when_another_terminal_renews_the_session() {
    let rig = Rig::new();
    configured(&rig);
    project_with_the_example_envrc(&rig);
    let mut bash = bash_with_direnv(&rig);
    enter_project_typing(&mut bash, "123456");
    let unchanged = at_the_shell(&mut bash, "true");
    assert!(!unchanged.contains("direnv: loading"), "{unchanged}");

    until_the_next_whole_second();
    login(&rig, "654321");
    let renewed = at_the_shell(&mut bash, "true");
    assert!(renewed.contains("direnv: loading"), "no reload:\n{renewed}");
    assert_eq!(prompts_on(&renewed), 0, "asked again:\n{renewed}");
}

#[test]
fn env_without_a_terminal_or_a_session_fails_at_once_and_says_to_log_in() {
    let rig = Rig::new();
    configured(&rig);
    let start = Instant::now();
    let out = detached(&rig, "aws-mfa-proc", &["env", "--profile", "mfa"]);
    assert_failed_before_the_sts_deadline("env without a terminal", start.elapsed());
    assert_failed_with(&Run::from(out), &["aws-mfa-proc login --profile mfa"]);
}
