//! AWS Sign-In (`aws login`) as a credential source, beside the TOTP source: a person
//! signs in to the console in the browser and this tool gets 15-minute credentials and
//! a refresh token bound to a DPoP key (issue #19).
//!
//! Each rule names the AWS client code it follows (AWS CLI v2 tag 2.36.7,
//! `awscli/customizations/login/utils.py` and `awscli/botocore/utils.py`; aws-config
//! 1.8.13's `login/`):
//! - [`pkce`]: the PKCE verifier and challenge, the `state`, the authorize URL for the
//!   same-device and cross-device clients, and the code a person pastes;
//! - [`dpop`]: the P-256 key and the DPoP proof (ES256 JWT) sent with every token call;
//! - [`refusal`]: the service's `AccessDeniedException` codes, as messages that name the
//!   fix;
//! - [`place`]: which endpoint a sign-in goes to (`AWS_ENDPOINT_URL_SIGNIN`, the trust
//!   rule, the service's endpoint rules);
//! - [`callback`]: the same-device flow's one-time loopback callback;
//! - [`login_cache`]: the AWS CLI's own cache of a sign-in, which `import` moves in;
//! - [`stored`]: what the keychain keeps of a sign-in (refresh token, key, client);
//! - [`token`]: the `authorization_code` and `refresh_token` calls (the network itself is
//!   in [`crate::aws`], behind [`crate::aws::SignInService`]).
//!
//! Invariants:
//! - the PKCE verifier and the DPoP private key live only in [`Secret`](crate::secret::Secret)
//!   or zeroed buffers, and never reach a message;
//! - ES256 is aws-lc-rs, the crypto library rustls already links (no second one).

pub(crate) mod callback;
pub(crate) mod dpop;
pub(crate) mod login_cache;
pub(crate) mod pkce;
pub(crate) mod place;
pub(crate) mod refusal;
pub(crate) mod stored;
pub(crate) mod token;

/// The same-device client: a loopback callback on this machine receives the code.
pub(crate) const SAME_DEVICE: &str = "arn:aws:signin:::devtools/same-device";
/// The cross-device client (`--remote`): the person pastes the code the page shows.
pub(crate) const CROSS_DEVICE: &str = "arn:aws:signin:::devtools/cross-device";

/// base64url without padding (RFC 7515 §2), as JWTs and PKCE use it.
fn b64u(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// A random uuid4 (RFC 9562 §5.4), as the CLI's `uuid.uuid4()` for `state` and `jti`.
fn uuid4() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid4_has_its_version_and_variant() {
        let id = uuid4().unwrap();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{id}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(uuid4().unwrap(), id);
    }

    #[test]
    fn base64url_has_no_padding_and_the_url_alphabet() {
        assert_eq!(b64u(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64u(b""), "");
    }
}
