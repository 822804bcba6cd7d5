//! A stand-in for the AWS Sign-In service (`signin` 2023-01-01), the service behind
//! `aws login`: the authorize page and `CreateOAuth2Token`, over plain HTTP on a free
//! loopback port, one request per connection.
//!
//! Every rule below comes from AWS's own clients (AWS CLI v2 tag 2.36.7, whose
//! `awscli/botocore` is the botocore the CLI ships; aws-config 1.8.13's `login/`),
//! not from a guess. Where the clients say nothing, the stand-in takes the strict
//! choice, marked *assumed*.
//!
//! **Authorize** (`GET /v1/authorize`), from `awscli/customizations/login/utils.py`,
//! `BaseLoginTokenFetcher._get_authorization_uri` and the two fetchers:
//! - query `response_type=code`, `client_id` = `arn:aws:signin:::devtools/same-device`
//!   or `…/cross-device` (`CLIENT_ID`), a `state`, `code_challenge_method=SHA-256`,
//!   `scope=openid`, `redirect_uri`, and `code_challenge` = base64url(SHA-256(verifier))
//!   without padding (the CLI cuts the one `=`: `code_challenge[:-1]`);
//! - same-device: the person lands on `redirect_uri?code=…&state=…`
//!   (`SameDeviceLoginTokenFetcher.fetch_token`, `AuthCodeFetcher`); the stand-in
//!   answers 302 there at once, as if the person had signed in. *Assumed*: the
//!   redirect must be plain http to 127.0.0.1 (the CLI's `redirect_uri_with_port`);
//! - cross-device: `redirect_uri` is `{base}/v1/sessions/confirmation`, and the page
//!   shows base64(`state=…&code=…`) to paste (`CrossDeviceLoginTokenFetcher`,
//!   `parse_verification_code`). The stand-in's page holds it between
//!   [`CODE_OPEN`] and [`CODE_CLOSE`].
//!
//! **Token** (`POST /v1/token`, `CreateOAuth2Token`), from the `signin` service model
//! (`awscli/botocore/data/signin/2023-01-01/service-2.json`): rest-json, unsigned
//! (`authtype: none`), the body *is* `tokenInput` (`payload`), the answer *is*
//! `tokenOutput`:
//! - in: `clientId`, `grantType` (`authorization_code`: `code`, `codeVerifier`,
//!   `redirectUri`; `refresh_token`: `refreshToken`), as `_exchange_auth_code_for_access_token`
//!   and `LoginCredentialFetcher.refresh_credentials` (`awscli/botocore/credentials.py`)
//!   send them;
//! - out: `accessToken{accessKeyId,secretAccessKey,sessionToken}`, `tokenType`
//!   (`aws_sigv4`), `expiresIn` (≤ 900, shape `ExpiresIn`), `refreshToken`, and on the
//!   `authorization_code` grant only an `idToken` whose payload's `sub` is the session
//!   (`_extract_login_session_from_id_token`), an ARN whose account the CLI takes
//!   (`_extract_account_id_from_login_session`);
//! - errors: `AccessDeniedException` (header `x-amzn-ErrorType`) with body
//!   `{"error": CODE, "message": …}`, the status from the model's note (401 for
//!   `TOKEN_EXPIRED`/`AUTHCODE_EXPIRED`, 403 for `USER_CREDENTIALS_CHANGED`/
//!   `INSUFFICIENT_PERMISSIONS`); botocore reads `e.response['error']`. Anything
//!   malformed: 400 `ValidationException`, `error` = `INVALID_REQUEST` (model).
//!
//! **DPoP** on every token call, from `build_dpop_header` (`awscli/botocore/utils.py`)
//! and aws-config's `login/dpop.rs` (`calculate`, `DPoPSigner`); checked here as
//! RFC 9449 §4.3 says a server checks it:
//! - header `DPoP`: a JWT `b64u(header).b64u(payload).b64u(r‖s)`;
//! - header `{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","x","y","crv":"P-256"}}`;
//! - payload `htm` = `POST`, `htu` = the request's URL (botocore: `params['url']`;
//!   Rust: `request.uri()`), `iat` (seconds; *assumed* window ±5 min), `jti` (a uuid4;
//!   a repeat is refused, *assumed*);
//! - the ES256 signature (SHA-256, 64 bytes `r‖s`: `decode_der_signature_to_padded_pair`)
//!   verifies under the `jwk`;
//! - the refresh token is bound to that key: its RFC 7638 thumbprint must be the one the
//!   token was issued to (model: "refresh token with cnf.jkt (SHA-256 thumbprint of
//!   presented jwk)").
//!
//! **Refresh tokens rotate**: each `refresh_token` grant returns a new one. *Assumed*,
//! the strict reading of aws-cli#10628 (parallel refreshes lose the session): a refresh
//! token works once; a second use ends the whole session (`TOKEN_EXPIRED` from then on),
//! as OAuth's refresh-token reuse detection does. The model's note that a refresh is
//! "idempotent within the validity window" is the lenient case this does not model.
//!
//! Credentials are numbered by issue (`ASIASIGNIN…0001`, …) with distinctive secrets
//! ([`SECRET_PREFIX`], [`SESSION_TOKEN_PREFIX`], [`REFRESH_PREFIX`]) so a leak is easy
//! to find. A test can end the session the next time it is used ([`SignIn::fail_next_with`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const SAME_DEVICE: &str = "arn:aws:signin:::devtools/same-device";
pub const CROSS_DEVICE: &str = "arn:aws:signin:::devtools/cross-device";
/// The person who signs in: the session ARN (`login_session`).
pub const PERSON: &str = "arn:aws:iam::111111111111:user/alice";
pub const SECRET_PREFIX: &str = "signinStandinSecret";
pub const SESSION_TOKEN_PREFIX: &str = "signinStandinSessionToken";
pub const REFRESH_PREFIX: &str = "ASORsigninStandinRefresh";
/// The cross-device page shows the code to paste between these.
pub const CODE_OPEN: &str = "<code id=\"verification-code\">";
pub const CODE_CLOSE: &str = "</code>";
/// How far a proof's `iat` may be from the stand-in's clock.
const IAT_WINDOW: i64 = 300;

