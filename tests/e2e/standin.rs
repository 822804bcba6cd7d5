//! A stand-in STS for what moto cannot do: reject a code, count calls exactly.
//!
//! It answers GetSessionToken over plain HTTP on a free loopback port. The code
//! `000000` is rejected the way AWS rejects a wrong or reused code; any other code gets
//! fresh credentials, numbered so that sessions can be told apart.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A code the stand-in rejects as AWS rejects a wrong one.
pub const WRONG_CODE: &str = "000000";
pub const SESSION_SECRET: &str = "standin-session-secret-Zq8v";
pub const SESSION_TOKEN_PREFIX: &str = "standin-session-token-";

pub struct StandIn {
    url: String,
    codes: Arc<Mutex<Vec<String>>>,
}

impl StandIn {
    pub fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let codes = Arc::new(Mutex::new(Vec::new()));
        let seen = codes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, &seen));
            }
        });
        StandIn { url, codes }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The TokenCode of every GetSessionToken call so far.
    pub fn codes(&self) -> Vec<String> {
        self.codes.lock().unwrap().clone()
    }
}

fn serve(stream: std::net::TcpStream, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let body = String::from_utf8_lossy(&body).to_string();
    let field = |name: &str| {
        body.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or("")
            .to_string()
    };
    let code = field("TokenCode");
    let duration: i64 = field("DurationSeconds").parse().unwrap_or(43200);
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push(code.clone());
        seen.len()
    };
    let (status, xml) = if code == WRONG_CODE {
        (
            "403 Forbidden",
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>MultiFactorAuthentication failed with invalid MFA one time pass code. </Message></Error><RequestId>r</RequestId></ErrorResponse>".to_string(),
        )
    } else {
        let expiration = (chrono::Utc::now() + chrono::Duration::seconds(duration))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        (
            "200 OK",
            format!(
                "<GetSessionTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetSessionTokenResult><Credentials><AccessKeyId>ASIASTANDIN{n:05}</AccessKeyId><SecretAccessKey>{SESSION_SECRET}</SecretAccessKey><SessionToken>{SESSION_TOKEN_PREFIX}{n}</SessionToken><Expiration>{expiration}</Expiration></Credentials></GetSessionTokenResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetSessionTokenResponse>"
            ),
        )
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
        xml.len()
    );
}
