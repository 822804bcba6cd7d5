//! A stand-in STS for what moto cannot do: reject a code, fail in the ways AWS fails,
//! and count calls exactly.
//!
//! It answers GetSessionToken (and AssumeRole, with role credentials, recording the
//! request) over plain HTTP on a free loopback port, one request per connection. What
//! it does with GetSessionToken is chosen by the TokenCode, so a test picks a fault by
//! typing it at the prompt:
//!
//! | code | answer |
//! |---|---|
//! | [`WRONG_CODE`] `000000` | 403 `AccessDenied`, invalid one time pass code (as for a wrong or reused code) |
//! | [`HTTP_500`] `500500` | 500 `InternalFailure`, every time |
//! | [`THROTTLED`] `429429` | 400 `Throttling`, every time |
//! | [`NO_ANSWER`] `999999` | nothing: holds the connection until the client hangs up (at most 60 s) |
//! | [`REQUEST_EXPIRED`] `111111` | 400 `RequestExpired` (a clock that is off) |
//! | [`INVALID_KEYS`] `222222` | 403 `InvalidClientTokenId` (deleted or mistyped long-term key) |
//! | [`WRONG_SERIAL`] `333333` | 403 `AccessDenied`, unable to validate MFA code: verify your MFA serial number |
//! | [`SLOW_CODE`] `444444` | success after 1 s (widens races between parallel callers) |
//! | [`HUGE_MESSAGE`] `777777` | 400 `ValidationError` whose message is 100 KB over many lines, with control characters |
//! | any other | success: fresh credentials numbered by call, so sessions can be told apart |
//!
//! Errors have the real STS XML shape (`ErrorResponse/Error/{Type,Code,Message}`).
//! A success's `Expiration` is the request's `X-Amz-Date` plus `DurationSeconds`: the
//! caller's clock, so a caller run under `faketime` gets a session that is as old, to
//! it, as a real one would be.
//! Every request is counted when it arrives, retries included.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const WRONG_CODE: &str = "000000";
pub const HTTP_500: &str = "500500";
pub const THROTTLED: &str = "429429";
pub const NO_ANSWER: &str = "999999";
pub const REQUEST_EXPIRED: &str = "111111";
pub const INVALID_KEYS: &str = "222222";
pub const WRONG_SERIAL: &str = "333333";
pub const SLOW_CODE: &str = "444444";
pub const HUGE_MESSAGE: &str = "777777";

pub const SESSION_SECRET: &str = "standinSessionSecretZq8v";
pub const SESSION_TOKEN_PREFIX: &str = "standinSessionToken";

/// How long a [`NO_ANSWER`] connection is held if the client never hangs up.
const HOLD: Duration = Duration::from_secs(60);
/// How long a [`SLOW_CODE`] answer takes.
const SLOW: Duration = Duration::from_secs(1);

pub struct StandIn {
    url: String,
    codes: Arc<Mutex<Vec<String>>>,
    assume_role: Arc<Mutex<Vec<String>>>,
}

impl StandIn {
    pub fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let codes = Arc::new(Mutex::new(Vec::new()));
        let assume_role = Arc::new(Mutex::new(Vec::new()));
        let (seen, roles) = (codes.clone(), assume_role.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, roles) = (seen.clone(), roles.clone());
                std::thread::spawn(move || serve(stream, &seen, &roles));
            }
        });
        StandIn {
            url,
            codes,
            assume_role,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The TokenCode of every GetSessionToken request so far, retries included.
    pub fn codes(&self) -> Vec<String> {
        self.codes.lock().unwrap().clone()
    }

    /// The form body of every AssumeRole request so far, URL-decoded
    /// (`Action=AssumeRole&…&ExternalId=…`).
    pub fn assume_role_requests(&self) -> Vec<String> {
        self.assume_role.lock().unwrap().clone()
    }

    /// How many requests carried `code`.
    pub fn calls_with(&self, code: &str) -> usize {
        self.codes().iter().filter(|c| *c == code).count()
    }
}