/// The running stand-in; see the module docs.
pub struct SignIn {
    url: String,
    state: Arc<Mutex<State>>,
}

/// One call to `/v1/token`, as the stand-in judged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenCall {
    pub grant: String,
    /// `Ok` with the access key issued, or the error code answered and why.
    pub outcome: Result<String, String>,
}

/// A session of [`PERSON`] made without the browser, as if they had signed in earlier.
pub struct Seeded {
    /// The session as the stand-in tells it apart from others of the same person.
    pub id: String,
    pub refresh_token: String,
}

#[derive(Default)]
struct State {
    /// Authorization codes not yet redeemed.
    codes: HashMap<String, Pending>,
    /// Every refresh token issued: its session's id, the key it is bound to, whether used.
    refresh: HashMap<String, Refresh>,
    /// The ids of sessions that have ended (a reused refresh token, or
    /// [`SignIn::fail_next_with`]).
    ended: HashSet<String>,
    jtis: HashSet<String>,
    calls: Vec<TokenCall>,
    scripted: VecDeque<&'static str>,
    /// The `expiresIn` of the next grants, then 900.
    lifetimes: VecDeque<u64>,
    issued: usize,
}

struct Pending {
    client_id: String,
    redirect_uri: String,
    challenge: String,
}

struct Refresh {
    session: String,
    jkt: String,
    used: bool,
}

