//! The Sign-In source in the core, against the in-memory Sign-In service, a fake
//! browser that follows the sign-in to the loopback callback, and a fixed clock.

use std::io::{Read, Write};

use super::*;
use crate::signin::stored::SignInToken;
use crate::signin::{CROSS_DEVICE, SAME_DEVICE};

impl World {
    /// A world whose profile `signin` is an AWS Sign-In source.
    fn sign_in() -> World {
        let mut w = World::new(&[]);
        w.target = Target::Session(Settings {
            profile: "signin".into(),
            mfa_serial: crate::config::SIGN_IN.into(),
            region: "eu-west-1".into(),
            profile_region: Some("eu-west-1".into()),
            duration: DEFAULT_DURATION,
            keys: KeySource::SignIn {
                profile: "signin".into(),
                endpoint: None,
            },
            endpoint: None,
            iam_endpoint: None,
            codes: Default::default(),
        });
        w
    }

    /// A browser that signs the person in at once: it follows the authorize URL to its
    /// loopback callback with a code the service knows.
    fn with_browser(mut self) -> World {
        let code = self.sts.signin.code().expose().clone();
        self.browser = FakeBrowser {
            opened: Default::default(),
            missing: None,
            then: Box::new(move |url| {
                let query = |name: &str| {
                    url.split(['?', '&'])
                        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                        .map(|v| v.replace("%3A", ":").replace("%2F", "/"))
                        .unwrap()
                };
                let (redirect, state) = (query("redirect_uri"), query("state"));
                let target = format!("{redirect}?code={code}&state={state}");
                std::thread::spawn(move || {
                    let rest = target.strip_prefix("http://").unwrap();
                    let (host, path) = rest.split_at(rest.find('/').unwrap());
                    let mut stream = std::net::TcpStream::connect(host).unwrap();
                    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
                    let _ = stream.read_to_end(&mut Vec::new());
                });
            }),
        };
        self
    }

    fn stored(&self) -> Option<SignInToken> {
        match self.cache.sign_in("signin").unwrap() {
            Lookup::Found(t) => Some(t),
            _ => None,
        }
    }

    fn grants(&self) -> Vec<String> {
        self.sts
            .signin
            .calls
            .borrow()
            .iter()
            .map(|c| c.0.clone())
            .collect()
    }

    fn advance_all(&self, by: chrono::Duration) {
        self.advance(by);
    }
}

#[test]
fn login_opens_the_browser_and_keeps_the_sign_in_in_the_keychain() {
    let mut w = World::sign_in().with_browser();
    let credentials = w.get(Mode::Refresh).unwrap();
    let opened = w.browser.opened.borrow().clone();
    assert_eq!(opened.len(), 1);
    assert!(
        opened[0].starts_with("https://eu-west-1.signin.aws.amazon.com/v1/authorize?"),
        "{}",
        opened[0]
    );
    assert_eq!(w.grants(), ["authorization_code"]);
    assert_eq!(w.sts.signin.calls.borrow()[0].1, SAME_DEVICE);
    let stored = w.stored().expect("the sign-in is kept");
    assert_eq!(stored.client_id, SAME_DEVICE);
    assert!(
        stored
            .dpop_key
            .expose()
            .starts_with("-----BEGIN EC PRIVATE KEY-----")
    );
    assert_eq!(stored.login_session, crate::aws::twin_signin::LOGIN_SESSION);
    // The credentials are cached: the next call is a hit, with no token call.
    assert_eq!(
        w.get(Mode::Cached).unwrap().access_key_id,
        credentials.access_key_id
    );
    assert_eq!(w.grants().len(), 1);
}

