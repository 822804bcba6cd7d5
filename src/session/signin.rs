//! The Sign-In source, beside the TOTP source: where a `sign-in` profile's 15-minute
//! credentials come from once [`super::get`] holds the lock and found nothing fresh.
//!
//! - Credential mode: spend the stored refresh token (one `refresh_token` grant, the
//!   new token stored before anything is handed out). The lock in [`super::get`] makes
//!   that one grant for any number of callers.
//! - When the session has ended (`TOKEN_EXPIRED`, `USER_CREDENTIALS_CHANGED`) or was
//!   never made: at a terminal, sign in again there; with a desktop but no terminal,
//!   open the browser for this one caller (the others wait on the lock) for at most
//!   [`DESKTOP_PATIENCE`]; with neither, fail at once naming `aws-mfa-proc login`.
//! - `login` (refresh mode): sign in anew, in the browser (same-device), or with
//!   `--remote` by the URL and the pasted code on the terminal (cross-device).
//!
//! Invariants: the refresh token and the key go to the keychain record and nowhere
//! else; the pasted code is read from the terminal, never stdin.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Deps, Mode, SessionError};
use crate::config::{KeySource, Settings};
use crate::credentials::SessionCredentials;
use crate::loopback::Refused;
use crate::prompt::Kind;
use crate::signin::callback::{self, Callback};
use crate::signin::dpop::DpopKey;
use crate::signin::pkce::{Attempt, Device, pasted};
use crate::signin::place;
use crate::signin::stored::SignInToken;
use crate::signin::token::{Call, TokenError};
use crate::store::Lookup;

/// How long a caller with a desktop but no terminal waits for the person to sign in:
/// with the other callers' wait for the lock (45 s), under the Go SDK's 60 s kill.
pub(crate) const DESKTOP_PATIENCE: Duration = Duration::from_secs(40);

#[derive(Debug, thiserror::Error)]
pub(crate) enum SignInError {
    #[error("{0}")]
    Place(#[from] place::PlaceError),
    #[error("{0}")]
    Token(#[from] TokenError),
    #[error(
        "profile `{0}` is not signed in, and there is no terminal or browser here to sign in with: run `aws-mfa-proc login {0}`"
    )]
    NotSignedIn(String),
    #[error("{0}")]
    Ended(TokenError),
    #[error("the stored sign-in of profile `{0}` is unusable ({1}): run `aws-mfa-proc login {0}`")]
    Unusable(String, String),
    #[error(
        "cannot open a browser for the sign-in of profile `{0}` ({1}): run `aws-mfa-proc login {0} --remote` to sign in on another device"
    )]
    NoBrowser(String, String),
    #[error("the sign-in of profile `{0}` did not finish: {1}. Run `aws-mfa-proc login {0}` again")]
    Unfinished(String, String),
    #[error(
        "that is not the code the sign-in page shows for profile `{0}` (base64 text), or it belongs to another sign-in: run `aws-mfa-proc login {0} --remote` again"
    )]
    BadCode(String),
}

/// How this sign-in reaches the person.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    /// The browser on this machine, back to the loopback callback, within a deadline.
    Browser(Duration),
    /// The URL on the terminal, the code pasted back there.
    Terminal,
}

/// Fresh credentials for the sign-in profile `settings`: see the module docs.
pub(super) fn obtain(
    settings: &Settings,
    deps: &mut Deps<'_>,
    mode: Mode,
) -> Result<SessionCredentials, SessionError> {
    let KeySource::SignIn { profile, endpoint } = &settings.keys else {
        unreachable!("only sign-in profiles come here")
    };
    let place = place::place(deps.env, profile, &settings.region, endpoint.as_deref())
        .map_err(SignInError::from)?;
    if mode == Mode::Refresh {
        let way = if deps.remote {
            Way::Terminal
        } else {
            deps.browser
                .available()
                .map_err(|why| SignInError::NoBrowser(profile.clone(), why))?;
            Way::Browser(callback::PATIENCE)
        };
        return sign_in(profile, &place, way, deps);
    }
    let why = match deps.cache.sign_in(profile)? {
        Lookup::Found(stored) => match refresh(profile, &place, &stored, deps) {
            Ok(credentials) => return Ok(credentials),
            Err(SignInError::Token(e)) if e.ends_the_session() => {
                let _ = deps.cache.forget_sign_in(profile);
                SignInError::Ended(e)
            }
            Err(e) => return Err(e.into()),
        },
        Lookup::Missing => SignInError::NotSignedIn(profile.clone()),
        Lookup::Unreadable(damage) => SignInError::Unusable(profile.clone(), damage.to_string()),
    };
    let at_terminal = deps.codes.kind() == Kind::Terminal && deps.codes.ready().is_ok();
    let way = match (at_terminal, deps.browser.available().is_ok()) {
        (true, true) => Way::Browser(callback::PATIENCE),
        (true, false) => Way::Terminal,
        (false, true) => Way::Browser(DESKTOP_PATIENCE),
        (false, false) => return Err(why.into()),
    };
    if at_terminal {
        deps.codes
            .tell(&format!("aws-mfa-proc: {why}; signing in again."));
    }
    sign_in(profile, &place, way, deps)
}

