//! The authorize step of the OAuth 2.0 authorization-code flow with PKCE, as the AWS CLI
//! does it (`awscli/customizations/login/utils.py`):
//! - the verifier is 64 characters from `[A-Za-z0-9-._~]` (`BaseLoginTokenFetcher`),
//!   the challenge base64url(SHA-256(verifier)) without padding (the CLI cuts the one
//!   `=`, `code_challenge[:-1]`), method `SHA-256`;
//! - `state` is a uuid4, and an answer whose state differs is refused
//!   (`fetch_token` of both fetchers);
//! - `GET {base}/v1/authorize` with `response_type=code`, `client_id`, `state`,
//!   `code_challenge_method=SHA-256`, `scope=openid`, `redirect_uri`, `code_challenge`
//!   (`_get_authorization_uri`); same-device redirects to the loopback callback,
//!   cross-device to `{base}/v1/sessions/confirmation`, whose page shows
//!   base64(`state=…&code=…`) to paste (`parse_verification_code`).

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{CROSS_DEVICE, SAME_DEVICE, b64u, uuid4};
use crate::aws::url_encode;
use crate::secret::Secret;

const VERIFIER_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
const VERIFIER_LEN: usize = 64;

/// One sign-in attempt's secrets and where its answer goes.
pub(crate) struct Attempt {
    verifier: Secret<String>,
    state: String,
    client_id: &'static str,
    redirect_uri: String,
}

/// Where the person's browser sends the code.
pub(crate) enum Device {
    /// To a loopback callback on this machine (`http://127.0.0.1:PORT/oauth/callback`).
    Same { callback: String },
    /// To the service's confirmation page, which shows a code to paste.
    Cross,
}

impl Attempt {
    /// A fresh verifier and state for a sign-in at `base` (the Sign-In endpoint).
    pub(crate) fn new(base: &str, device: Device) -> Result<Attempt, getrandom::Error> {
        let (client_id, redirect_uri) = match device {
            Device::Same { callback } => (SAME_DEVICE, callback),
            Device::Cross => (CROSS_DEVICE, format!("{base}/v1/sessions/confirmation")),
        };
        Ok(Attempt {
            verifier: verifier()?,
            state: uuid4()?,
            client_id,
            redirect_uri,
        })
    }

    /// The page the person opens.
    pub(crate) fn authorize_url(&self, base: &str) -> String {
        let challenge = b64u(&Sha256::digest(self.verifier.expose().as_bytes()));
        format!(
            "{base}/v1/authorize?response_type=code&client_id={}&state={}\
             &code_challenge_method=SHA-256&scope=openid&redirect_uri={}&code_challenge={challenge}",
            url_encode(self.client_id),
            url_encode(&self.state),
            url_encode(&self.redirect_uri),
        )
    }

    /// The code, if `state` is this attempt's; else `None` (another attempt's answer,
    /// or a forged one).
    pub(crate) fn accept(&self, code: String, state: &str) -> Option<Secret<String>> {
        self.is_mine(state).then(|| Secret::new(code))
    }

    /// Whether `state` is this attempt's.
    pub(crate) fn is_mine(&self, state: &str) -> bool {
        state == self.state
    }

    /// The `state` the authorize URL carries (not a secret: it is in the browser's argv).
    #[cfg(test)]
    pub(crate) fn state(&self) -> &str {
        &self.state
    }

    pub(crate) fn verifier(&self) -> &Secret<String> {
        &self.verifier
    }

    pub(crate) fn client_id(&self) -> &'static str {
        self.client_id
    }

    pub(crate) fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }
}

/// 64 characters of the verifier alphabet, each uniform (rejection sampling).
fn verifier() -> Result<Secret<String>, getrandom::Error> {
    // The largest multiple of the alphabet's size that fits in a byte.
    let limit = (256 / VERIFIER_ALPHABET.len() * VERIFIER_ALPHABET.len()) as u8;
    let mut out = String::with_capacity(VERIFIER_LEN);
    let mut bytes = Zeroizing::new([0u8; 128]);
    while out.len() < VERIFIER_LEN {
        getrandom::getrandom(&mut bytes[..])?;
        for &b in bytes.iter().filter(|&&b| b < limit) {
            if out.len() < VERIFIER_LEN {
                out.push(VERIFIER_ALPHABET[b as usize % VERIFIER_ALPHABET.len()] as char);
            }
        }
    }
    Ok(Secret::new(out))
}