#[test]
fn credentials_are_handed_out_until_5_minutes_are_left_then_refreshed_once() {
    let mut w = World::sign_in().with_browser();
    let first = w.get(Mode::Refresh).unwrap();
    let token = w.stored().unwrap().refresh_token;
    // 15-minute credentials with 6 minutes left: still served.
    w.advance_all(chrono::Duration::minutes(9));
    assert_eq!(
        w.get(Mode::Cached).unwrap().access_key_id,
        first.access_key_id
    );
    // Less than 5 minutes left: one refresh, and the spent token is replaced.
    w.advance_all(chrono::Duration::seconds(61));
    let second = w.get(Mode::Cached).unwrap();
    assert_ne!(second.access_key_id, first.access_key_id);
    assert!(second.remaining(w.clock.now()) > chrono::Duration::minutes(14));
    assert_eq!(w.grants(), ["authorization_code", "refresh_token"]);
    assert_ne!(w.stored().unwrap().refresh_token, token);
    // And it is served again without another grant.
    w.get(Mode::Cached).unwrap();
    assert_eq!(w.sts.signin.refreshes(), 1);
}

#[test]
fn an_ended_session_with_no_terminal_and_no_browser_fails_at_once_naming_login() {
    let mut w = World::sign_in().with_browser();
    w.get(Mode::Refresh).unwrap();
    w.browser = FakeBrowser::none("no desktop (DISPLAY) and no BROWSER");
    w.terminal.absent = true;
    w.advance_all(chrono::Duration::minutes(11));
    w.sts.signin.fail_next_with("TOKEN_EXPIRED");
    let message = w.get(Mode::Cached).unwrap_err().to_string();
    assert!(message.contains("has ended"), "{message}");
    assert!(
        message.contains("run `aws-mfa-proc login signin`"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    assert!(w.stored().is_none(), "the dead refresh token is forgotten");
    // Never signed in at all: the same, at once.
    let message = w.get(Mode::Cached).unwrap_err().to_string();
    assert!(message.contains("is not signed in"), "{message}");
    assert!(
        message.contains("run `aws-mfa-proc login signin`"),
        "{message}"
    );
}

#[test]
fn an_ended_session_with_a_desktop_opens_the_browser_for_the_caller() {
    let mut w = World::sign_in().with_browser();
    w.get(Mode::Refresh).unwrap();
    w.terminal.absent = true;
    w = w.with_browser();
    w.advance_all(chrono::Duration::minutes(11));
    w.sts.signin.fail_next_with("TOKEN_EXPIRED");
    w.get(Mode::Cached).unwrap();
    assert_eq!(
        w.grants(),
        ["authorization_code", "refresh_token", "authorization_code"]
    );
    assert_eq!(w.browser.opened.borrow().len(), 1);
    assert!(w.stored().is_some());
}

#[test]
fn login_remote_needs_no_browser_and_refuses_a_code_that_is_not_the_pages() {
    let mut w = World::sign_in();
    w.remote = true;
    w.terminal = Scripted::answering(&["not base64 at all"]);
    let message = w.get(Mode::Refresh).unwrap_err().to_string();
    assert!(
        message.contains("not the code the sign-in page shows"),
        "{message}"
    );
    assert!(message.contains("--remote"), "{message}");
    let told = w.terminal.told.join("\n");
    assert!(told.contains("/v1/authorize?"), "{told}");
    assert!(
        told.contains(&crate::aws::url_encode(CROSS_DEVICE)),
        "{told}"
    );
    assert!(w.grants().is_empty());
    // A well-formed code of another sign-in (another state) is refused too.
    let other = aws_smithy_types::base64::encode("state=another&code=c1");
    w.terminal = Scripted::answering(&[&other]);
    assert!(w.get(Mode::Refresh).is_err());
    assert!(w.grants().is_empty());
}

#[test]
fn a_role_chains_from_the_sign_in_with_the_15_minute_margin() {
    let w = World::sign_in().with_browser();
    let mut w = w.into_role();
    let role = w.get(Mode::Refresh).unwrap();
    assert_eq!(w.sts.roles.borrow().len(), 1);
    assert!(role.access_key_id.starts_with("ASIAROLE"));
    // A role lasts an hour: served while 15 minutes are left, with no token call.
    w.advance_all(chrono::Duration::minutes(40));
    assert_eq!(
        w.get(Mode::Cached).unwrap().access_key_id,
        role.access_key_id
    );
    w.advance_all(chrono::Duration::minutes(6));
    let renewed = w.get(Mode::Cached).unwrap();
    assert_ne!(renewed.access_key_id, role.access_key_id);
    assert_eq!(w.grants(), ["authorization_code", "refresh_token"]);
}
