//! A loopback HTTP listener for a local client of this user: the browser that `console`
//! sends to a one-time address (and, later, an OAuth callback or a local credential
//! server). It reads one request head and writes one answer per connection.
//!
//! Invariants:
//! - it listens on 127.0.0.1 only, on a port the OS picks;
//! - on Linux a connection is handed out only when the peer's socket belongs to this
//!   user (its uid in /proc/net/tcp or /proc/net/tcp6); any other is closed unanswered,
//!   reported to the caller, and waiting goes on, so another user can neither take
//!   nor block what is served;
//! - accepting ends at an overall deadline; reading a request ends at an overall
//!   deadline per connection (not per read) and at [`MAX_HEAD`] bytes of request line
//!   and headers, whatever the client sends and however slowly; no body is read.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// The most a request line and its headers may take, with the blank line.
pub(crate) const MAX_HEAD: usize = 8 * 1024;

/// How often a non-blocking accept looks again.
const POLL: Duration = Duration::from_millis(25);

/// A listener on 127.0.0.1.
pub(crate) struct Listener {
    listener: TcpListener,
    local: SocketAddr,
}

/// A connection from another user, closed unanswered.
#[derive(Debug)]
pub(crate) struct Refused {
    pub peer: SocketAddr,
    /// The peer socket's owner, when it could be found.
    pub uid: Option<u32>,
}

/// An accepted connection from a process of this user.
pub(crate) struct Connection {
    stream: TcpStream,
}

/// A request's head.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub method: String,
    /// The request target as sent (`/path?query`).
    pub path: String,
    /// Each header's name (as sent) and trimmed value, in order.
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error("the request line and headers are longer than {MAX_HEAD} bytes")]
    TooLarge,
    #[error("the request did not arrive within {0} s")]
    TooSlow(u64),
    #[error("the connection closed before the request ended")]
    Closed,
    #[error("not an HTTP request")]
    Malformed,
    #[error("{0}")]
    Io(std::io::Error),
}

impl Listener {
    /// Listens on 127.0.0.1, on a port the OS picks.
    pub(crate) fn bind() -> std::io::Result<Listener> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        Ok(Listener { listener, local })
    }

    pub(crate) fn port(&self) -> u16 {
        self.local.port()
    }

    /// The next connection from a process of this user, or `None` once `deadline` has
    /// passed. Each connection from anyone else is closed unanswered and handed to
    /// `refused`.
    pub(crate) fn accept_own(
        &self,
        deadline: Instant,
        refused: &mut dyn FnMut(Refused),
    ) -> std::io::Result<Option<Connection>> {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    let uid = peer_uid(peer, self.local);
                    if uid == Some(this_user()) {
                        stream.set_nonblocking(false)?;
                        return Ok(Some(Connection { stream }));
                    }
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                    refused(Refused { peer, uid });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Ok(None);
                    }
                    std::thread::sleep(POLL);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Connection {
    /// Reads a request head, giving up after `patience` in all or [`MAX_HEAD`] bytes.
    pub(crate) fn read_request(&mut self, patience: Duration) -> Result<Request, RequestError> {
        let deadline = Instant::now() + patience;
        let mut head = Vec::with_capacity(1024);
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = end_of_head(&head) {
                head.truncate(end);
                return parse(&head);
            }
            if head.len() >= MAX_HEAD {
                return Err(RequestError::TooLarge);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RequestError::TooSlow(patience.as_secs()));
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(RequestError::Io)?;
            let room = (MAX_HEAD - head.len()).min(chunk.len());
            match self.stream.read(&mut chunk[..room]) {
                Ok(0) => return Err(RequestError::Closed),
                Ok(n) => head.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(RequestError::TooSlow(patience.as_secs()));
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(RequestError::Io(e)),
            }
        }
    }

    /// Writes one answer (`status` as `404 Not Found`) and closes the connection.
    pub(crate) fn respond(
        mut self,
        status: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<()> {
        let mut head = zeroize::Zeroizing::new(format!("HTTP/1.1 {status}\r\n"));
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        self.stream.write_all(head.as_bytes())?;
        self.stream.write_all(body)?;
        self.stream.flush()
    }
}

/// Where the head ends (after its blank line), if it has.
fn end_of_head(bytes: &[u8]) -> Option<usize> {
    memchr::memmem::find(bytes, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| memchr::memmem::find(bytes, b"\n\n").map(|i| i + 2))
}

