//! Plain HTTPS GETs on the SDK's own HTTP client (no second TLS stack): the console's
//! federation endpoint, and a service's `Date` header for the clock check.

use aws_smithy_http_client::{Connector, proxy::ProxyConfig, tls};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::byte_stream::ByteStream;
use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use super::client::{self, ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, OVERALL_TIMEOUT};
use super::{AwsError, Place, Service};
use crate::credentials::SessionCredentials;

/// What a GET brought back.
struct Answer {
    status: u16,
    date: Option<String>,
    body: Zeroizing<Vec<u8>>,
}

fn get(service: Service, url: &str) -> Result<Answer, AwsError> {
    let shown = url.split('?').next().unwrap_or(url).to_string();
    let settings = HttpConnectorSettings::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(ATTEMPT_TIMEOUT)
        .build();
    let connector = Connector::builder()
        .connector_settings(settings)
        .proxy_config(ProxyConfig::from_env())
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build();
    let request = HttpRequest::get(url).map_err(|e| AwsError::Network {
        service,
        endpoint: shown.clone(),
        detail: e.to_string(),
    })?;
    let call = async {
        let response = connector.call(request).await?;
        let status = response.status().as_u16();
        let date = response.headers().get("date").map(str::to_string);
        let body = ByteStream::new(response.into_body())
            .collect()
            .await?
            .to_vec();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Answer {
            status,
            date,
            body: Zeroizing::new(body),
        })
    };
    let runtime = client::runtime(service, &shown)?;
    match runtime.block_on(async { tokio::time::timeout(OVERALL_TIMEOUT, call).await }) {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(client::network(service, &shown, &crate::error::chain(&*e))),
        Err(_) => Err(AwsError::Timeout {
            service,
            endpoint: shown,
        }),
    }
}

pub(super) fn signin_token(signin: &str, role: &SessionCredentials) -> Result<String, AwsError> {
    #[derive(serde::Serialize)]
    struct Session<'a> {
        #[serde(rename = "sessionId")]
        id: &'a str,
        #[serde(rename = "sessionKey")]
        key: &'a str,
        #[serde(rename = "sessionToken")]
        token: &'a str,
    }
    let session = Zeroizing::new(
        serde_json::to_string(&Session {
            id: &role.access_key_id,
            key: role.secret_access_key.expose(),
            token: role.session_token.expose(),
        })
        .expect("a session serializes"),
    );
    let url = Zeroizing::new(format!(
        "{}/federation?Action=getSigninToken&Session={}",
        signin.trim_end_matches('/'),
        url_encode(&session)
    ));
    let answer = get(Service::Signin, &url)?;
    let refused = |message: String| AwsError::Refused {
        service: Service::Signin,
        code: format!("HTTP {}", answer.status),
        message,
    };
    if answer.status != 200 {
        return Err(refused(crate::error::clip(
            &String::from_utf8_lossy(&answer.body),
            300,
        )));
    }
    #[derive(serde::Deserialize)]
    struct Token {
        #[serde(rename = "SigninToken")]
        token: String,
    }
    serde_json::from_slice::<Token>(&answer.body)
        .map(|t| t.token)
        .map_err(|_| refused("no SigninToken in the answer".into()))
}

pub(super) fn server_time(place: &Place) -> Result<DateTime<Utc>, AwsError> {
    let url = match &place.endpoint {
        Some(endpoint) => endpoint.clone(),
        None => format!("https://sts.{}.amazonaws.com/", place.region),
    };
    let answer = get(Service::Sts, &url)?;
    answer
        .date
        .and_then(|d| DateTime::parse_from_rfc2822(&d).ok())
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| AwsError::Refused {
            service: Service::Sts,
            code: format!("HTTP {}", answer.status),
            message: "no Date header".into(),
        })
}

/// Percent-encoding of everything but the unreserved characters (RFC 3986).
pub(crate) fn url_encode(text: &str) -> String {
    use std::fmt::Write;
    text.bytes()
        .fold(String::with_capacity(text.len() * 3), |mut out, b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                let _ = write!(out, "%{b:02X}");
            }
            out
        })
}
