//! A loopback HTTP listener for local clients: the browser that `console` sends to a
//! one-time address, and the callers of the local credential endpoint (`exec --server`,
//! `serve`, see [`crate::server`]). It reads one request head and writes one answer per
//! connection.
//!
//! Invariants:
//! - it listens on 127.0.0.1 only, on a port the OS picks (or the one asked for);
//! - on Linux a connection is handed out only when the peer's socket belongs to a user
//!   the caller allows ([`Peers`]: this user, or this user and root), judged from its
//!   uid in /proc/net/tcp or /proc/net/tcp6; any other is closed unanswered, reported to
//!   the caller, and waiting goes on, so another user can neither take nor block what
//!   is served;
//! - accepting ends at an overall deadline; reading a request ends at an overall
//!   deadline per connection (not per read) and at [`MAX_HEAD`] bytes of request line
//!   and headers, whatever the client sends and however slowly; no body is read;
//! - with [`Listener::requests`], each request is read on a thread of its own, at most
//!   [`MAX_READERS`] at a time, so a slow client holds nothing but its own connection;
//! - header values are never shown ([`Request`]'s `Debug` names the headers only): one
//!   may be a token; tokens are compared in constant time ([`same_secret`]).

use std::io::{ErrorKind, Read, Write};
#[cfg(target_os = "linux")]
use std::net::{IpAddr, Ipv6Addr};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

/// The most a request line and its headers may take, with the blank line.
pub(crate) const MAX_HEAD: usize = 8 * 1024;

/// How often a non-blocking accept looks again.
const POLL: Duration = Duration::from_millis(25);

/// How many requests [`Listener::requests`] reads at once; a connection beyond that is
/// closed unanswered.
pub(crate) const MAX_READERS: usize = 32;

/// How long writing an answer may take: a client that never reads cannot hold it.
const WRITE_PATIENCE: Duration = Duration::from_secs(5);

/// Whose connections are handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Peers {
    /// This user's processes only.
    ThisUser,
    /// This user's and root's (a container on the host network runs as root; root can
    /// read this user's memory anyway).
    ThisUserAndRoot,
}

impl Peers {
    fn allow(self, uid: Option<u32>) -> bool {
        uid == Some(this_user()) || (self == Peers::ThisUserAndRoot && uid == Some(0))
    }
}

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
#[derive(PartialEq, Eq)]
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

/// What [`Listener::requests`] hands out.
pub(crate) enum Incoming {
    /// A request head read from an allowed peer, or why none could be read.
    Request(Connection, Result<Request, RequestError>),
    Refused(Refused),
}

/// The requests of [`Listener::requests`]; accepting stops when this is dropped.
pub(crate) struct Requests {
    incoming: Receiver<Incoming>,
    stop: Arc<AtomicBool>,
}

impl Requests {
    /// The next request or refusal, or `None` after `wait` without one.
    pub(crate) fn next(&self, wait: Duration) -> Option<Incoming> {
        // Timed out, or the accepting thread is gone: nothing came.
        self.incoming.recv_timeout(wait).ok()
    }
}

impl Drop for Requests {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Request {
    /// The method, the path and the header names: a header value may be a token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("header_names", &names)
            .finish()
    }
}

impl Request {
    /// The value of the first header named `name` (any case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Whether `given` equals `expected`, in a time that depends on their lengths only (the
/// length of a token is no secret).
pub(crate) fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    let difference = given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

/// `bytes` random bytes from the operating system, as hex: a one-time address, a token.
pub(crate) fn random_hex(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buffer = zeroize::Zeroizing::new(vec![0u8; bytes]);
    getrandom::getrandom(&mut buffer)?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

impl Listener {
    /// Listens on 127.0.0.1, on a port the OS picks.
    pub(crate) fn bind() -> std::io::Result<Listener> {
        Listener::bind_port(0)
    }

    /// Listens on 127.0.0.1:`port` (0: a port the OS picks).
    pub(crate) fn bind_port(port: u16) -> std::io::Result<Listener> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
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
        self.accept(Peers::ThisUser, deadline, refused)
    }

    /// The next connection from one of `peers`, or `None` once `deadline` has passed.
    /// Each connection from anyone else is closed unanswered and handed to `refused`.
    pub(crate) fn accept(
        &self,
        peers: Peers,
        deadline: Instant,
        refused: &mut dyn FnMut(Refused),
    ) -> std::io::Result<Option<Connection>> {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    let uid = peer_uid(peer, self.local);
                    if peers.allow(uid) {
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

impl Listener {
    /// Accepts `peers`' connections on a thread of its own, and reads each request on a
    /// thread of its own (at most [`MAX_READERS`] at once; one more is closed
    /// unanswered), giving up on each after `patience` in all. Stops accepting when
    /// the returned [`Requests`] is dropped.
    pub(crate) fn requests(self, peers: Peers, patience: Duration) -> std::io::Result<Requests> {
        let (sender, incoming) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("loopback-accept".into())
            .spawn(move || self.accept_until(peers, patience, &stopped, &sender))?;
        Ok(Requests { incoming, stop })
    }

    fn accept_until(
        &self,
        peers: Peers,
        patience: Duration,
        stop: &AtomicBool,
        sender: &Sender<Incoming>,
    ) {
        let reading = Arc::new(AtomicUsize::new(0));
        while !stop.load(Ordering::Relaxed) {
            let deadline = Instant::now() + Duration::from_millis(200);
            let mut refused = |r: Refused| {
                let _ = sender.send(Incoming::Refused(r));
            };
            let mut connection = match self.accept(peers, deadline, &mut refused) {
                Ok(Some(connection)) => connection,
                Ok(None) => continue,
                // Out of file descriptors, say: wait, and accept again.
                Err(_) => {
                    std::thread::sleep(POLL);
                    continue;
                }
            };
            if reading.fetch_add(1, Ordering::SeqCst) >= MAX_READERS {
                reading.fetch_sub(1, Ordering::SeqCst);
                let _ = connection.stream.shutdown(std::net::Shutdown::Both);
                continue;
            }
            let (sender, count) = (sender.clone(), reading.clone());
            let spawned = std::thread::Builder::new()
                .name("loopback-read".into())
                .spawn(move || {
                    let request = connection.read_request(patience);
                    count.fetch_sub(1, Ordering::SeqCst);
                    let _ = sender.send(Incoming::Request(connection, request));
                });
            if spawned.is_err() {
                // No thread: the connection went with the closure, and is closed.
                reading.fetch_sub(1, Ordering::SeqCst);
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
        self.stream.set_write_timeout(Some(WRITE_PATIENCE))?;
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
#[cfg(target_os = "linux")]
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
#[cfg(target_os = "linux")]
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
#[cfg(target_os = "linux")]
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
mod tests;
