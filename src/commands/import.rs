//! `import --from-profile SRC [PROFILE]`: leave plaintext behind. (`import
//! --from-login-session SRC`, an `aws login` session, is [`super::import_login`].)
//!
//! Moves SRC's static keys from ~/.aws/credentials into the keychain under PROFILE
//! (the layout where the keys sit in `[default]` and the helper line says
//! `--source-profile default`), then offers to delete sections of plaintext session
//! keys (`aws_session_token`, as the old rotation scripts wrote them).
//!
//! Invariants:
//! - the keys are stored before anything is removed from the file;
//! - exactly SRC's `aws_access_key_id` and `aws_secret_access_key` lines go; every
//!   other byte of the file stays; a 0600 backup is kept and named; a symlinked file
//!   is changed at its target, and the target is named (`edit::write`);
//! - a helper line that read the keys from SRC (`--source-profile SRC`) is changed to
//!   read them from the keychain, after a backup of the config;
//! - a session section is deleted only after a yes at the terminal, or with
//!   `--delete-sessions`.

use super::Ctx;
use super::Error;
use crate::cli::ImportArgs;
use crate::config::edit::{self, In};
use crate::config::{Config, Paths, command_words, flag_value, quote};
use crate::credentials::LongTermKeys;
use crate::output;
use crate::secret::Secret;
use crate::store::Lookup;

pub(crate) fn run(ctx: &mut Ctx<'_>, args: &ImportArgs) -> Result<u8, Error> {
    if let Some(src) = &args.source_profile {
        return Err(Error::Input(format!(
            "import names the profile whose keys move with --from-profile; nothing was changed. Run `aws-mfa-proc import --from-profile {}`",
            crate::error::one_line(src, 64)
        )));
    }
    if let Some(src) = &args.from_login_session {
        return super::import_login::run(ctx, src);
    }
    let config = Config::load(ctx.env).map_err(|source| Error::Config {
        profile: None,
        source,
    })?;
    let paths = Paths::locate(ctx.env);
    let stamp = ctx.clock.now().format("%Y%m%dT%H%M%S").to_string();
    let mut lines = Vec::new();
    let credentials = read(&paths.credentials)?;
    let mut text = credentials.clone();
    if let Some(src) = &args.from_profile {
        lines.extend(move_keys(ctx, &config, &paths, src, &mut text, &stamp)?);
    }
    lines.extend(offer_sessions(
        ctx,
        &config,
        &paths,
        args.delete_sessions,
        &mut text,
    ));
    if text != credentials {
        let written = write(&paths.credentials, &text, &stamp)?;
        if let Some(real) = &written.real {
            lines.push(format!(
                "{} is a link: the lines were removed from its target {}, and the link kept",
                paths.credentials.display(),
                real.display()
            ));
        }
        if let Some(backup) = written.backup {
            lines.push(format!(
                "The copy of the old {} ({}, 0600) still holds what was removed, in plaintext: delete it once all works",
                paths.credentials.display(),
                backup.display()
            ));
        }
    }
    if lines.is_empty() {
        return Err(Error::Input(format!(
            "nothing to import: {} holds no session keys, and no --from-profile SRC was given to move SRC's keys into the keychain (keys exported in an .envrc: `aws-mfa-proc add NAME --from-env`)",
            paths.credentials.display()
        )));
    }
    for line in lines {
        output::report(ctx.out, &line);
    }
    Ok(0)
}

/// The helper profile whose credential_process reads its keys from `src`.
fn helper_reading_from(config: &Config, src: &str) -> Option<String> {
    config
        .helper_profiles()
        .into_iter()
        .find(|p| {
            config
                .credential_process(p)
                .and_then(|l| flag_value(l, "--source-profile"))
                .as_deref()
                == Some(src)
        })
        .map(str::to_string)
}

