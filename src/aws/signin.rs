//! AWS Sign-In's token call (`CreateOAuth2Token`) on the official client,
//! `aws-sdk-signin`, and the service's endpoint rules.
//!
//! As the AWS CLI (`LoginCredentialFetcher`, `_exchange_auth_code_for_access_token`) and
//! aws-config's `login` make the call:
//! - unsigned (the model's `authtype: none`), with a `DPoP` proof for the request's own
//!   URL (`htu`), made per attempt by an interceptor, as aws-config's `DPoPSigner` does;
//! - `authorization_code` sends `code`, `codeVerifier`, `redirectUri`;
//!   `refresh_token` sends `refreshToken`; both send `clientId`.
//!
//! Invariants:
//! - a token call is tried once, never retried: a code and a refresh token work once,
//!   and a retry after a lost answer would spend a refresh token twice, which ends the
//!   session;
//! - the endpoint is the one given (already checked by the caller), else the `signin`
//!   service's endpoint rules for the region (every partition);
//! - an `AccessDeniedException` comes back as [`AwsError::SignInRefused`] with the
//!   service's `error` code, for the caller to name the fix.

use std::sync::Arc;

use aws_sdk_signin::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_sdk_signin::config::retry::RetryConfig;
use aws_sdk_signin::config::{BehaviorVersion, Region};
use aws_sdk_signin::operation::create_o_auth2_token::CreateOAuth2TokenError;
use aws_sdk_signin::types::CreateOAuth2TokenRequestBody;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{DateTime, Utc};

use super::client::{self, Call};
use super::{AwsError, Place, Service};
use crate::credentials::{Checked, SessionCredentials};
use crate::secret::Secret;

/// What proves possession of the key a refresh token is bound to: a DPoP proof for a
/// POST to `htu`.
pub(crate) trait Prove: Send + Sync {
    fn proof(&self, htu: &str) -> Result<String, String>;
}

/// The grant a token call asks for.
pub(crate) enum Grant<'a> {
    /// The code a sign-in brought back, with its PKCE verifier and redirect URI.
    Code {
        code: &'a Secret<String>,
        verifier: &'a Secret<String>,
        redirect_uri: &'a str,
    },
    /// A refresh token (single-use; a new one comes back).
    Refresh(&'a Secret<String>),
}

impl Grant<'_> {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Grant::Code { .. } => "authorization_code",
            Grant::Refresh(_) => "refresh_token",
        }
    }
}

/// What a token call brings back.
#[derive(Debug)]
pub(crate) struct Tokens {
    /// Credentials for at most 15 minutes.
    pub credentials: SessionCredentials,
    /// The next refresh token, bound to the same key.
    pub refresh_token: Secret<String>,
    /// Who signed in (the ID token's `sub`), on the `authorization_code` grant.
    pub login_session: Option<String>,
}

/// The `signin` endpoint for `region` by the service's own rules.
pub(crate) fn base_url(region: &str) -> Result<String, AwsError> {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let bad = |message: String| AwsError::Refused {
        service: Service::Signin,
        code: "NoEndpoint".into(),
        message,
    };
    let params = Params::builder()
        .region(region)
        .use_fips(false)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let resolver = DefaultResolver::new();
    let mut future = std::pin::pin!(resolver.resolve_endpoint(&params));
    // The rules are pure: the future is ready at once.
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(Ok(endpoint)) => Ok(endpoint.url().trim_end_matches('/').to_string()),
        Poll::Ready(Err(e)) => Err(bad(format!("no sign-in endpoint for region {region}: {e}"))),
        Poll::Pending => Err(bad("the endpoint rules did not answer".into())),
    }
}

/// Adds the DPoP proof for the URL the request is about to be sent to.
struct Dpop(Arc<dyn Prove>);

impl std::fmt::Debug for Dpop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dpop")
    }
}

