//! `status`: every profile that runs aws-mfa-proc, its keys, its session, the keychain.
//!
//! Invariant: reading only; nothing is asked, refreshed or stored.

use super::Ctx;
use crate::cache::Cache;
use crate::config::{KeySource, Target};
use crate::credentials::iso8601;
use crate::error::Error;
use crate::output;
use crate::store::Lookup;

pub(crate) fn run(ctx: &mut Ctx<'_>, _: &()) -> Result<u8, Error> {
    let config = ctx.config()?;
    let backend = ctx.cache.vault.backend();
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
    let profiles = config.helper_profiles();
    if profiles.is_empty() {
        lines.push(format!(
            "no profile in {} runs aws-mfa-proc",
            config.config_path().display()
        ));
    }
    for name in profiles {
        let line = match (config.target(ctx.env, name, None), &backend) {
            (Err(e), _) => format!("{name}: misconfigured: {e}"),
            (Ok(t), Err(_)) => format!("{name}: {}; session unknown", describe(&t)),
            (Ok(t), Ok(_)) => format!(
                "{name}: {} ({}); {}",
                describe(&t),
                keys_state(ctx.cache, &t.mfa().keys),
                session_state(ctx, &t)
            ),
        };
        let line = match config.shadowing_key(name) {
            Some(key) => format!(
                "{line}; WARNING: `{key}` for this profile (in the config or credentials file) makes the SDKs use it instead of aws-mfa-proc: remove it"
            ),
            None => line,
        };
        let line = match config.served_profile(name) {
            Some(other) if other != name => format!(
                "{line}; WARNING: its credential_process serves `--profile {other}`, not `{name}`"
            ),
            _ => line,
        };
        lines.push(line);
    }
    for line in lines {
        output::report(ctx.out, &line);
    }
    Ok(0)
}

fn describe(target: &Target) -> String {
    match target {
        Target::Session(s) => format!(
            "MFA session of {}, keys in {}",
            s.mfa_serial,
            s.keys.describe()
        ),
        Target::Role(r) => format!(
            "role {} via the MFA session of `{}`",
            r.role_arn, r.mfa.profile
        ),
    }
}

fn keys_state(cache: &Cache, keys: &KeySource) -> String {
    match keys {
        KeySource::Keychain(name) => match cache.keys(name) {
            Ok(Lookup::Found(_)) => "keys stored".to_string(),
            Ok(Lookup::Missing) => format!("keys MISSING: run `aws-mfa-proc add {name}`"),
            Ok(Lookup::Unreadable(damage)) => {
                format!("keys UNREADABLE ({damage}): run `aws-mfa-proc add {name}`")
            }
            Err(e) => format!("keys unreadable: {e}"),
        },
        KeySource::SharedProfile { .. } => "keys present".to_string(),
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
