//! `serve [PROFILE] [--port N]`: the local credential endpoint ([`crate::server`]) in the
//! foreground, for a container on the host network, until Ctrl-C.
//!
//! Invariants:
//! - the credentials are fetched before the endpoint opens, so a code needed now is
//!   asked now, here; later ones are asked as for any call (this terminal is ours);
//! - stdout gets the two `export` lines and nothing else; the token is shown there
//!   only, because the person asked for it;
//! - connections from this user and from root are let in: a container on the host
//!   network runs as root (rootful Docker) or as this user (rootless Docker, Podman).
//!   Anyone else's is closed unanswered and reported on stderr. The token guards the
//!   rest: another process of this user or root without it gets 401;
//! - Ctrl-C (SIGINT) or SIGTERM stops it, with exit code 0.

use super::Ctx;
use super::Error;
use crate::cli::ServeArgs;
use crate::config::Target;
use crate::loopback::{Peers, Refused};
use crate::server::{Endpoint, TOKEN_VARIABLE, URI_VARIABLE};
use crate::session::Mode;

pub(crate) fn run(ctx: &mut Ctx<'_>, args: &ServeArgs) -> Result<u8, Error> {
    let target = ctx.target()?;
    let profile = target.profile().to_string();
    ctx.credentials(&target, Mode::Cached)?;
    let endpoint = Endpoint::start(args.port.unwrap_or(0), Peers::ThisUserAndRoot)
        .map_err(|e| Error::Input(format!("profile `{profile}`: {e}")))?;
    let stop = stop_on_signals()
        .map_err(|e| Error::Input(format!("profile `{profile}`: cannot catch Ctrl-C: {e}")))?;
    write!(
        ctx.out,
        "export {URI_VARIABLE}='{}'\nexport {TOKEN_VARIABLE}='{}'\n",
        endpoint.uri(),
        endpoint.token()
    )
    .and_then(|()| ctx.out.flush())
    .map_err(Error::Output)?;
    crate::log::notice(&format!(
        "serving profile `{profile}` at {} until Ctrl-C",
        endpoint.uri()
    ));
    let role_arn = match &target {
        Target::Role(role) => Some(role.role_arn.clone()),
        Target::Session(_) => None,
    };
    let mut credentials = || {
        ctx.credentials(&target, Mode::Cached)
            .map(|served| served.credentials)
            .map_err(|e| e.line())
    };
    let mut refused = |r: Refused| {
        let who = r
            .uid
            .map_or("a process whose owner cannot be found".into(), |uid| {
                format!("user {uid}")
            });
        crate::log::notice(&format!(
            "refused a connection from {who} (port {}): only this user and root are served; run the container as root or with --user $(id -u)",
            r.peer.port()
        ));
    };
    let code = endpoint.serve(
        role_arn.as_deref(),
        &mut credentials,
        &mut refused,
        &mut || stop.load(std::sync::atomic::Ordering::Relaxed).then_some(0),
    );
    crate::log::notice(&format!("stopped serving profile `{profile}`"));
    Ok(code)
}

/// A flag set by Ctrl-C or SIGTERM, which then no longer end the process at once.
#[cfg(unix)]
fn stop_on_signals() -> std::io::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    Ok(stop)
}

/// Elsewhere Ctrl-C ends the process as it always does.
#[cfg(not(unix))]
fn stop_on_signals() -> std::io::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    Ok(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(
        false,
    )))
}