/// The `(code, state)` in what a person pasted from the confirmation page:
/// base64(`state=…&code=…`), surrounding blanks ignored. `None` if it is not that.
pub(crate) fn pasted(text: &str) -> Option<(String, String)> {
    let decoded = aws_smithy_types::base64::decode(text.trim()).ok()?;
    let query = String::from_utf8(decoded).ok()?;
    let field = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .map(percent_decode)
    };
    Some((field("code")??, field("state")??))
}

/// Percent-decoding (`+` as a space, as Python's `parse_qsl`); `None` if malformed.
pub(super) fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str) -> Vec<(String, String)> {
        let (_, query) = url.split_once('?').unwrap();
        query
            .split('&')
            .map(|kv| kv.split_once('=').unwrap())
            .map(|(k, v)| (k.to_string(), percent_decode(v).unwrap()))
            .collect()
    }

    #[test]
    fn the_verifier_is_64_characters_of_the_pkce_alphabet_and_fresh_each_time() {
        let a = verifier().unwrap();
        assert_eq!(a.expose().len(), 64);
        assert!(a.expose().bytes().all(|b| VERIFIER_ALPHABET.contains(&b)));
        assert_ne!(a.expose(), verifier().unwrap().expose());
    }

    #[test]
    fn the_same_device_url_asks_for_a_code_at_the_loopback_callback() {
        let callback = "http://127.0.0.1:4321/oauth/callback";
        let attempt = Attempt::new(
            "https://eu-west-1.signin.aws.amazon.com",
            Device::Same {
                callback: callback.into(),
            },
        )
        .unwrap();
        let url = attempt.authorize_url("https://eu-west-1.signin.aws.amazon.com");
        assert!(url.starts_with("https://eu-west-1.signin.aws.amazon.com/v1/authorize?"));
        let q = query(&url);
        let names: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "response_type",
                "client_id",
                "state",
                "code_challenge_method",
                "scope",
                "redirect_uri",
                "code_challenge"
            ]
        );
        let get = |name: &str| q.iter().find(|(k, _)| k == name).unwrap().1.clone();
        assert_eq!(attempt.client_id(), SAME_DEVICE);
        assert_eq!(get("response_type"), "code");
        assert_eq!(get("client_id"), SAME_DEVICE);
        assert_eq!(get("state"), attempt.state);
        assert_eq!(get("code_challenge_method"), "SHA-256");
        assert_eq!(get("scope"), "openid");
        assert_eq!(get("redirect_uri"), callback);
        assert_eq!(
            get("code_challenge"),
            b64u(&Sha256::digest(attempt.verifier().expose().as_bytes()))
        );
        assert_eq!(get("code_challenge").len(), 43, "no padding");
    }

    #[test]
    fn the_cross_device_url_sends_the_person_to_the_confirmation_page() {
        let base = "http://127.0.0.1:9";
        let attempt = Attempt::new(base, Device::Cross).unwrap();
        let q = query(&attempt.authorize_url(base));
        assert!(q.contains(&("client_id".into(), CROSS_DEVICE.into())));
        assert!(q.contains(&(
            "redirect_uri".into(),
            "http://127.0.0.1:9/v1/sessions/confirmation".into()
        )));
        assert_eq!(
            attempt.redirect_uri(),
            "http://127.0.0.1:9/v1/sessions/confirmation"
        );
    }

    #[test]
    fn only_this_attempts_state_gives_up_its_code() {
        let attempt = Attempt::new("http://127.0.0.1:9", Device::Cross).unwrap();
        assert!(attempt.accept("c".into(), "another-state").is_none());
        let state = attempt.state.clone();
        assert_eq!(attempt.accept("c".into(), &state).unwrap().expose(), "c");
    }

    #[test]
    fn a_pasted_code_is_read_as_the_cli_reads_it() {
        let b64 = |s: &str| aws_smithy_types::base64::encode(s);
        type Want<'a> = Option<(&'a str, &'a str)>;
        let cases: [(&str, String, Want); 6] = [
            ("plain", b64("state=s1&code=c1"), Some(("c1", "s1"))),
            ("code first", b64("code=c1&state=s1"), Some(("c1", "s1"))),
            (
                "blanks around",
                format!("  {}\n", b64("state=s1&code=c1")),
                Some(("c1", "s1")),
            ),
            (
                "percent-encoded",
                b64("state=s%2F1&code=c%2B1"),
                Some(("c+1", "s/1")),
            ),
            ("no state", b64("code=c1"), None),
            ("not base64", "state=s1&code=c1".into(), None),
        ];
        for (case, text, want) in cases {
            let got = pasted(&text);
            let want = want.map(|(c, s)| (c.to_string(), s.to_string()));
            assert_eq!(got, want, "{case}");
        }
    }
}
