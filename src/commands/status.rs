//! `status [PROFILE]`: every profile that runs aws-mfa-proc and every role profile that
//! chains from one (or the one named), its keys, its session (for a role: the role's,
//! and the MFA session it is assumed with), the keychain, a full kernel-keyring quota,
//! and what is wrong with the layout.
//!
//! Invariants: reading only, nothing is asked, refreshed or stored; the exit status is
//! 1 when a profile shown cannot work (misconfigured, keys missing or unreadable, no
//! keychain, nothing can be cached, a layout warning about it), 0 otherwise.

use super::Ctx;
use super::Error;
use crate::cache::Cache;
use crate::cli::Selection;
use crate::config::{KeySource, Target};
use crate::credentials::iso8601;
use crate::output;
use crate::store::Lookup;

pub(crate) fn run(ctx: &mut Ctx<'_>, _: &Selection) -> Result<u8, Error> {
    let config = ctx.config()?;
    let backend = ctx.cache.backend();
    let mut broken = backend.is_err();
    let mut lines = vec![match &backend {
        Ok(b) => format!(
            "keychain: {}{}",
            b.name(),
            if b.durable() {
                ""
            } else {
                " (cleared at reboot)"
            }
        ),
        Err(e) => format!("keychain: unavailable: {e}"),
    }];
    if let Some((blocks, full)) = ctx.cache.quota_full() {
        broken |= blocks;
        lines.push(format!("kernel keyring: {full}"));
    }
    let profiles: Vec<&str> = match &ctx.profile {
        Some(named) => vec![named.as_str()],
        None => {
            let mut all = Vec::new();
            for helper in config.helper_profiles() {
                for name in std::iter::once(helper).chain(config.roles_from(helper)) {
                    if !all.contains(&name) {
                        all.push(name);
                    }
                }
            }
            all
        }
    };
    if profiles.is_empty() {
        broken = true;
        lines.push(format!(
            "no profile in {} runs aws-mfa-proc",
            config.config_path().display()
        ));
    }
    for name in &profiles {
        let line = match (config.target(ctx.env, name, None), &backend) {
            (Err(e), _) => {
                broken = true;
                format!("{name}: misconfigured: {e}")
            }
            (Ok(t), Err(_)) => format!("{name}: {}; session unknown", t.summary()),
            (Ok(t @ Target::Session(_)), Ok(_)) => {
                let (keys, keys_ok) = keys_state(ctx.cache, &t.mfa().keys);
                broken |= !keys_ok;
                format!(
                    "{name}: {} ({keys}); {}",
                    t.summary(),
                    session_state(ctx, &t)
                )
            }
            (Ok(t @ Target::Role(_)), Ok(_)) => {
                let (keys, keys_ok) = keys_state(ctx.cache, &t.mfa().keys);
                broken |= !keys_ok;
                // An SDK role profile is assumed by the SDK that reads it; only the MFA
                // session it chains from is ours to cache.
                let role = if config.credential_process(name).is_some() {
                    format!("role {}", session_state(ctx, &t))
                } else {
                    "the role is assumed by the SDK".to_string()
                };
                format!(
                    "{name}: {}; {role}; MFA session ({keys}): {}",
                    t.summary(),
                    session_state(ctx, &Target::Session(t.mfa().clone()))
                )
            }
        };
        lines.push(line);
    }
    for finding in config.findings() {
        let about = finding.profile.as_deref();
        if about.is_none_or(|p| profiles.contains(&p) || ctx.profile.is_none()) {
            let kind = if finding.advice { "NOTE" } else { "WARNING" };
            broken |= !finding.advice;
            let who = about.map(|p| format!("{p}: ")).unwrap_or_default();
            lines.push(format!("{kind}: {who}{}", finding.text));
        }
    }
    for line in lines {
        output::report(ctx.out, &line);
    }
    Ok(u8::from(broken))
}

/// Where the keys stand, and whether that works.
fn keys_state(cache: &Cache, keys: &KeySource) -> (String, bool) {
    match keys {
        KeySource::Keychain(name) => match cache.keys(name) {
            Ok(Lookup::Found(keys)) => match &keys.rotated_from {
                None => (format!("keys {} stored", keys.access_key_id), true),
                Some(old) => (
                    format!(
                        "keys {} stored; a rotation stopped half-way and {old} may still exist: run `aws-mfa-proc rotate {name}`",
                        keys.access_key_id
                    ),
                    true,
                ),
            },
            Ok(Lookup::Missing) => match cache.keys_elsewhere(name) {
                Some((kept, _)) => (
                    format!(
                        "keys MISSING here: they were stored in the {kept}, which this shell does not reach"
                    ),
                    false,
                ),
                None => (
                    format!("keys MISSING: run `aws-mfa-proc add {name}`"),
                    false,
                ),
            },
            Ok(Lookup::Unreadable(damage)) => (
                format!("keys UNREADABLE ({damage}): run `aws-mfa-proc add {name}`"),
                false,
            ),
            Err(e) => (format!("keys unreadable: {e}"), false),
        },
        KeySource::SharedProfile { .. } => ("keys present".to_string(), true),
        KeySource::SignIn { profile, .. } => match cache.sign_in(profile) {
            Ok(Lookup::Found(t)) if t.login_session.is_empty() => {
                ("signed in (AWS Sign-In)".to_string(), true)
            }
            Ok(Lookup::Found(t)) => (format!("signed in as {}", t.login_session), true),
            Ok(_) => (
                format!("NOT signed in: run `aws-mfa-proc login {profile}`"),
                false,
            ),
            Err(e) => (format!("sign-in unreadable: {e}"), false),
        },
    }
}

fn session_state(ctx: &Ctx<'_>, target: &Target) -> String {
    let now = ctx.clock.now();
    match ctx.cache.cached(target, now) {
        Ok(Some(c)) if c.expiration > now => {
            let left = c.remaining(now);
            format!(
                "cached until {} ({}h{:02}m left)",
                iso8601(c.expiration),
                left.num_hours(),
                left.num_minutes() % 60
            )
        }
        Ok(_) => "nothing cached".to_string(),
        Err(e) => format!("cache unreadable: {e}"),
    }
}