/// What the stand-in does with one request.
enum Answer {
    Reply(&'static str, String),
    Hang,
}

struct Request {
    action: String,
    /// The form body, URL-decoded.
    body: String,
    code: String,
    duration: i64,
    /// `X-Amz-Date`, the signer's clock.
    signed_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<String>>, roles: &Mutex<Vec<String>>) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let answered = if request.action == "AssumeRole" {
        let n = {
            let mut roles = roles.lock().unwrap();
            roles.push(request.body.clone());
            roles.len()
        };
        Answer::Reply("200 OK", role_xml(&request, n))
    } else {
        let n = {
            let mut seen = seen.lock().unwrap();
            seen.push(request.code.clone());
            seen.len()
        };
        answer(&request, n)
    };
    let (status, xml) = match answered {
        Answer::Reply(status, xml) => (status, xml),
        Answer::Hang => {
            // Read until the client gives up (EOF or error), or HOLD passes.
            let _ = stream.set_read_timeout(Some(HOLD));
            let _ = (&stream).read_to_end(&mut Vec::new());
            return;
        }
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nx-amzn-RequestId: standin\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
        xml.len()
    );
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let (mut length, mut signed_at) = (0, None);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if let Some(v) = lower.strip_prefix("x-amz-date:") {
            signed_at = chrono::NaiveDateTime::parse_from_str(v.trim(), "%Y%m%dt%H%M%Sz")
                .ok()
                .map(|t| t.and_utc());
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let body = String::from_utf8_lossy(&body).to_string();
    let field = |name: &str| {
        body.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or("")
            .to_string()
    };
    Some(Request {
        action: field("Action"),
        body: url_decode(&body),
        code: field("TokenCode"),
        duration: field("DurationSeconds").parse().unwrap_or(43200),
        signed_at,
    })
}

fn answer(request: &Request, n: usize) -> Answer {
    let error = |status, kind, code, message| Answer::Reply(status, error_xml(kind, code, message));
    match request.code.as_str() {
        WRONG_CODE => error(
            "403 Forbidden",
            "Sender",
            "AccessDenied",
            "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
        ),
        HTTP_500 => error(
            "500 Internal Server Error",
            "Receiver",
            "InternalFailure",
            "An internal error occurred.",
        ),
        THROTTLED => error("400 Bad Request", "Sender", "Throttling", "Rate exceeded"),
        REQUEST_EXPIRED => error(
            "400 Bad Request",
            "Sender",
            "RequestExpired",
            "Request has expired.",
        ),
        INVALID_KEYS => error(
            "403 Forbidden",
            "Sender",
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ),
        WRONG_SERIAL => error(
            "403 Forbidden",
            "Sender",
            "AccessDenied",
            "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.",
        ),
        HUGE_MESSAGE => Answer::Reply(
            "400 Bad Request",
            error_xml(
                "Sender",
                "ValidationError",
                &"line of an endless message\twith a tab\r\n".repeat(3000),
            ),
        ),
        NO_ANSWER => Answer::Hang,
        SLOW_CODE => {
            std::thread::sleep(SLOW);
            Answer::Reply("200 OK", session_xml(request, n))
        }
        _ => Answer::Reply("200 OK", session_xml(request, n)),
    }
}

fn error_xml(kind: &str, code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>standin-request</RequestId>\n</ErrorResponse>\n"
    )
}

fn session_xml(request: &Request, n: usize) -> String {
    let now = request.signed_at.unwrap_or_else(chrono::Utc::now);
    let expiration = (now + chrono::Duration::seconds(request.duration))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!(
        "<GetSessionTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetSessionTokenResult><Credentials><AccessKeyId>ASIASTANDIN{n:05}</AccessKeyId><SecretAccessKey>{SESSION_SECRET}</SecretAccessKey><SessionToken>{SESSION_TOKEN_PREFIX}{n}</SessionToken><Expiration>{expiration}</Expiration></Credentials></GetSessionTokenResult><ResponseMetadata><RequestId>standin-request</RequestId></ResponseMetadata></GetSessionTokenResponse>"
    )
}

fn role_xml(request: &Request, n: usize) -> String {
    let now = request.signed_at.unwrap_or_else(chrono::Utc::now);
    let expiration = (now + chrono::Duration::seconds(request.duration))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>ASIASTANDINROLE{n:04}</AccessKeyId><SecretAccessKey>{SESSION_SECRET}</SecretAccessKey><SessionToken>{SESSION_TOKEN_PREFIX}Role{n}</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROASTANDIN:s</AssumedRoleId><Arn>arn:aws:sts::222222222222:assumed-role/Admin/s</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>standin-request</RequestId></ResponseMetadata></AssumeRoleResponse>"
    )
}

/// `application/x-www-form-urlencoded` text, decoded (`+` is a space).
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
