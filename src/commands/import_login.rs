//! `import --from-login-session SRC`: an `aws login` profile becomes a sign-in profile
//! of this tool, and the AWS CLI's plaintext copy of its refresh token goes.
//!
//! SRC holds `login_session = ARN` (written by `aws login`); the CLI keeps the session
//! in `~/.aws/login/cache/` (see [`crate::signin::login_cache`]).
//!
//! Invariants, in this order:
//! - the refresh token and the key go into the keychain (`v1:signin:SRC`) and are read
//!   back and compared before anything else changes; a failure changes nothing;
//! - SRC's `login_session` line is replaced, in place, by `credential_process = <this
//!   tool's absolute path> --profile SRC` and `aws_mfa_proc_source = sign-in` (and
//!   `region = …` when SRC has none, the region the CLI signed in and refreshes in);
//!   every other byte of the config stays, a 0600 backup is kept (it holds no secret),
//!   and a symlinked config is changed at its target (`edit::write`);
//! - only then is the plaintext cache file deleted; were that to fail, the message
//!   names the file to delete by hand.

use super::Ctx;
use super::Error;
use crate::config::edit::{self, In};
use crate::config::{Config, Paths};
use crate::output;
use crate::signin::login_cache::{self, LONGEST_SESSION};
use crate::signin::stored::SignInToken;
use crate::store::Lookup;
use zeroize::Zeroizing;

pub(crate) fn run(ctx: &mut Ctx<'_>, src: &str) -> Result<u8, Error> {
    if let Some(other) = ctx.profile.as_deref().filter(|p| *p != src) {
        return Err(Error::Input(format!(
            "import --from-login-session changes profile `{src}` itself, and `{other}` was named too; nothing was changed. Run `aws-mfa-proc import --from-login-session {src}`"
        )));
    }
    let config = Config::load(ctx.env).map_err(|source| Error::Config {
        profile: Some(src.to_string()),
        source,
    })?;
    let paths = Paths::locate(ctx.env);
    let config_path = paths.config.display().to_string();
    let redo = format!("sign in again with `aws login --profile {src}`, then import again");
    if !config.profile_names().contains(&src) {
        return Err(Error::Input(format!(
            "no profile `{src}` in {config_path}; nothing was changed. Name the profile `aws login` wrote (its section has `login_session = ARN`), or sign in with `aws-mfa-proc setup --sign-in`"
        )));
    }
    let Some(session) = config.value(src, "login_session").map(str::to_string) else {
        let hint = if config.value(src, crate::config::SOURCE_KEY).is_some() {
            " (it is a sign-in profile of aws-mfa-proc already: `aws-mfa-proc login` signs it in)"
        } else {
            ""
        };
        return Err(Error::Input(format!(
            "profile `{src}` in {config_path} has no `login_session` line, so `aws login` did not make it{hint}; nothing was changed. Name the profile `aws login --profile NAME` wrote"
        )));
    };
    if config.credential_process(src).is_some() {
        return Err(Error::Input(format!(
            "profile `{src}` has both `login_session` and `credential_process`; nothing was changed. Remove the credential_process line from [profile {src}] in {config_path}, then import again"
        )));
    }
    let dir = login_cache::directory(ctx.env).ok_or_else(|| {
        Error::Input(format!(
            "cannot tell where the AWS CLI keeps its sign-ins (no HOME): set AWS_LOGIN_CACHE_DIRECTORY, then import `{src}` again"
        ))
    })?;
    let file = dir.join(login_cache::file_name(&session));
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => Zeroizing::new(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Input(format!(
                "the AWS CLI has no cached sign-in for profile `{src}` (no {}); nothing was changed. {}{redo}",
                file.display(),
                if ctx.env.var("AWS_LOGIN_CACHE_DIRECTORY").is_none() {
                    "If `aws login` ran with AWS_LOGIN_CACHE_DIRECTORY, set it here too; or "
                } else {
                    "Check AWS_LOGIN_CACHE_DIRECTORY, or "
                }
            )));
        }
        Err(e) => {
            return Err(Error::Input(format!(
                "cannot read the AWS CLI's sign-in of profile `{src}` ({}): {e}; nothing was changed",
                file.display()
            )));
        }
    };
    let cached = login_cache::parse(text, &session).map_err(|why| {
        Error::Input(format!(
            "the AWS CLI's sign-in of profile `{src}` ({}) is unusable: {why}; nothing was changed. Delete that file and {redo}",
            file.display()
        ))
    })?;
    if cached.ended(ctx.clock.now()) {
        return Err(Error::Input(format!(
            "the sign-in of profile `{src}` in {} has ended (its credentials expired at {}, and a session lasts at most {} h); nothing was changed. Delete that file and {redo}",
            file.display(),
            cached
                .expires_at
                .map(crate::credentials::iso8601)
                .unwrap_or_default(),
            LONGEST_SESSION.as_secs() / 3600
        )));
    }

    let stored = keep(ctx, src, &cached.token)?;
    let mut lines = vec![format!(
        "Stored the sign-in of `{src}` ({}) in the {}",
        cached.token.login_session,
        ctx.cache.describe()
    )];
    lines.extend(rewrite(ctx, &config, &paths, src)?);
    match std::fs::remove_file(&file) {
        Ok(()) => lines.push(format!(
            "Deleted the AWS CLI's plaintext copy of the refresh token and key ({})",
            file.display()
        )),
        Err(e) => {
            return Err(Error::Input(format!(
                "profile `{src}` now signs in through aws-mfa-proc ({stored}), but {} could not be deleted ({e}): it still holds the refresh token and key in plaintext; delete it by hand",
                file.display()
            )));
        }
    }
    lines.push(format!(
        "Next: every tool gets `{src}` and the roles that chain from it, refreshed every 15 minutes with no prompt; when the session ends, `aws-mfa-proc login {src}` signs in again"
    ));
    for line in lines {
        output::report(ctx.out, &line);
    }
    Ok(0)
}