impl Intercept for Dpop {
    fn name(&self) -> &'static str {
        "DPoP"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let htu = context.request().uri().to_string();
        let proof = self.0.proof(&htu)?;
        context.request_mut().headers_mut().insert("DPoP", proof);
        Ok(())
    }
}

/// One `CreateOAuth2Token` call at `place` (its endpoint already chosen and checked).
pub(super) fn create_token(
    place: &Place,
    client_id: &str,
    grant: &Grant<'_>,
    prover: Arc<dyn Prove>,
    now: DateTime<Utc>,
) -> Result<Tokens, AwsError> {
    let base = match &place.endpoint {
        Some(url) => url.clone(),
        None => base_url(&place.region)?,
    };
    let config = aws_sdk_signin::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(place.region.clone()))
        .timeout_config(client::timeouts())
        .retry_config(RetryConfig::disabled())
        .interceptor(Dpop(prover))
        .endpoint_url(&base)
        .build();
    let body = CreateOAuth2TokenRequestBody::builder()
        .client_id(client_id)
        .grant_type(grant.name());
    let body = match grant {
        Grant::Code {
            code,
            verifier,
            redirect_uri,
        } => body
            .code(code.expose())
            .code_verifier(verifier.expose())
            .redirect_uri(*redirect_uri),
        Grant::Refresh(token) => body.refresh_token(token.expose()),
    };
    let body = body.build().map_err(|e| AwsError::Refused {
        service: Service::Signin,
        code: "BadRequest".into(),
        message: e.to_string(),
    })?;
    let call = aws_sdk_signin::Client::from_conf(config)
        .create_o_auth2_token()
        .token_input(body)
        .send();
    let runtime = client::runtime(Service::Signin, &base)?;
    let output = runtime
        .block_on(call)
        .map_err(|e| match e.as_service_error() {
            Some(CreateOAuth2TokenError::AccessDeniedException(denied)) => {
                AwsError::SignInRefused {
                    code: denied.error().as_str().to_string(),
                }
            }
            _ => client::classify(e, &Call::Other(Service::Signin), &base),
        })?;
    convert(output.token_output, now)
}

fn convert(
    output: Option<aws_sdk_signin::types::CreateOAuth2TokenResponseBody>,
    now: DateTime<Utc>,
) -> Result<Tokens, AwsError> {
    let bad = |message: &str| AwsError::Refused {
        service: Service::Signin,
        code: "BadResponse".into(),
        message: message.into(),
    };
    let output = output.ok_or_else(|| bad("no tokenOutput in the answer"))?;
    let access = output
        .access_token()
        .ok_or_else(|| bad("no accessToken in the answer"))?;
    let seconds = output.expires_in();
    if !(1..=12 * 3600).contains(&seconds) {
        return Err(bad("an impossible expiresIn"));
    }
    let credentials = SessionCredentials {
        access_key_id: access.access_key_id().to_string(),
        secret_access_key: Secret::new(access.secret_access_key().to_string()),
        session_token: Secret::new(access.session_token().to_string()),
        expiration: now + chrono::Duration::seconds(seconds.into()),
        // Sign-in credentials come from no long-term key: they name themselves.
        source_access_key_id: access.access_key_id().to_string(),
    };
    if let Err(what) = credentials.check() {
        return Err(bad(&format!("a malformed {what}")));
    }
    if output.refresh_token().is_empty() {
        return Err(bad("no refreshToken in the answer"));
    }
    Ok(Tokens {
        credentials,
        refresh_token: Secret::new(output.refresh_token().to_string()),
        login_session: output.id_token().and_then(subject),
    })
}

