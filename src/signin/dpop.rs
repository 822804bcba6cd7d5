//! The DPoP key and proof (RFC 9449) that go with every Sign-In token call.
//!
//! As `build_dpop_header` (AWS CLI v2 `awscli/botocore/utils.py`) and aws-config's
//! `login/dpop.rs` (`calculate`) make it:
//! - the key is P-256, made fresh for each sign-in; the refresh token is bound to it;
//! - the proof is a JWT `b64u(header).b64u(payload).b64u(r‖s)`: header
//!   `{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","x","y","crv":"P-256"}}`,
//!   payload `{"htm":"POST","htu":URL,"iat":SECONDS,"jti":UUID4}`, signature ES256
//!   (SHA-256, the fixed 64-byte form);
//! - the key is stored as the CLI caches it, SEC1 (`EC PRIVATE KEY`) PEM, so a token
//!   imported from `~/.aws/login/cache/` keeps working.
//!
//! Why aws-lc-rs and not `p256` (what aws-config uses): rustls already links aws-lc-rs
//! (see Cargo.lock), so ES256 costs no new crate and no second crypto library, and it
//! reads and writes the SEC1 form the CLI's cache holds.
//!
//! Invariants: the private key leaves this module only as [`DpopKey::to_pem`], a
//! [`Secret`]; the DER bytes in between are zeroed.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;
use zeroize::Zeroizing;

use super::{b64u, uuid4};
use crate::secret::Secret;

const PEM_BEGIN: &str = "-----BEGIN EC PRIVATE KEY-----";
const PEM_END: &str = "-----END EC PRIVATE KEY-----";

/// A P-256 key pair for DPoP proofs.
pub(crate) struct DpopKey(EcdsaKeyPair);

/// Why a key or a proof could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum DpopError {
    #[error("the stored sign-in key is not a P-256 key in PEM form")]
    BadKey,
    #[error("the system's random number generator failed")]
    Random,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DpopKey(REDACTED)")
    }
}

impl DpopKey {
    /// A fresh key, for one sign-in.
    pub(crate) fn generate() -> Result<DpopKey, DpopError> {
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map(DpopKey)
            .map_err(|_| DpopError::Random)
    }