/// Why a call is refused: the error code and a sentence.
type Refusal = (&'static str, String);

impl SignIn {
    pub fn start() -> SignIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let (shared, base) = (state.clone(), url.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, base) = (shared.clone(), base.clone());
                std::thread::spawn(move || serve(stream, &state, &base));
            }
        });
        SignIn { url, state }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_SIGNIN`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A session of [`PERSON`] whose refresh token is bound to `key`.
    pub fn seed(&self, key: &DpopKey) -> Seeded {
        let mut state = self.state.lock().unwrap();
        let id = random_hex(8);
        let refresh_token = state.new_refresh(&id, &key.thumbprint());
        Seeded { id, refresh_token }
    }

    /// The next token call is refused with `AccessDeniedException` `error`
    /// (`TOKEN_EXPIRED`, `USER_CREDENTIALS_CHANGED`, `AUTHCODE_EXPIRED`,
    /// `INSUFFICIENT_PERMISSIONS`); `TOKEN_EXPIRED` and `USER_CREDENTIALS_CHANGED` also
    /// end the session.
    pub fn fail_next_with(&self, error: &'static str) {
        self.state.lock().unwrap().scripted.push_back(error);
    }

    /// The next grant's credentials last `seconds` (not 900).
    pub fn expire_next_in(&self, seconds: u64) {
        self.state.lock().unwrap().lifetimes.push_back(seconds);
    }

    /// Every token call so far, in order.
    pub fn token_calls(&self) -> Vec<TokenCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// How many `refresh_token` grants succeeded.
    pub fn refreshes(&self) -> usize {
        self.token_calls()
            .iter()
            .filter(|c| c.grant == "refresh_token" && c.outcome.is_ok())
            .count()
    }

    /// The refresh token of session `id` that has not been used yet, if the session lives.
    pub fn live_refresh_token(&self, session: &str) -> Option<String> {
        let state = self.state.lock().unwrap();
        if state.ended.contains(session) {
            return None;
        }
        state
            .refresh
            .iter()
            .find(|(_, r)| r.session == session && !r.used)
            .map(|(token, _)| token.clone())
    }

    /// Checks a token call as the server does, without HTTP: `htu` is the URL the
    /// client was asked to reach. For the stand-in's own tests.
    pub fn judge(&self, htu: &str, dpop: Option<&str>, body: &[u8]) -> TokenCall {
        let mut state = self.state.lock().unwrap();
        let (call, _) = token(&mut state, htu, dpop, body);
        state.calls.push(call.clone());
        call
    }
}

impl State {
    fn new_refresh(&mut self, session: &str, jkt: &str) -> String {
        let token = format!("{REFRESH_PREFIX}{}", random_hex(16));
        self.refresh.insert(
            token.clone(),
            Refresh {
                session: session.into(),
                jkt: jkt.into(),
                used: false,
            },
        );
        token
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, base: &str) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let (status, headers, body) = match (request.method.as_str(), request.path()) {
        ("GET", "/v1/authorize") => authorize(&mut state.lock().unwrap(), &request, base),
        ("POST", "/v1/token") => {
            let htu = format!(
                "http://{}{}",
                request.header("host").unwrap_or_default(),
                "/v1/token"
            );
            let mut state = state.lock().unwrap();
            let (call, answer) = token(
                &mut state,
                &htu,
                request.header("dpop").as_deref(),
                &request.body,
            );
            state.calls.push(call);
            answer
        }
        _ => ("404 Not Found", vec![], String::new()),
    };
    let mut stream = stream;
    // Every answer carries its Date, as the service's (and any HTTP server's) does:
    // `doctor` compares this machine's clock with it.
    let mut head = format!(
        "HTTP/1.1 {status}\r\nDate: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        chrono::Utc::now().to_rfc2822().replace("+0000", "GMT"),
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let _ = write!(stream, "{head}\r\n{body}");
}

type Answer = (&'static str, Vec<(&'static str, String)>, String);

fn authorize(state: &mut State, request: &Request, base: &str) -> Answer {
    let query = request.query();
    let get = |name: &str| query.get(name).cloned().unwrap_or_default();
    let refuse = |why: String| ("400 Bad Request", vec![], why);
    for (name, want) in [
        ("response_type", "code"),
        ("code_challenge_method", "SHA-256"),
        ("scope", "openid"),
    ] {
        if get(name) != want {
            return refuse(format!("{name} must be {want}"));
        }
    }
    let (client_id, redirect_uri, state_param, challenge) = (
        get("client_id"),
        get("redirect_uri"),
        get("state"),
        get("code_challenge"),
    );
    if state_param.is_empty() {
        return refuse("no state".into());
    }
    if challenge.len() != 43 || b64u_decode(&challenge).is_none() {
        return refuse("code_challenge is not base64url(SHA-256) without padding".into());
    }
    let confirmation = format!("{base}/v1/sessions/confirmation");
    let same_device = match client_id.as_str() {
        SAME_DEVICE if redirect_uri.starts_with("http://127.0.0.1:") => true,
        CROSS_DEVICE if redirect_uri == confirmation => false,
        _ => {
            return refuse(format!(
                "client_id {client_id} with redirect_uri {redirect_uri}"
            ));
        }
    };
    let code = format!("standinAuthCode{}", random_hex(12));
    state.codes.insert(
        code.clone(),
        Pending {
            client_id,
            redirect_uri: redirect_uri.clone(),
            challenge,
        },
    );
    let back = format!("code={}&state={}", encode(&code), encode(&state_param));
    if same_device {
        let separator = if redirect_uri.contains('?') { '&' } else { '?' };
        let location = format!("{redirect_uri}{separator}{back}");
        ("302 Found", vec![("Location", location)], String::new())
    } else {
        let shown = aws_smithy_types::base64::encode(format!("state={state_param}&code={code}"));
        let page = format!(
            "<html><body><p>Enter this code in your terminal:</p>{CODE_OPEN}{shown}{CODE_CLOSE}</body></html>"
        );
        ("200 OK", vec![("Content-Type", "text/html".into())], page)
    }
}

/// Judges one token call; returns what to record and what to answer.
fn token(state: &mut State, htu: &str, dpop: Option<&str>, body: &[u8]) -> (TokenCall, Answer) {
    let input: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let grant = input["grantType"].as_str().unwrap_or("").to_string();
    let outcome = judge(state, htu, dpop, &input, &grant);
    let (call_outcome, answer) = match outcome {
        Ok(output) => (
            Ok(output["accessToken"]["accessKeyId"]
                .as_str()
                .unwrap()
                .to_string()),
            (
                "200 OK",
                vec![("Content-Type", "application/json".into())],
                output.to_string(),
            ),
        ),
        Err((error, message)) => {
            let (status, kind) = match error {
                "TOKEN_EXPIRED" | "AUTHCODE_EXPIRED" => {
                    ("401 Unauthorized", "AccessDeniedException")
                }
                "USER_CREDENTIALS_CHANGED" | "INSUFFICIENT_PERMISSIONS" => {
                    ("403 Forbidden", "AccessDeniedException")
                }
                _ => ("400 Bad Request", "ValidationException"),
            };
            let body = json!({"error": error, "message": message}).to_string();
            (
                Err(format!("{error}: {message}")),
                (
                    status,
                    vec![
                        ("Content-Type", "application/json".into()),
                        ("x-amzn-ErrorType", kind.into()),
                    ],
                    body,
                ),
            )
        }
    };
    (
        TokenCall {
            grant,
            outcome: call_outcome,
        },
        answer,
    )
}

fn judge(
    state: &mut State,
    htu: &str,
    dpop: Option<&str>,
    input: &Value,
    grant: &str,
) -> Result<Value, Refusal> {
    let invalid = |why: &str| ("INVALID_REQUEST", why.to_string());
    let jkt = check_proof(state, htu, dpop.ok_or_else(|| invalid("no DPoP header"))?)
        .map_err(|why| invalid(&why))?;
    let client_id = input["clientId"].as_str().unwrap_or("");
    if client_id != SAME_DEVICE && client_id != CROSS_DEVICE {
        return Err(invalid("clientId is not a devtools client"));
    }
    let field = |name: &str| input[name].as_str().unwrap_or("").to_string();
    let (session, with_id_token) = match grant {
        "authorization_code" => {
            let pending = state.codes.remove(&field("code")).ok_or_else(|| {
                (
                    "AUTHCODE_EXPIRED",
                    "unknown or used authorization code".into(),
                )
            })?;
            if pending.client_id != client_id || pending.redirect_uri != field("redirectUri") {
                return Err(invalid(
                    "clientId or redirectUri differ from the authorize request",
                ));
            }
            if b64u(&Sha256::digest(field("codeVerifier").as_bytes())) != pending.challenge {
                return Err(invalid("codeVerifier does not match code_challenge"));
            }
            (random_hex(8), true)
        }
        "refresh_token" => {
            let token = field("refreshToken");
            let refresh = state
                .refresh
                .get_mut(&token)
                .ok_or_else(|| invalid("unknown refresh token"))?;
            let session = refresh.session.clone();
            if refresh.jkt != jkt {
                return Err(invalid(
                    "the DPoP key is not the one the refresh token is bound to",
                ));
            }
            if refresh.used {
                state.ended.insert(session);
                return Err((
                    "TOKEN_EXPIRED",
                    "refresh token used twice: the session is ended".into(),
                ));
            }
            refresh.used = true;
            if state.ended.contains(&session) {
                return Err(("TOKEN_EXPIRED", "the session has ended".into()));
            }
            (session, false)
        }
        _ => {
            return Err(invalid(
                "grantType must be authorization_code or refresh_token",
            ));
        }
    };
    if let Some(error) = state.scripted.pop_front() {
        if matches!(error, "TOKEN_EXPIRED" | "USER_CREDENTIALS_CHANGED") {
            state.ended.insert(session);
        }
        return Err((error, format!("scripted {error}")));
    }
    state.issued += 1;
    let n = state.issued;
    let mut output = json!({
        "accessToken": {
            "accessKeyId": format!("ASIASIGNIN{n:010}"),
            "secretAccessKey": format!("{SECRET_PREFIX}{n:04}"),
            "sessionToken": format!("{SESSION_TOKEN_PREFIX}{n:04}"),
        },
        "tokenType": "aws_sigv4",
        "expiresIn": state.lifetimes.pop_front().unwrap_or(900),
        "refreshToken": state.new_refresh(&session, &jkt),
    });
    if with_id_token {
        let claims = json!({"sub": PERSON, "iss": "standin"}).to_string();
        output["idToken"] = json!(format!(
            "{}.{}.c3RhbmRpbg",
            b64u(br#"{"alg":"none"}"#),
            b64u(claims.as_bytes())
        ));
    }
    Ok(output)
}

/// Checks a DPoP proof for a POST to `htu` (see the module docs); returns the key's
/// thumbprint.
fn check_proof(state: &mut State, htu: &str, proof: &str) -> Result<String, String> {
    let parts: Vec<&str> = proof.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err("the DPoP proof is not a JWT of three parts".into());
    };
    let json_of = |part: &str| -> Result<Value, String> {
        b64u_decode(part)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| "a DPoP part is not base64url JSON".to_string())
    };
    let (header, payload) = (json_of(header_b64)?, json_of(payload_b64)?);
    if header["typ"] != "dpop+jwt" || header["alg"] != "ES256" {
        return Err("the DPoP header is not typ dpop+jwt, alg ES256".into());
    }
    let jwk = &header["jwk"];
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
        return Err("the DPoP jwk is not an EC P-256 key".into());
    }
    let (x, y) = (
        jwk["x"].as_str().unwrap_or(""),
        jwk["y"].as_str().unwrap_or(""),
    );
    let point = match (b64u_decode(x), b64u_decode(y)) {
        (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => [&[4u8][..], &x, &y].concat(),
        _ => return Err("the DPoP jwk's x and y are not 32 bytes each".into()),
    };
    let signature = b64u_decode(signature_b64).ok_or("the DPoP signature is not base64url")?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .verify(format!("{header_b64}.{payload_b64}").as_bytes(), &signature)
        .map_err(|_| "the DPoP signature does not verify under its jwk".to_string())?;
    if payload["htm"] != "POST" {
        return Err("DPoP htm is not POST".into());
    }
    if payload["htu"] != htu {
        return Err(format!("DPoP htu is {}, not {htu}", payload["htu"]));
    }
    let iat = payload["iat"].as_i64().ok_or("DPoP iat is not a number")?;
    if (iat - now()).abs() > IAT_WINDOW {
        return Err(format!("DPoP iat is {} s from now", iat - now()));
    }
    let jti = payload["jti"].as_str().unwrap_or("");
    if jti.is_empty() || !state.jtis.insert(jti.to_string()) {
        return Err("DPoP jti is missing or was seen before".into());
    }
    Ok(thumbprint(x, y))
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no spaces.
fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    b64u(&Sha256::digest(canonical.as_bytes()))
}

mod wire;

pub use wire::{DpopKey, b64u, b64u_decode, decode, encode, now};
use wire::{Request, random_hex, read_request};
