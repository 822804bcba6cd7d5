//! The local credential endpoint of `exec --server` and `serve`: the ECS
//! container-credentials protocol, which every SDK reads from
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN`, on
//! 127.0.0.1 over plain HTTP (which the SDKs accept for a loopback address only).
//!
//! Invariants:
//! - it listens on 127.0.0.1 only, through [`crate::loopback`] (bounded requests, each
//!   read on a thread of its own, peers checked by uid);
//! - every request must carry the token (256 random bits, compared in constant time)
//!   in `Authorization`, or gets 401 before anything else about it is looked at; then
//!   only GET of [`PATH`] is served: another path is 404, another method 405;
//! - it serves one profile, chosen when it starts: no path, parameter or header
//!   selects another;
//! - each answer comes from the caller's `credentials` (the profile's credentials
//!   through the cache, the lock and, when needed, a code: see [`crate::session`]),
//!   so a long-running caller is served credentials renewed ahead of their expiry;
//! - answers are made one at a time, so a code is asked for at most once however many
//!   requests wait;
//! - nothing it logs holds the token, a header value or a credential: a refusal is
//!   logged by its status and reason only, and a failure by its one-line error, once
//!   until it changes.

use std::time::Duration;

use zeroize::Zeroizing;

use crate::credentials::SessionCredentials;
use crate::loopback::{Incoming, Listener, Peers, Refused, Request, Requests, same_secret};
use crate::output;
use crate::secret::Secret;

/// The endpoint's one path.
pub(crate) const PATH: &str = "/credentials";
/// The variables that point an SDK at the endpoint.
pub(crate) const URI_VARIABLE: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub(crate) const TOKEN_VARIABLE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
/// Container variables that would take precedence over the two above, or mislead: a
/// program served by the endpoint never gets them from our environment.
pub(crate) const CONTAINER_VARIABLES: [&str; 4] = [
    URI_VARIABLE,
    TOKEN_VARIABLE,
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];
/// How long a client has to send its request line and headers.
const REQUEST_PATIENCE: Duration = Duration::from_secs(5);
/// How often the server looks up from waiting for a request (has the program ended?).
const LOOK_UP: Duration = Duration::from_millis(200);
/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// A listening endpoint and its token.
pub(crate) struct Endpoint {
    requests: Requests,
    port: u16,
    token: Secret<String>,
}

/// One answer: the status line's code and text, the body (JSON), and the one-line error
/// when there were no credentials to serve.
pub(crate) struct Answer {
    pub status: &'static str,
    pub body: Zeroizing<Vec<u8>>,
    pub failure: Option<String>,
}

impl Endpoint {
    /// Listens on 127.0.0.1:`port` (0: a port the OS picks) for `peers`, with a new token.
    pub(crate) fn start(port: u16, peers: Peers) -> Result<Endpoint, String> {
        let token = crate::loopback::random_hex(TOKEN_BYTES)
            .map_err(|e| format!("no randomness from the operating system: {e}"))?;
        let listener = Listener::bind_port(port)
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let port = listener.port();
        let requests = listener
            .requests(peers, REQUEST_PATIENCE)
            .map_err(|e| format!("cannot start the endpoint's listener: {e}"))?;
        Ok(Endpoint {
            requests,
            port,
            token: Secret::new(token),
        })
    }

    /// The value of [`URI_VARIABLE`].
    pub(crate) fn uri(&self) -> String {
        format!("http://127.0.0.1:{}{PATH}", self.port)
    }

    /// The value of [`TOKEN_VARIABLE`].
    pub(crate) fn token(&self) -> &str {
        self.token.expose()
    }

    /// Answers requests with `credentials` (for the `role_arn`, if one) until `done`
    /// gives an exit code, which it returns. `refused` hears of each connection from a
    /// user that is not let in.
    pub(crate) fn serve(
        &self,
        role_arn: Option<&str>,
        credentials: &mut dyn FnMut() -> Result<SessionCredentials, String>,
        refused: &mut dyn FnMut(Refused),
        done: &mut dyn FnMut() -> Option<u8>,
    ) -> u8 {
        let mut last_failure: Option<String> = None;
        loop {
            if let Some(code) = done() {
                return code;
            }
            match self.requests.next(LOOK_UP) {
                Some(Incoming::Request(connection, Ok(request))) => {
                    let answer = answer(&request, self.token(), role_arn, &mut *credentials);
                    match &answer.failure {
                        Some(line) if last_failure.as_ref() != Some(line) => {
                            crate::log::notice(line.trim_start_matches("aws-mfa-proc: "));
                            last_failure = Some(line.clone());
                        }
                        None if answer.status.starts_with("200") => last_failure = None,
                        _ => {}
                    }
                    crate::debug!(
                        "endpoint: {} {} -> {}",
                        method_of(&request),
                        path_of(&request),
                        answer.status
                    );
                    let _ = connection.respond(
                        answer.status,
                        &[
                            ("Content-Type", "application/json"),
                            ("Cache-Control", "no-store"),
                        ],
                        &answer.body,
                    );
                }
                Some(Incoming::Request(connection, Err(e))) => {
                    crate::debug!("endpoint: a request refused: {e}");
                    let body = output::container_error("BadRequest", &e.to_string());
                    let _ = connection.respond("400 Bad Request", &[], &body);
                }
                Some(Incoming::Refused(r)) => refused(r),
                None => {}
            }
        }
    }
}

/// The method, for a log line, if it looks like one (it is the client's text).
fn method_of(request: &Request) -> &str {
    let method = request.method.as_str();
    if method.len() <= 16 && method.bytes().all(|b| b.is_ascii_uppercase()) {
        method
    } else {
        "(another method)"
    }
}

/// What the path is, for a log line: ours, or another (never shown: it could hold
/// anything the client sent).
fn path_of(request: &Request) -> &'static str {
    if request.path == PATH {
        PATH
    } else {
        "(another path)"
    }
}

/// The answer to `request`: 401 without the right `token`, 404 for another path, 405
/// for another method, else `credentials` as the ECS document (503 with the one-line
/// error if there are none).
pub(crate) fn answer(
    request: &Request,
    token: &str,
    role_arn: Option<&str>,
    credentials: &mut dyn FnMut() -> Result<SessionCredentials, String>,
) -> Answer {
    let refusal = |status: &'static str, code: &str, message: &str| Answer {
        status,
        body: Zeroizing::new(output::container_error(code, message)),
        failure: None,
    };
    let given = request.header("Authorization").unwrap_or_default();
    if !same_secret(given.as_bytes(), token.as_bytes()) {
        return refusal(
            "401 Unauthorized",
            "Unauthorized",
            "a request without this endpoint's token (AWS_CONTAINER_AUTHORIZATION_TOKEN)",
        );
    }
    if request.path != PATH {
        return refusal("404 Not Found", "NotFound", "this endpoint serves one path");
    }
    if request.method != "GET" {
        return refusal(
            "405 Method Not Allowed",
            "MethodNotAllowed",
            "this endpoint answers GET only",
        );
    }
    match credentials() {
        Ok(c) => Answer {
            status: "200 OK",
            body: output::container_credentials(&c, role_arn),
            failure: None,
        },
        Err(line) => Answer {
            failure: Some(line.clone()),
            ..refusal("503 Service Unavailable", "CredentialsUnavailable", &line)
        },
    }
}

#[cfg(test)]
mod tests;
