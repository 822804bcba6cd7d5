//! Shell completion, answered by `aws-mfa-proc-full` while the user types.
//!
//! clap_complete's dynamic completion: the script a shell loads (`completions SHELL`,
//! or the files in completions/ that packages install) runs
//! `_AWS_MFA_PROC_COMPLETE=SHELL aws-mfa-proc-full -- WORDS…` at each <TAB>, and the
//! full program answers from the clap definitions in [`crate::cli`]: commands, flags,
//! and profile names read from the config at that moment.
//!
//! Invariants:
//! - the front door never answers a completion: the scripts call `aws-mfa-proc-full`,
//!   and the front door hands over any call with [`VAR`] set, so nothing on the cached
//!   path completes, and a completion request can never print credentials;
//! - a completion reads only section headers ([`crate::config::profile_names`]): no
//!   keychain, no network, no prompt, no value of any key;
//! - the variable has the program's own name, so an unrelated `COMPLETE` in a caller's
//!   environment never turns a credential call into a completion.

use clap::CommandFactory;
use clap_complete::env::{CompleteEnv, Shells};

use crate::cli::Cli;

/// Set (to the shell's name) when a shell asks for completions.
pub(crate) use aws_mfa_proc_front::door::COMPLETE_VAR as VAR;
/// The command the scripts complete.
const BIN: &str = "aws-mfa-proc";
/// The program the scripts ask, found on PATH next to the front door.
const COMPLETER: &str = "aws-mfa-proc-full";

/// Answers a shell's completion request and exits, if this run is one.
pub(crate) fn answer_if_asked() {
    CompleteEnv::with_factory(Cli::command)
        .var(VAR)
        .bin(BIN)
        .completer(COMPLETER)
        .complete();
}

/// The script that makes `shell` complete `aws-mfa-proc`.
pub(crate) fn script(shell: clap_complete::Shell) -> Vec<u8> {
    let name = shell.to_string();
    let mut script = Vec::new();
    // Every `Shell` has a dynamic completer, and a Vec takes every write (a unit test
    // renders each).
    let written = Shells::builtins()
        .completer(&name)
        .map(|completer| completer.write_registration(VAR, BIN, BIN, COMPLETER, &mut script));
    assert!(
        matches!(written, Some(Ok(()))),
        "no completion script for {name}"
    );
    match shell {
        clap_complete::Shell::Zsh => autoloadable(&String::from_utf8_lossy(&script)).into_bytes(),
        _ => script,
    }
}

/// The zsh script ends with `compdef FUNCTION aws-mfa-proc`, right when it is sourced.
/// From an fpath directory (/usr/share/zsh/vendor-completions/_aws-mfa-proc), compinit
/// runs the file as the completion function itself, on the first <TAB>: it must then
/// also complete, not only register.
fn autoloadable(script: &str) -> String {
    let function = "_clap_dynamic_completer_aws_mfa_proc";
    let register = format!("compdef {function} {BIN}");
    let both = format!(
        "if [ \"$funcstack[1]\" = \"_{BIN}\" ]; then\n    {function} \"$@\"\nelse\n    {register}\nfi"
    );
    script.replace(&register, &both)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// completions/ holds the scripts packages install; `UPDATE_COMPLETIONS=1 cargo test
    /// --lib completion_scripts` writes them.
    #[test]
    fn the_completion_scripts_in_completions_are_current() {
        use clap_complete::Shell;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
        let update = std::env::var_os("UPDATE_COMPLETIONS").is_some();
        for (shell, file) in [
            (Shell::Bash, "aws-mfa-proc.bash"),
            (Shell::Zsh, "_aws-mfa-proc"),
            (Shell::Fish, "aws-mfa-proc.fish"),
        ] {
            let script = script(shell);
            let text = String::from_utf8(script.clone()).unwrap();
            assert!(
                text.contains(&format!("{VAR}=")) && text.contains(COMPLETER),
                "{shell}: {text}"
            );
            let path = dir.join(file);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &script).unwrap();
            }
            assert!(
                std::fs::read(&path).unwrap_or_default() == script,
                "{} is stale: run `UPDATE_COMPLETIONS=1 cargo test --lib completion_scripts`",
                path.display()
            );
        }
    }

    #[test]
    fn every_shell_has_a_script_that_asks_the_full_program() {
        use clap::ValueEnum;
        for shell in clap_complete::Shell::value_variants() {
            let text = String::from_utf8(script(*shell)).unwrap();
            assert!(text.contains(VAR) && text.contains(COMPLETER), "{shell}");
        }
    }

    #[test]
    fn zsh_completes_on_the_first_tab_when_autoloaded_and_registers_when_sourced() {
        let script = String::from_utf8(script(clap_complete::Shell::Zsh)).unwrap();
        assert!(script.starts_with("#compdef aws-mfa-proc\n"), "{script}");
        assert!(
            script.contains("if [ \"$funcstack[1]\" = \"_aws-mfa-proc\" ]; then\n    _clap_dynamic_completer_aws_mfa_proc \"$@\"\nelse\n    compdef _clap_dynamic_completer_aws_mfa_proc aws-mfa-proc\nfi"),
            "{script}"
        );
    }
}
