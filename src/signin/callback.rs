//! The same-device flow's one-time loopback callback: the browser, once the person has
//! signed in, is sent to `http://127.0.0.1:PORT/oauth/callback?code=…&state=…`
//! (the AWS CLI's `redirect_uri_with_port`).
//!
//! Invariants (on top of [`crate::loopback`]'s: 127.0.0.1 only, a port the OS picks,
//! only connections whose socket belongs to this user, bounded requests):
//! - it gives up one code, and only the one whose `state` is this attempt's: another
//!   state (a code forged by someone who read the URL in the browser's argv), another
//!   path, or a malformed request is answered with an error page and waiting goes on;
//! - waiting ends at the deadline ([`PATIENCE`] from the start of the sign-in) or at
//!   the first answer: a code, or the service's `error` (the person refused);
//! - the code never reaches a message; an `error` from the page is shown short and
//!   printable.

use std::time::{Duration, Instant};

use super::pkce::{Attempt, percent_decode};
use crate::loopback::{Connection, Listener, Refused};
use crate::secret::Secret;

/// The callback's path, as the AWS CLI's.
pub(crate) const PATH: &str = "/oauth/callback";
/// How long a person has to sign in, as the CLI gives them.
pub(crate) const PATIENCE: Duration = Duration::from_secs(5 * 60);
/// How long one connection may take to send its request.
const REQUEST_PATIENCE: Duration = Duration::from_secs(10);

const DONE_PAGE: &[u8] = b"<!doctype html><title>aws-mfa-proc</title><p>Signed in. You can close this tab and go back to the terminal.</p>";
const FAILED_PAGE: &[u8] =
    b"<!doctype html><title>aws-mfa-proc</title><p>The sign-in did not finish. Go back to the terminal.</p>";
const WRONG_PAGE: &[u8] = b"<!doctype html><title>aws-mfa-proc</title><p>This is not the sign-in aws-mfa-proc is waiting for.</p>";

/// The listener, waiting for one sign-in's answer.
pub(crate) struct Callback {
    listener: Listener,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CallbackError {
    #[error("nobody finished the sign-in in the browser within {} minutes", PATIENCE.as_secs() / 60)]
    TimedOut,
    #[error("the sign-in page answered `{0}` instead of a code")]
    Refused(String),
    #[error("the loopback callback failed: {0}")]
    Io(std::io::Error),
}

impl Callback {
    /// Listens on 127.0.0.1, on a port the OS picks.
    pub(crate) fn bind() -> std::io::Result<Callback> {
        Listener::bind().map(|listener| Callback { listener })
    }

    /// Where the browser is sent back to.
    pub(crate) fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{PATH}", self.listener.port())
    }

    /// The code of `attempt`, once the browser brings it, before `deadline`. Each
    /// connection from another user is closed and handed to `refused`.
    pub(crate) fn wait(
        self,
        attempt: &Attempt,
        deadline: Instant,
        refused: &mut dyn FnMut(Refused),
    ) -> Result<Secret<String>, CallbackError> {
        loop {
            let Some(mut connection) = self
                .listener
                .accept_own(deadline, refused)
                .map_err(CallbackError::Io)?
            else {
                return Err(CallbackError::TimedOut);
            };
            let patience = deadline
                .saturating_duration_since(Instant::now())
                .min(REQUEST_PATIENCE);
            let Ok(request) = connection.read_request(patience) else {
                continue;
            };
            match answer(&request.method, &request.path, attempt) {
                Answer::Code(code) => {
                    respond(connection, "200 OK", DONE_PAGE);
                    return Ok(code);
                }
                Answer::Refused(error) => {
                    respond(connection, "400 Bad Request", FAILED_PAGE);
                    return Err(CallbackError::Refused(error));
                }
                Answer::Wrong => respond(connection, "400 Bad Request", WRONG_PAGE),
                Answer::NotFound => respond(connection, "404 Not Found", b""),
            }
        }
    }
}

/// What one request brings.
enum Answer {
    Code(Secret<String>),
    Refused(String),
    /// The callback, but not this attempt's (another state, or no code).
    Wrong,
    NotFound,
}

