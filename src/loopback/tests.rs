//! The listener against real sockets on 127.0.0.1.
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

#[test]
fn tokens_are_equal_only_when_every_byte_is() {
    let cases: &[(&[u8], &[u8], bool)] = &[
        (b"abcd", b"abcd", true),
        (b"abcd", b"abce", false),
        (b"abcd", b"abc", false),
        (b"", b"abcd", false),
        (b"", b"", true),
    ];
    for (given, expected, same) in cases {
        assert_eq!(
            same_secret(given, expected),
            *same,
            "{given:?} {expected:?}"
        );
    }
}

#[test]
fn a_request_s_debug_form_names_headers_but_shows_no_value() {
    let request = Request {
        method: "GET".into(),
        path: "/credentials".into(),
        headers: vec![("Authorization".into(), "s3cr3t-token".into())],
    };
    let shown = format!("{request:?}");
    assert!(shown.contains("Authorization"), "{shown}");
    assert!(!shown.contains("s3cr3t-token"), "{shown}");
}

#[test]
fn root_is_let_in_only_when_asked() {
    assert!(Peers::ThisUser.allow(Some(this_user())));
    assert!(Peers::ThisUserAndRoot.allow(Some(0)));
    assert!(!Peers::ThisUserAndRoot.allow(None));
    if this_user() != 0 {
        assert!(!Peers::ThisUser.allow(Some(0)));
    }
    assert!(!Peers::ThisUserAndRoot.allow(Some(this_user().wrapping_add(4242))));
}

#[test]
fn a_slow_client_does_not_hold_the_next_request() {
    let listener = Listener::bind().unwrap();
    let port = listener.port();
    let requests = listener.requests(Peers::ThisUser, GENEROUS).unwrap();
    // Connected first, and never finishing its request.
    let mut slow = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    slow.write_all(b"GET /cred").unwrap();
    let mut quick = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    quick.write_all(b"GET /quick HTTP/1.1\r\n\r\n").unwrap();
    let started = Instant::now();
    let Some(Incoming::Request(connection, Ok(request))) = requests.next(GENEROUS) else {
        panic!("no request within {GENEROUS:?}");
    };
    assert_eq!(request.path, "/quick");
    // Behavioural: served before the slow client's own deadline could pass.
    assert!(started.elapsed() < GENEROUS);
    connection.respond("200 OK", &[], b"").unwrap();
    drop(slow);
}