/// Spends the stored refresh token; stores the next one before returning.
fn refresh(
    profile: &str,
    place: &crate::aws::Place,
    stored: &SignInToken,
    deps: &mut Deps<'_>,
) -> Result<SessionCredentials, SignInError> {
    let key = DpopKey::from_pem(&stored.dpop_key)
        .map_err(|e| SignInError::Unusable(profile.to_string(), e.to_string()))?;
    let key = Arc::new(key);
    let call = token_call(deps, place, profile, &key);
    let tokens = call.refresh(&stored.client_id, &stored.refresh_token)?;
    crate::debug!("refreshed the sign-in of `{profile}`");
    let next = SignInToken {
        refresh_token: tokens.refresh_token,
        ..stored.clone()
    };
    keep(profile, &next, deps);
    Ok(tokens.credentials)
}

/// Signs the person in, `way`, and stores the new session.
fn sign_in(
    profile: &str,
    place: &crate::aws::Place,
    way: Way,
    deps: &mut Deps<'_>,
) -> Result<SessionCredentials, SessionError> {
    let base = place.endpoint.clone().unwrap_or_default();
    let unfinished =
        |e: &dyn std::fmt::Display| SignInError::Unfinished(profile.into(), e.to_string());
    let key = Arc::new(DpopKey::generate().map_err(|e| unfinished(&e))?);
    let (attempt, code) = match way {
        Way::Browser(patience) => {
            let deadline = Instant::now() + patience;
            let listener = Callback::bind().map_err(|e| unfinished(&e))?;
            let attempt = Attempt::new(
                &base,
                Device::Same {
                    callback: listener.redirect_uri(),
                },
            )
            .map_err(|e| unfinished(&e))?;
            let url = attempt.authorize_url(&base);
            deps.browser
                .open(&url)
                .map_err(|why| SignInError::NoBrowser(profile.into(), why))?;
            deps.codes.tell(&format!(
                "aws-mfa-proc: sign in to AWS for profile `{profile}` in the browser that opened (or open {url})"
            ));
            let code = listener
                .wait(&attempt, deadline, &mut refused)
                .map_err(|e| unfinished(&e))?;
            (attempt, code)
        }
        Way::Terminal => {
            let attempt = Attempt::new(&base, Device::Cross).map_err(|e| unfinished(&e))?;
            // Two lines: a terminal's `tell` escapes a line break, and the URL must
            // stand alone to be copied.
            deps.codes.tell(&format!(
                "aws-mfa-proc: to sign in to AWS for profile `{profile}`, open this URL in a browser on any device, sign in, and paste the code it shows:"
            ));
            deps.codes.tell(&attempt.authorize_url(&base));
            let answer = deps
                .codes
                .ask("Code from the browser: ")
                .map_err(|e| unfinished(&e))?;
            let bad = || SignInError::BadCode(profile.into());
            let (code, state) = pasted(&answer).ok_or_else(bad)?;
            let code = attempt.accept(code, &state).ok_or_else(bad)?;
            (attempt, code)
        }
    };
    let tokens = token_call(deps, place, profile, &key)
        .redeem(&attempt, &code)
        .map_err(SignInError::from)?;
    let stored = SignInToken {
        refresh_token: tokens.refresh_token,
        dpop_key: key.to_pem().map_err(|e| unfinished(&e))?,
        client_id: attempt.client_id().to_string(),
        login_session: tokens.login_session.unwrap_or_default(),
    };
    keep(profile, &stored, deps);
    Ok(tokens.credentials)
}

fn token_call<'a>(
    deps: &'a Deps<'_>,
    place: &'a crate::aws::Place,
    profile: &'a str,
    key: &'a Arc<DpopKey>,
) -> Call<'a> {
    Call {
        service: deps.signin,
        place,
        profile,
        key,
        now: deps.clock.now(),
    }
}

/// Stores the sign-in; a failure is one warning (the credentials in hand still work,
/// the next call signs in again).
fn keep(profile: &str, stored: &SignInToken, deps: &mut Deps<'_>) {
    if let Err(e) = deps.cache.store_sign_in(profile, stored) {
        let line = format!(
            "the sign-in of `{profile}` works but could not be kept in the keychain ({e}); you will sign in again next time"
        );
        crate::log::notice(&format!("warning: {line}"));
    }
}

fn refused(r: Refused) {
    let who = r
        .uid
        .map_or("a process whose owner cannot be found".into(), |uid| {
            format!("another user (uid {uid})")
        });
    crate::log::notice(&format!(
        "refused a connection to the sign-in callback from {who}, port {}; still waiting for your browser",
        r.peer.port()
    ));
}