fn parse(head: &[u8]) -> Result<Request, RequestError> {
    let text = std::str::from_utf8(head).map_err(|_| RequestError::Malformed)?;
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let first = lines.next().ok_or(RequestError::Malformed)?;
    let mut words = first.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(RequestError::Malformed);
    };
    if method.is_empty() || path.is_empty() || !version.starts_with("HTTP/") {
        return Err(RequestError::Malformed);
    }
    let headers = lines
        .take_while(|l| !l.is_empty())
        .map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.to_string(), v.trim().to_string()))
                .ok_or(RequestError::Malformed)
        })
        .collect::<Result<_, _>>()?;
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        headers,
    })
}

#[cfg(unix)]
fn this_user() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(not(unix))]
fn this_user() -> u32 {
    0
}

/// The owner of the socket at `peer` connected to `local`: on Linux from the kernel's
/// socket tables; elsewhere this user (no check is made).
#[cfg(target_os = "linux")]
fn peer_uid(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .find_map(|table| {
            std::fs::read_to_string(table)
                .ok()
                .and_then(|text| uid_in_table(&text, peer, local))
        })
}

#[cfg(not(target_os = "linux"))]
fn peer_uid(_: SocketAddr, _: SocketAddr) -> Option<u32> {
    Some(this_user())
}

/// In a /proc/net/tcp or tcp6 table, the uid of the live socket whose own address is
/// `peer` and whose remote address is `local`. Sockets in TIME_WAIT (state 06) carry
/// no owner and are never a match.
pub(crate) fn uid_in_table(table: &str, peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (own, remote, state, uid) = (
            fields.get(1)?,
            fields.get(2)?,
            fields.get(3)?,
            fields.get(7)?,
        );
        (*state != "06"
            && table_address(own)? == canonical(peer)
            && table_address(remote)? == canonical(local))
        .then(|| uid.parse().ok())
        .flatten()
    })
}