/// The `sub` claim of an ID token, read as the CLI reads it
/// (`_extract_login_session_from_id_token`: the payload, unverified), if it is an ARN.
fn subject(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let mut standard = payload.replace('-', "+").replace('_', "/");
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    let claims: serde_json::Value =
        serde_json::from_slice(&aws_smithy_types::base64::decode(standard).ok()?).ok()?;
    let sub = claims["sub"].as_str()?;
    (sub.starts_with("arn:") && sub.len() <= 2048 && !sub.chars().any(char::is_control))
        .then(|| sub.to_string())
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::Mutex;

    use super::*;

    /// A request as the server saw it: method and path, headers (lower-case names), body.
    type Seen = (String, Vec<(String, String)>, serde_json::Value);

    /// A one-port HTTP server that answers every request with `status` and `body`, and
    /// keeps what it was sent.
    fn server(status: &'static str, body: String) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut headers: Vec<(String, String)> = Vec::new();
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    match header.trim_end().split_once(':') {
                        Some((n, v)) => headers.push((n.to_ascii_lowercase(), v.trim().into())),
                        None => break,
                    }
                }
                let length = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut sent = vec![0; length];
                reader.read_exact(&mut sent).unwrap();
                let json = serde_json::from_slice(&sent).unwrap_or_default();
                let request_line = line.split(' ').take(2).collect::<Vec<_>>().join(" ");
                kept.lock().unwrap().push((request_line, headers, json));
                let mut stream = reader.into_inner();
                let kind = match status.as_bytes()[0] {
                    b'4' => "x-amzn-ErrorType: AccessDeniedException\r\n",
                    b'5' => "x-amzn-ErrorType: InternalServerException\r\n",
                    _ => "",
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, seen)
    }

    /// Proofs that say which URL they were made for.
    struct Marked;

    impl Prove for Marked {
        fn proof(&self, htu: &str) -> Result<String, String> {
            Ok(format!("proof-for {htu}"))
        }
    }

    fn output(id_token: Option<&str>) -> String {
        let mut output = serde_json::json!({
            "accessToken": {"accessKeyId": "ASIASIGNIN00000001", "secretAccessKey": "c2VjcmV0",
                            "sessionToken": "dG9rZW4="},
            "tokenType": "aws_sigv4", "expiresIn": 900, "refreshToken": "ASORnext"});
        if let Some(token) = id_token {
            output["idToken"] = token.into();
        }
        output.to_string()
    }

    fn place(url: &str) -> Place {
        Place {
            region: "eu-west-1".into(),
            endpoint: Some(url.into()),
        }
    }

    fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
        seen.1
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_refresh_is_one_unsigned_post_with_a_proof_for_the_token_url() {
        let (url, seen) = server("200 OK", output(None));
        let now = Utc::now();
        let token = Secret::new("ASORfirst".to_string());
        let tokens = create_token(
            &place(&url),
            "arn:aws:signin:::devtools/same-device",
            &Grant::Refresh(&token),
            Arc::new(Marked),
            now,
        )
        .unwrap();
        assert_eq!(tokens.credentials.access_key_id, "ASIASIGNIN00000001");
        assert_eq!(tokens.credentials.secret_access_key.expose(), "c2VjcmV0");
        assert_eq!(tokens.credentials.session_token.expose(), "dG9rZW4=");
        assert_eq!(tokens.credentials.remaining(now).num_seconds(), 900);
        assert_eq!(tokens.refresh_token.expose(), "ASORnext");
        assert_eq!(tokens.login_session, None);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "POST /v1/token");
        assert_eq!(
            header(&seen[0], "dpop"),
            Some(format!("proof-for {url}/v1/token").as_str())
        );
        assert_eq!(header(&seen[0], "authorization"), None, "unsigned");
        assert_eq!(
            seen[0].2,
            serde_json::json!({"clientId": "arn:aws:signin:::devtools/same-device",
                               "grantType": "refresh_token", "refreshToken": "ASORfirst"})
        );
    }

    #[test]
    fn a_code_is_sent_with_its_verifier_and_redirect_uri_and_the_id_token_says_who() {
        let claims =
            aws_smithy_types::base64::encode(r#"{"sub":"arn:aws:iam::111111111111:user/alice"}"#);
        let (url, seen) = server(
            "200 OK",
            output(Some(&format!("e30.{}.sig", claims.trim_end_matches('=')))),
        );
        let (code, verifier) = (Secret::new("c1".to_string()), Secret::new("v1".to_string()));
        let grant = Grant::Code {
            code: &code,
            verifier: &verifier,
            redirect_uri: "http://127.0.0.1:9/oauth/callback",
        };
        let tokens = create_token(
            &place(&url),
            "arn:aws:signin:::devtools/cross-device",
            &grant,
            Arc::new(Marked),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(
            tokens.login_session.as_deref(),
            Some("arn:aws:iam::111111111111:user/alice")
        );
        assert_eq!(
            seen.lock().unwrap()[0].2,
            serde_json::json!({"clientId": "arn:aws:signin:::devtools/cross-device",
                               "grantType": "authorization_code", "code": "c1",
                               "codeVerifier": "v1",
                               "redirectUri": "http://127.0.0.1:9/oauth/callback"})
        );
    }

    #[test]
    fn a_refusal_brings_the_services_code_and_no_call_is_ever_retried() {
        let token = Secret::new("ASORfirst".to_string());
        let denied =
            serde_json::json!({"error": "TOKEN_EXPIRED", "message": "expired"}).to_string();
        type Expected = fn(&AwsError) -> bool;
        // (status, body, the error expected)
        let cases: [(&str, String, Expected); 3] = [
            (
                "401 Unauthorized",
                denied,
                |e| matches!(e, AwsError::SignInRefused { code } if code == "TOKEN_EXPIRED"),
            ),
            ("500 Internal Server Error", "{}".into(), |e| {
                matches!(e, AwsError::ServerError { .. })
            }),
            ("503 Service Unavailable", "{}".into(), |e| {
                matches!(e, AwsError::ServerError { .. })
            }),
        ];
        for (status, body, expected) in cases {
            let (url, seen) = server(status, body);
            let err = create_token(
                &place(&url),
                "arn:aws:signin:::devtools/same-device",
                &Grant::Refresh(&token),
                Arc::new(Marked),
                Utc::now(),
            )
            .unwrap_err();
            assert!(expected(&err), "{status}: {err:?}");
            assert_eq!(seen.lock().unwrap().len(), 1, "{status}: tried once");
        }
    }

    #[test]
    fn the_service_rules_give_each_partition_its_sign_in_host() {
        let cases = [
            ("eu-west-1", "https://eu-west-1.signin.aws.amazon.com"),
            ("us-east-1", "https://us-east-1.signin.aws.amazon.com"),
            ("cn-north-1", "https://cn-north-1.signin.amazonaws.cn"),
        ];
        for (region, want) in cases {
            assert_eq!(base_url(region).unwrap(), want, "{region}");
            assert!(
                crate::aws::check_signin(want, None).is_ok(),
                "{want} passes the endpoint rule"
            );
        }
    }

    #[test]
    fn the_login_session_is_the_id_tokens_subject() {
        let b64u = |s: &str| {
            aws_smithy_types::base64::encode(s)
                .trim_end_matches('=')
                .replace('+', "-")
                .replace('/', "_")
        };
        let token = |claims: &str| format!("{}.{}.sig", b64u(r#"{"alg":"none"}"#), b64u(claims));
        let arn = "arn:aws:iam::111111111111:user/alice";
        let cases: [(String, Option<&str>); 4] = [
            (token(&format!(r#"{{"sub":"{arn}"}}"#)), Some(arn)),
            (token(r#"{"sub":"not an arn"}"#), None),
            (token(r#"{"iss":"x"}"#), None),
            ("garbage".into(), None),
        ];
        for (id_token, want) in cases {
            assert_eq!(subject(&id_token).as_deref(), want, "{id_token}");
        }
    }
}