/// Stores `token` for `src` and reads it back; says where it went.
fn keep(ctx: &mut Ctx<'_>, src: &str, token: &SignInToken) -> Result<String, Error> {
    let keychain_error = |e| Error::Keychain(src.to_string(), e);
    ctx.cache.check().map_err(keychain_error)?;
    let item = ctx
        .cache
        .store_sign_in(src, token)
        .map_err(keychain_error)?;
    let same = match ctx.cache.sign_in(src) {
        Ok(Lookup::Found(back)) => {
            back.refresh_token.expose() == token.refresh_token.expose()
                && back.dpop_key.expose() == token.dpop_key.expose()
                && back.client_id == token.client_id
        }
        _ => false,
    };
    if !same {
        let _ = ctx.cache.forget_sign_in(src);
        return Err(Error::Input(format!(
            "profile `{src}`: the {} did not give back the sign-in just stored in it; nothing was changed (the AWS CLI's copy stays). Check the keychain with `aws-mfa-proc doctor`, then import again",
            ctx.cache.describe()
        )));
    }
    Ok(format!("keychain item {item}"))
}

/// SRC's `login_session` line, replaced by the lines that make it a sign-in profile.
fn rewrite(
    ctx: &mut Ctx<'_>,
    config: &Config,
    paths: &Paths,
    src: &str,
) -> Result<Vec<String>, Error> {
    let mut new = vec![
        format!(
            "credential_process = {} --profile {src}",
            super::setup::front_door()?
        ),
        format!("{} = {}", crate::config::SOURCE_KEY, crate::config::SIGN_IN),
    ];
    // The CLI signed in, and botocore refreshes, in the session's region: keep it.
    let region_added = config.value(src, "region").is_none();
    if region_added {
        let region = ctx
            .env
            .var("AWS_REGION")
            .or_else(|| ctx.env.var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        new.push(format!("region = {region}"));
    }
    let unchanged = |why: String| {
        let _ = ctx.cache.forget_sign_in(src);
        Error::Input(format!(
            "{why}; the keychain copy was removed again and nothing was changed"
        ))
    };
    let text = std::fs::read_to_string(&paths.config)
        .map_err(|e| unchanged(format!("cannot read {}: {e}", paths.config.display())))?;
    let (changed, found) = edit::replace_line(&text, In::Config(src), "login_session", &new);
    if !found {
        return Err(unchanged(format!(
            "the `login_session` line of `{src}` is not in a [profile {src}] section of {}: edit the profile by hand",
            paths.config.display()
        )));
    }
    let stamp = ctx.clock.now().format("%Y%m%dT%H%M%S").to_string();
    let written = edit::write(&paths.config, &changed, &stamp)
        .map_err(|e| unchanged(format!("cannot write {}: {e}", paths.config.display())))?;
    Ok(vec![format!(
        "Changed [profile {src}] in {}: `login_session` made way for `credential_process` and `aws_mfa_proc_source = sign-in`{}{}",
        written.place(&paths.config),
        if region_added {
            format!(" (and {}, where it signs in)", new[2])
        } else {
            String::new()
        },
        written
            .backup
            .map(|b| format!("; the old file is in {} (0600, no secrets)", b.display()))
            .unwrap_or_default()
    )])
}