fn answer(method: &str, target: &str, attempt: &Attempt) -> Answer {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if method != "GET" || path != PATH {
        return Answer::NotFound;
    }
    let field = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(percent_decode)
    };
    let state = field("state").unwrap_or_default();
    if let Some(error) = field("error") {
        // Only this attempt's page may end the wait.
        if attempt.is_mine(&state) {
            let shown = error
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(40)
                .collect();
            return Answer::Refused(shown);
        }
        return Answer::Wrong;
    }
    match field("code").and_then(|code| attempt.accept(code, &state)) {
        Some(code) if !code.expose().is_empty() => Answer::Code(code),
        _ => Answer::Wrong,
    }
}

fn respond(connection: Connection, status: &str, page: &[u8]) {
    let _ = connection.respond(
        status,
        &[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("Referrer-Policy", "no-referrer"),
        ],
        page,
    );
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;
    use crate::signin::pkce::Device;

    const GENEROUS: Duration = Duration::from_secs(30);

    fn attempt(callback: &Callback) -> Attempt {
        Attempt::new(
            "https://eu-west-1.signin.aws.amazon.com",
            Device::Same {
                callback: callback.redirect_uri(),
            },
        )
        .unwrap()
    }

    /// Sends `GET target` to the callback from a thread; its answer's status line.
    fn get(port: u16, target: String) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(stream, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            answer.lines().next().unwrap_or_default().to_string()
        })
    }

    fn port_of(callback: &Callback) -> u16 {
        callback.listener.port()
    }

    #[test]
    fn only_this_attempts_state_gives_up_the_code_and_the_rest_wait_on() {
        let callback = Callback::bind().unwrap();
        let attempt = attempt(&callback);
        let state = attempt.state().to_string();
        assert!(callback.redirect_uri().starts_with("http://127.0.0.1:"));
        assert!(callback.redirect_uri().ends_with(PATH));
        let port = port_of(&callback);
        // Wrong ones first, each answered and each leaving the wait on.
        let wrong = [
            format!("{PATH}?code=forged&state=another-state"),
            format!("{PATH}?state={state}"),
            format!("{PATH}?code=&state={state}"),
            format!("/favicon.ico?code=c&state={state}"),
            format!("{PATH}x?code=c&state={state}"),
        ];
        let senders: Vec<_> = wrong.into_iter().map(|t| (t.clone(), t)).collect();
        let waiter = std::thread::spawn(move || {
            callback.wait(&attempt, Instant::now() + GENEROUS, &mut |r| {
                panic!("our own connection was refused: {r:?}")
            })
        });
        for (what, target) in senders {
            let status = get(port, target).join().unwrap();
            assert!(status.contains(" 40"), "{what}: {status}");
        }
        let status = get(port, format!("{PATH}?code=the%2Bcode&state={state}"))
            .join()
            .unwrap();
        assert!(status.contains("200 OK"), "{status}");
        let code = waiter.join().unwrap().unwrap();
        assert_eq!(code.expose(), "the+code");
    }

    #[test]
    fn the_pages_error_ends_the_wait_and_is_shown_printable() {
        let callback = Callback::bind().unwrap();
        let attempt = attempt(&callback);
        let port = port_of(&callback);
        let target = format!(
            "{PATH}?error=access_denied%0A%1B[31m&state={}",
            attempt.state()
        );
        let sender = get(port, target);
        let err = callback
            .wait(&attempt, Instant::now() + GENEROUS, &mut |_| {})
            .unwrap_err();
        assert!(sender.join().unwrap().contains("400"));
        let message = err.to_string();
        assert!(message.contains("`access_denied[31m`"), "{message}");
        assert!(
            !message.contains('\n') && !message.contains('\x1b'),
            "{message}"
        );
    }

    #[test]
    fn waiting_ends_at_the_deadline() {
        let callback = Callback::bind().unwrap();
        let attempt = attempt(&callback);
        let err = callback
            .wait(
                &attempt,
                Instant::now() + Duration::from_millis(100),
                &mut |_| {},
            )
            .unwrap_err();
        assert!(matches!(err, CallbackError::TimedOut), "{err:?}");
        assert!(err.to_string().contains("within 5 minutes"));
    }
}