/// `0100007F:1F90` (tcp) or 32 hex digits and a port (tcp6): each 32-bit word is
/// printed in the machine's byte order.
fn table_address(field: &str) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(ip.get(8 * i..8 * i + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[4 * i..4 * i + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(canonical(SocketAddr::new(ip, port)))
}

/// IPv4-mapped IPv6 addresses as IPv4, so both tables compare alike.
fn canonical(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), address.port()),
            None => address,
        },
        IpAddr::V4(_) => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATIENCE: Duration = Duration::from_secs(2);
    /// How long a test waits for something that must happen.
    const GENEROUS: Duration = Duration::from_secs(30);

    fn accept(listener: &Listener) -> Connection {
        listener
            .accept_own(Instant::now() + GENEROUS, &mut |r| {
                panic!("our own connection was refused: {r:?}")
            })
            .unwrap()
            .expect("a connection within the deadline")
    }

    fn connect(listener: &Listener) -> TcpStream {
        TcpStream::connect((Ipv4Addr::LOCALHOST, listener.port())).unwrap()
    }

    #[test]
    fn a_request_head_is_read_and_answered() {
        let listener = Listener::bind().unwrap();
        let mut client = connect(&listener);
        client
            .write_all(b"GET /abc?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept:  */* \r\n\r\nbody")
            .unwrap();
        let mut connection = accept(&listener);
        let request = connection.read_request(PATIENCE).unwrap();
        assert_eq!(
            request,
            Request {
                method: "GET".into(),
                path: "/abc?x=1".into(),
                headers: vec![
                    ("Host".into(), "127.0.0.1".into()),
                    ("Accept".into(), "*/*".into())
                ],
            }
        );
        connection
            .respond("302 Found", &[("Location", "https://example.com/")], b"")
            .unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 302 Found\r\n"), "{answer}");
        assert!(
            answer.contains("Location: https://example.com/\r\n"),
            "{answer}"
        );
        assert!(answer.ends_with("Content-Length: 0\r\nConnection: close\r\n\r\n"));
    }

    #[test]
    fn malformed_and_cut_requests_are_errors() {
        type Expected = fn(&RequestError) -> bool;
        let cases: &[(&[u8], Expected)] = &[
            (b"GET /\r\n\r\n", |e| matches!(e, RequestError::Malformed)),
            (b"GET / HTTP/1.1 x\r\n\r\n", |e| {
                matches!(e, RequestError::Malformed)
            }),
            (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", |e| {
                matches!(e, RequestError::Malformed)
            }),
            (b"GET / HTTP/1.1\r\nHost: a\r\n", |e| {
                matches!(e, RequestError::Closed)
            }),
            (b"\xff\xfe / HTTP/1.1\r\n\r\n", |e| {
                matches!(e, RequestError::Malformed)
            }),
        ];
        let listener = Listener::bind().unwrap();
        for (sent, expected) in cases {
            let mut client = connect(&listener);
            client.write_all(sent).unwrap();
            client.shutdown(std::net::Shutdown::Write).unwrap();
            let error = accept(&listener).read_request(PATIENCE).unwrap_err();
            assert!(
                expected(&error),
                "{:?}: {error:?}",
                String::from_utf8_lossy(sent)
            );
        }
    }

    #[test]
    fn a_huge_request_line_stops_at_the_bound() {
        let listener = Listener::bind().unwrap();
        let mut client = connect(&listener);
        // More than the bound and no newline, sent while the server reads.
        let sender = std::thread::spawn(move || {
            let line = vec![b'A'; 1024 * 1024];
            let _ = client.write_all(&line);
            client
        });
        let error = accept(&listener).read_request(GENEROUS).unwrap_err();
        assert!(matches!(error, RequestError::TooLarge), "{error:?}");
        drop(sender.join());
    }

    #[test]
    fn a_slow_client_is_cut_off_at_the_overall_deadline() {
        let listener = Listener::bind().unwrap();
        let mut client = connect(&listener);
        // One byte at a time, each well within any per-read timeout, never ending.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let dribbler = std::thread::spawn(move || {
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                if client.write_all(b"G").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let patience = Duration::from_millis(700);
        let started = Instant::now();
        let error = accept(&listener).read_request(patience).unwrap_err();
        let took = started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        dribbler.join().unwrap();
        assert!(matches!(error, RequestError::TooSlow(_)), "{error:?}");
        // Behavioural: it stopped at its own deadline, not at the (endless) client's.
        assert!(took >= patience, "{took:?}");
        assert!(took < GENEROUS, "{took:?}");
    }

    #[test]
    fn accepting_ends_at_the_deadline() {
        let listener = Listener::bind().unwrap();
        let got = listener
            .accept_own(Instant::now() + Duration::from_millis(100), &mut |_| {})
            .unwrap();
        assert!(got.is_none());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn our_own_connection_is_found_as_ours_in_the_kernel_table() {
        let listener = Listener::bind().unwrap();
        let client = connect(&listener);
        let peer = client.local_addr().unwrap();
        assert_eq!(peer_uid(peer, listener.local), Some(this_user()));
        // Another port is nobody's.
        let other = SocketAddr::new(peer.ip(), peer.port().wrapping_add(1));
        assert_ne!(peer_uid(other, listener.local), Some(this_user()));
    }

    #[test]
    fn the_owner_is_read_from_both_tables_and_never_from_time_wait() {
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        // 127.0.0.1 as the kernel prints it on this machine.
        let v4 = hex_word([127, 0, 0, 1]);
        let mapped = format!(
            "{}{}{}{}",
            hex_word([0, 0, 0, 0]),
            hex_word([0, 0, 0, 0]),
            hex_word([0, 0, 0xff, 0xff]),
            v4
        );
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
        let row = |own: &str, remote: &str, state: &str, uid: u32| {
            format!(
                "   0: {own} {remote} {state} 00000000:00000000 00:00000000 00000000  {uid}        0 1 1 0000000000000000 20 4 30 10 -1\n"
            )
        };
        let cases: Vec<(&str, String, Option<u32>)> = vec![
            (
                "tcp: the peer's row",
                row(&format!("{v4}:9C40"), &format!("{v4}:1F90"), "01", 1000),
                Some(1000),
            ),
            (
                "tcp: only our own side of it",
                row(&format!("{v4}:1F90"), &format!("{v4}:9C40"), "01", 0),
                None,
            ),
            (
                "tcp: TIME_WAIT",
                row(&format!("{v4}:9C40"), &format!("{v4}:1F90"), "06", 0),
                None,
            ),
            (
                "tcp6: an IPv4-mapped peer",
                row(
                    &format!("{mapped}:9C40"),
                    &format!("{mapped}:1F90"),
                    "01",
                    1001,
                ),
                Some(1001),
            ),
            (
                "another port",
                row(&format!("{v4}:9C41"), &format!("{v4}:1F90"), "01", 1000),
                None,
            ),
            ("garbage", "   0: x y z\n".to_string(), None),
        ];
        for (what, rows, uid) in cases {
            let table = format!("{header}{rows}");
            assert_eq!(uid_in_table(&table, peer, local), uid, "{what}");
        }
    }

    /// A 32-bit word of an address as /proc/net/tcp prints it.
    fn hex_word(bytes: [u8; 4]) -> String {
        format!("{:08X}", u32::from_ne_bytes(bytes))
    }
}