    /// The key from SEC1 PEM (`EC PRIVATE KEY`, the CLI's cache); PKCS#8 DER inside
    /// the same armour is accepted too.
    pub(crate) fn from_pem(pem: &Secret<String>) -> Result<DpopKey, DpopError> {
        let body: Zeroizing<String> = Zeroizing::new(
            pem.expose()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("-----"))
                .collect(),
        );
        let der = Zeroizing::new(
            aws_smithy_types::base64::decode(body.as_str()).map_err(|_| DpopError::BadKey)?,
        );
        EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map(DpopKey)
            .map_err(|_| DpopError::BadKey)
    }

    /// SEC1 PEM with 64-character lines, as `_serialize_to_pem` writes it.
    pub(crate) fn to_pem(&self) -> Result<Secret<String>, DpopError> {
        let der = self
            .0
            .private_key()
            .as_der()
            .map_err(|_| DpopError::BadKey)?;
        let b64 = Zeroizing::new(aws_smithy_types::base64::encode(der.as_ref()));
        let mut pem = String::with_capacity(b64.len() + 80);
        pem.push_str(PEM_BEGIN);
        pem.push('\n');
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str(PEM_END);
        pem.push('\n');
        Ok(Secret::new(pem))
    }

    /// A proof for a POST to `htu` (the full token URL), made at `iat` (Unix seconds).
    pub(crate) fn proof(&self, htu: &str, iat: i64) -> Result<String, DpopError> {
        let point = self.0.public_key().as_ref();
        let header = json!({
            "typ": "dpop+jwt",
            "alg": "ES256",
            "jwk": {"kty": "EC", "x": b64u(&point[1..33]), "y": b64u(&point[33..65]), "crv": "P-256"},
        });
        let jti = uuid4().map_err(|_| DpopError::Random)?;
        let payload = json!({"htm": "POST", "htu": htu, "iat": iat, "jti": jti});
        let message = format!(
            "{}.{}",
            b64u(header.to_string().as_bytes()),
            b64u(payload.to_string().as_bytes())
        );
        let signature = self
            .0
            .sign(&SystemRandom::new(), message.as_bytes())
            .map_err(|_| DpopError::Random)?;
        Ok(format!("{message}.{}", b64u(signature.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
    use serde_json::Value;

    use super::*;

    /// The test key of aws-config's `login/dpop.rs`, a SEC1 PEM as the CLI caches it.
    const AWS_CONFIG_TEST_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBMB/RwQERsVoqWRQG4zK8CnaAa5dfrpbm+9tFdBh3z4oAoGCCqGSM49\nAwEHoUQDQgAEWb1VLi1EA2hJaTz4yYuxSELvY+1GAfL+8rUTCAdiFid87Bf6GY+s\n2+1RpqDv0RpZiDIMCrZrsAh+RK9S3QCaGA==\n-----END EC PRIVATE KEY-----\n";

    fn decode(part: &str) -> Vec<u8> {
        let mut standard = part.replace('-', "+").replace('_', "/");
        while !standard.len().is_multiple_of(4) {
            standard.push('=');
        }
        aws_smithy_types::base64::decode(standard).unwrap()
    }

    fn json_of(part: &str) -> Value {
        serde_json::from_slice(&decode(part)).unwrap()
    }

    #[test]
    fn a_proof_is_an_es256_jwt_that_verifies_under_its_own_jwk() {
        let key = DpopKey::generate().unwrap();
        let proof = key
            .proof(
                "https://eu-west-1.signin.aws.amazon.com/v1/token",
                1_760_000_000,
            )
            .unwrap();
        let parts: Vec<&str> = proof.split('.').collect();
        assert_eq!(parts.len(), 3);
        let (header, payload) = (json_of(parts[0]), json_of(parts[1]));
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"]["kty"], "EC");
        assert_eq!(header["jwk"]["crv"], "P-256");
        assert_eq!(payload["htm"], "POST");
        assert_eq!(
            payload["htu"],
            "https://eu-west-1.signin.aws.amazon.com/v1/token"
        );
        assert_eq!(payload["iat"], 1_760_000_000);
        assert_eq!(payload["jti"].as_str().unwrap().len(), 36);

        let x = decode(header["jwk"]["x"].as_str().unwrap());
        let y = decode(header["jwk"]["y"].as_str().unwrap());
        let point = [&[4u8][..], &x, &y].concat();
        let signature = decode(parts[2]);
        assert_eq!(signature.len(), 64, "r‖s, not DER");
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("the signature verifies under the jwk");
    }

    #[test]
    fn every_proof_has_a_new_jti() {
        let key = DpopKey::generate().unwrap();
        let jti = |p: String| json_of(p.split('.').nth(1).unwrap())["jti"].clone();
        assert_ne!(
            jti(key.proof("u", 1).unwrap()),
            jti(key.proof("u", 1).unwrap())
        );
    }

    #[test]
    fn a_key_survives_the_clis_pem_form() {
        let key = DpopKey::generate().unwrap();
        let pem = key.to_pem().unwrap();
        assert!(pem.expose().starts_with(PEM_BEGIN));
        assert!(pem.expose().lines().all(|l| l.len() <= 64));
        let again = DpopKey::from_pem(&pem).unwrap();
        assert_eq!(again.0.public_key().as_ref(), key.0.public_key().as_ref());
    }

    #[test]
    fn the_key_aws_config_tests_with_is_read() {
        let key = DpopKey::from_pem(&Secret::new(AWS_CONFIG_TEST_KEY.to_string())).unwrap();
        // aws-config's test_header_extracts_public_coordinates expects these.
        let point = key.0.public_key().as_ref();
        assert_eq!(
            b64u(&point[1..33]),
            "Wb1VLi1EA2hJaTz4yYuxSELvY-1GAfL-8rUTCAdiFic"
        );
        assert_eq!(
            b64u(&point[33..65]),
            "fOwX-hmPrNvtUaag79EaWYgyDAq2a7AIfkSvUt0Amhg"
        );
    }

    #[test]
    fn what_is_not_a_p256_pem_key_is_refused_without_quoting_it() {
        for text in [
            "",
            "not a key",
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
        ] {
            let err = DpopKey::from_pem(&Secret::new(text.to_string())).unwrap_err();
            assert_eq!(err, DpopError::BadKey);
        }
        assert!(!format!("{:?}", DpopKey::generate().unwrap()).contains("BEGIN"));
    }
}
