//! The only writer to stdout.
//!
//! Invariant: in credential mode stdout carries exactly one JSON object, written in one
//! call, and only on success; nothing else in the program may print.

use std::io::Write;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::EnvFormat;
use crate::credentials::{SessionCredentials, iso8601};

/// The credential_process document, as every SDK parses it.
pub fn credential_process(c: &SessionCredentials) -> std::io::Result<()> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Document<'a> {
        version: u8,
        access_key_id: &'a str,
        secret_access_key: &'a str,
        session_token: &'a str,
        expiration: String,
    }
    let document = Document {
        version: 1,
        access_key_id: &c.access_key_id,
        secret_access_key: c.secret_access_key.expose(),
        session_token: c.session_token.expose(),
        expiration: iso8601(c.expiration),
    };
    let mut bytes = Zeroizing::new(serde_json::to_vec(&document)?);
    bytes.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&bytes)?;
    stdout.flush()
}

/// The credentials as environment variables, in one write. Under direnv (its stdlib
/// sets `DIRENV_IN_ENVRC=1` while an `.envrc` runs) the `sh` form also asks direnv to
/// watch `stamp`, a file touched at each refresh, so the environment reloads when the
/// session changes.
pub fn environment(
    format: EnvFormat,
    c: &SessionCredentials,
    region: Option<&str>,
    stamp: &std::path::Path,
) -> std::io::Result<()> {
    let expiration = iso8601(c.expiration);
    let mut vars: Vec<(&str, &str)> = vec![
        ("AWS_ACCESS_KEY_ID", &c.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", c.secret_access_key.expose()),
        ("AWS_SESSION_TOKEN", c.session_token.expose()),
        ("AWS_CREDENTIAL_EXPIRATION", &expiration),
    ];
    if let Some(region) = region {
        vars.extend([("AWS_REGION", region), ("AWS_DEFAULT_REGION", region)]);
    }
    let mut text = Zeroizing::new(String::new());
    match format {
        EnvFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), (*v).into()))
                .collect();
            text.push_str(&serde_json::to_string(&map)?);
            text.push('\n');
        }
        _ => {
            for (name, value) in &vars {
                let line = match format {
                    EnvFormat::Sh => format!("export {name}={}\n", quote(format, value)),
                    EnvFormat::Fish => format!("set -gx {name} {};\n", quote(format, value)),
                    EnvFormat::Powershell => format!("$Env:{name} = {}\n", quote(format, value)),
                    _ => format!("{name}={value}\n"),
                };
                text.push_str(&Zeroizing::new(line));
            }
            if format == EnvFormat::Sh && std::env::var_os("DIRENV_IN_ENVRC").is_some() {
                text.push_str(&format!(
                    "watch_file {}\n",
                    quote(format, &stamp.to_string_lossy())
                ));
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Single-quoted for `format`'s shell, with each `'` escaped the way that shell reads it.
fn quote(format: EnvFormat, value: &str) -> String {
    let escaped = match format {
        EnvFormat::Powershell => value.replace('\'', "''"),
        EnvFormat::Fish => value.replace('\\', "\\\\").replace('\'', "\\'"),
        _ => value.replace('\'', "'\\''"),
    };
    format!("'{escaped}'")
}

/// A line of a human-facing report (`status`). A reader that went away (`| head`) is
/// not an error worth reporting.
pub fn report(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_each_shell() {
        assert_eq!(quote(EnvFormat::Sh, "a'b"), r"'a'\''b'");
        assert_eq!(quote(EnvFormat::Fish, r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(quote(EnvFormat::Powershell, "a'b"), "'a''b'");
    }
}
