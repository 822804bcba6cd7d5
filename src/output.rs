//! Every text this program hands to another program: the credential_process document,
//! environment variables, `exec`'s credentials file, the local endpoint's documents, and
//! report lines. The writers take
//! any `Write`; in real use it is stdout, which belongs to the caller.
//!
//! Invariants:
//! - in credential mode stdout carries exactly one JSON object, written in one call, and
//!   only on success;
//! - values reach these writers only after their shape was checked (see
//!   [`crate::credentials`]), and each format quotes them for its reader;
//! - every buffer that holds a secret is zeroed when dropped.

use std::io::Write;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::EnvFormat;
use crate::credentials::{SessionCredentials, iso8601};

pub(crate) use aws_mfa_proc_front::output::credential_process;

/// The ECS container-credentials document, as the SDKs' container providers read it
/// (botocore's ContainerProvider, the JS SDK's fromHttp, Go's endpointcreds, the Rust
/// SDK's ECS provider): `AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`, and
/// `RoleArn` for a role.
pub(crate) fn container_credentials(
    c: &SessionCredentials,
    role_arn: Option<&str>,
) -> Zeroizing<Vec<u8>> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Document<'a> {
        access_key_id: &'a str,
        secret_access_key: &'a str,
        token: &'a str,
        expiration: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        role_arn: Option<&'a str>,
    }
    let document = Document {
        access_key_id: &c.access_key_id,
        secret_access_key: c.secret_access_key.expose(),
        token: c.session_token.expose(),
        expiration: iso8601(c.expiration),
        role_arn,
    };
    let mut bytes = Zeroizing::new(Vec::with_capacity(
        c.session_token.expose().len() + c.secret_access_key.expose().len() + 256,
    ));
    serde_json::to_writer(&mut *bytes, &document).expect("a document of strings serializes");
    bytes
}

/// The local endpoint's refusal: `{"Code":…,"Message":…}`, the shape the SDKs' container
/// providers read from an error answer.
pub(crate) fn container_error(code: &str, message: &str) -> Vec<u8> {
    serde_json::json!({ "Code": code, "Message": message })
        .to_string()
        .into_bytes()
}

/// The credentials as environment variables, in one write. `watch` (under direnv: its
/// stdlib sets `DIRENV_IN_ENVRC=1` while an `.envrc` runs) adds a `watch_file` line for
/// the `sh` form, so the environment reloads when the session changes.
pub(crate) fn environment(
    out: &mut dyn Write,
    format: EnvFormat,
    c: &SessionCredentials,
    region: Option<&str>,
    watch: Option<&std::path::Path>,
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
    let mut text = Zeroizing::new(String::with_capacity(
        vars.iter()
            .map(|(k, v)| k.len() + 2 * v.len() + 16)
            .sum::<usize>()
            + 256,
    ));
    match format {
        EnvFormat::Json => {
            let map: std::collections::BTreeMap<&str, &str> = vars.iter().copied().collect();
            let json = Zeroizing::new(serde_json::to_string(&map)?);
            text.push_str(&json);
            text.push('\n');
        }
        _ => {
            for (name, value) in &vars {
                let value = Zeroizing::new(quote(format, value));
                let parts: [&str; 3] = match format {
                    EnvFormat::Sh => ["export ", "=", "\n"],
                    EnvFormat::Fish => ["set -gx ", " ", ";\n"],
                    EnvFormat::Powershell => ["$Env:", " = ", "\n"],
                    _ => ["", "=", "\n"],
                };
                for piece in [parts[0], name, parts[1], &value, parts[2]] {
                    text.push_str(piece);
                }
            }
            if let (EnvFormat::Sh, Some(watch)) = (format, watch) {
                text.push_str("watch_file ");
                text.push_str(&quote(format, &watch.to_string_lossy()));
                text.push('\n');
            }
        }
    }
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// `value` quoted for `format`'s reader. Dotenv values are written bare: the checked
/// values contain nothing a dotenv reader would take specially.
fn quote(format: EnvFormat, value: &str) -> String {
    let escaped = match format {
        EnvFormat::Powershell => value.replace('\'', "''"),
        EnvFormat::Fish => value.replace('\\', "\\\\").replace('\'', "\\'"),
        EnvFormat::Dotenv | EnvFormat::Json => return value.to_string(),
        EnvFormat::Sh => value.replace('\'', "'\\''"),
    };
    format!("'{escaped}'")
}

/// A credentials file (INI) with one profile holding `c` as static keys.
pub(crate) fn credentials_file(profile: &str, c: &SessionCredentials) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::with_capacity(
        c.session_token.expose().len() + profile.len() + 512,
    ));
    for piece in [
        "# Written by aws-mfa-proc exec for one program run; removed when it ends.\n[",
        profile,
        "]\naws_access_key_id = ",
        &c.access_key_id,
        "\naws_secret_access_key = ",
        c.secret_access_key.expose(),
        "\naws_session_token = ",
        c.session_token.expose(),
        "\n",
    ] {
        text.push_str(piece);
    }
    text
}

/// A line of a human-facing report (`status`, `logout`…), its control characters
/// escaped: it may quote values from AWS or a config. A reader that went away
/// (`| head`) is not an error worth reporting.
pub(crate) fn report(out: &mut dyn Write, line: &str) {
    let _ = writeln!(out, "{}", crate::error::escape_controls(line));
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