fn move_keys(
    ctx: &mut Ctx<'_>,
    config: &Config,
    paths: &Paths,
    src: &str,
    text: &mut String,
    stamp: &str,
) -> Result<Vec<String>, Error> {
    let credentials = paths.credentials.display().to_string();
    let (id, secret, token) = config.static_key_lines(src);
    let (Some(id), Some(secret)) = (id, secret) else {
        return Err(Error::Input(format!(
            "profile `{src}` has no aws_access_key_id and aws_secret_access_key in {credentials}; nothing was changed"
        )));
    };
    if token.is_some() || id.starts_with("ASIA") {
        return Err(Error::Input(format!(
            "profile `{src}` holds temporary session keys (aws_session_token), not an IAM user's long-term keys; nothing was imported (delete them with `aws-mfa-proc import --delete-sessions`)"
        )));
    }
    // Keys stored under a name no profile uses would be lost to the person.
    let name = match &ctx.profile {
        Some(name) if !config.helper_profiles().contains(&name.as_str()) => {
            return Err(Error::Input(format!(
                "no profile `{name}` in {} runs aws-mfa-proc, so keys stored for it would serve nothing; nothing was changed. Add [profile {name}] with `credential_process = aws-mfa-proc --profile {name}` and `mfa_serial` (or run `aws-mfa-proc setup`), then import again",
                paths.config.display()
            )));
        }
        Some(name) => name.clone(),
        None => helper_reading_from(config, src)
            .or_else(|| config.choose_profile(None).ok())
            .ok_or_else(|| {
                Error::Input(format!(
                    "which profile should use `{src}`'s keys? None reads them (`--source-profile {src}`) and no single profile runs aws-mfa-proc; nothing was changed. Add [profile NAME] with credential_process and mfa_serial to {} (or run `aws-mfa-proc setup`), or name it: `aws-mfa-proc import --from-profile {src} NAME`",
                    paths.config.display()
                ))
            })?,
    };
    let keys = LongTermKeys {
        access_key_id: id,
        secret_access_key: Secret::new(secret),
        rotated_from: None,
    };
    super::add::check(&keys)?;
    let keychain_error = |e| Error::Keychain(name.clone(), e);
    ctx.cache.check().map_err(keychain_error)?;
    if let Lookup::Found(stored) = ctx.cache.keys(&name).map_err(keychain_error)?
        && stored.access_key_id != keys.access_key_id
    {
        return Err(Error::Input(format!(
            "other keys ({}) are already stored for `{name}`; run `aws-mfa-proc remove {name}` first, or import under another name: `aws-mfa-proc import --from-profile {src} NAME`",
            stored.access_key_id
        )));
    }
    ctx.cache.store_keys(&name, &keys).map_err(keychain_error)?;
    let mut lines = vec![format!(
        "Stored the keys of `{src}` ({}) in the {} as `{name}`",
        keys.access_key_id,
        ctx.cache.describe()
    )];

    let (without, removed) = edit::remove_keys(
        text,
        In::Credentials(src),
        &["aws_access_key_id", "aws_secret_access_key"],
    );
    if removed > 0 {
        *text = without;
        lines.push(format!("Removed them from {credentials}"));
        if src == "default" && config.credential_process("default").is_none() {
            lines.push(format!(
                "Calls without --profile used [default]'s keys, which are gone from {credentials}: set AWS_PROFILE={name} (or a role profile) in your shell, or give [default] in {} the line `credential_process = {}`",
                paths.config.display(),
                config
                    .credential_process(&name)
                    .map(|line| without_flag(line, "--source-profile"))
                    .unwrap_or_else(|| format!("aws-mfa-proc --profile {name}"))
            ));
        }
    }
    if let Some(line) = config.credential_process(&name)
        && flag_value(line, "--source-profile").as_deref() == Some(src)
    {
        let rewritten = without_flag(line, "--source-profile");
        let text = read(&paths.config)?;
        let changed =
            edit::replace_value(&text, In::Config(&name), "credential_process", &rewritten);
        let written = write(&paths.config, &changed, stamp)?;
        lines.push(format!(
            "Changed `{name}`'s credential_process to `{rewritten}` (keys from the keychain) in {}{}",
            written.place(&paths.config),
            written
                .backup
                .map(|b| format!(" (old file: {})", b.display()))
                .unwrap_or_default()
        ));
    }
    Ok(lines)
}

/// Offers each credentials-file section holding `aws_session_token` for deletion,
/// deleting from `text` those the person says yes to (all, with `without_asking`).
fn offer_sessions(
    ctx: &mut Ctx<'_>,
    config: &Config,
    paths: &Paths,
    without_asking: bool,
    text: &mut String,
) -> Vec<String> {
    let mut lines = Vec::new();
    for profile in config.profile_names() {
        if config.static_key_lines(profile).2.is_none() || !section_in(text, profile) {
            continue;
        }
        let delete = without_asking
            || {
                let question = format!(
                    "[{profile}] in {} holds session keys in plaintext (aws_session_token); aws-mfa-proc keeps sessions in the keychain. Delete the section? [y/N] ",
                    paths.credentials.display()
                );
                matches!(
                    ctx.terminal.read_line(&question).as_deref().map(str::trim),
                    Ok("y" | "Y" | "yes")
                )
            };
        if delete {
            *text = edit::remove_section(text, In::Credentials(profile));
            lines.push(format!("Deleted [{profile}] (plaintext session keys)"));
        } else {
            lines.push(format!(
                "Kept [{profile}], which holds plaintext session keys (`aws-mfa-proc import --delete-sessions` deletes it)"
            ));
        }
    }
    lines
}

/// Whether the credentials file itself has a `[profile]` section.
fn section_in(text: &str, profile: &str) -> bool {
    edit::remove_section(text, In::Credentials(profile)) != text
}

/// The credential_process line without `--FLAG VALUE` (or `--FLAG=VALUE`).
fn without_flag(line: &str, flag: &str) -> String {
    let mut words = command_words(line).unwrap_or_default().into_iter();
    let mut kept = Vec::new();
    while let Some(word) = words.next() {
        if word == flag {
            words.next();
        } else if !word.starts_with(&format!("{flag}=")) {
            kept.push(word);
        }
    }
    kept.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

fn read(path: &std::path::Path) -> Result<String, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(Error::Input(format!("cannot read {}: {e}", path.display()))),
    }
}

fn write(path: &std::path::Path, text: &str, stamp: &str) -> Result<edit::Written, Error> {
    edit::write(path, text, stamp).map_err(|e| {
        Error::Input(format!(
            "cannot write {}: {e}; nothing in it was changed",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_profile_flag_goes_and_the_rest_of_the_line_stays() {
        assert_eq!(
            without_flag(
                "aws-mfa-proc --profile mfa --source-profile default",
                "--source-profile"
            ),
            "aws-mfa-proc --profile mfa"
        );
        assert_eq!(
            without_flag(
                "'/opt/My Tools/aws-mfa-proc' --source-profile=default",
                "--source-profile"
            ),
            "'/opt/My Tools/aws-mfa-proc'"
        );
    }
}
