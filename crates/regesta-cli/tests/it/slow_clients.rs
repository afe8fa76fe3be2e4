//! A client that trickles its upload (slowloris) is cut off with `408`
//! when the body deadline passes, and stores nothing.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[tokio::test]
async fn a_trickled_publish_body_gets_408_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        crate::support::start_with(dir.path(), &[("REGESTA_REQUEST_BODY_TIMEOUT_MS", "300")]);
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /releases HTTP/1.1\r\nHost: {address}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n--x\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Trickle a byte now and then, well past the deadline.
    let mut response = Vec::new();
    for _ in 0..40 {
        if stream.write_all(b"a").await.is_err() {
            break;
        }
        let mut buf = [0_u8; 4096];
        match tokio::time::timeout(std::time::Duration::from_millis(50), stream.read(&mut buf))
            .await
        {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => {
                response.extend_from_slice(&buf[..n]);
                break;
            }
            Err(_) => {}
        }
    }
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "got: {text:?}");
    assert!(text.contains("request_timeout"), "got: {text:?}");
    let events = reqwest::get(format!("{}/events", server.base))
        .await
        .unwrap();
    let page: serde_json::Value = serde_json::from_slice(&events.bytes().await.unwrap()).unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 0);
}

/// A client that never finishes its request headers is disconnected at
/// the header deadline; other clients are served meanwhile.
#[tokio::test]
async fn unfinished_request_headers_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        crate::support::start_with(dir.path(), &[("REGESTA_HEADER_READ_TIMEOUT_MS", "300")]);
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /ready HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
        .await
        .unwrap();
    let ready = reqwest::get(format!("{}/ready", server.base))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200, "others are served meanwhile");
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut buf),
    )
    .await
    .expect("the server kept an unfinished request open");
    assert!(read.is_ok() || buf.is_empty(), "{read:?}");
    let text = String::from_utf8_lossy(&buf);
    assert!(
        buf.is_empty() || text.starts_with("HTTP/1.1 408"),
        "got: {text:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// Connections that start no request are closed at the header deadline
/// too, whichever protocol they speak: one that sends nothing, one that
/// stops inside HTTP/2's preface (the server cannot tell the protocol
/// yet) and an HTTP/2 connection that never opens a stream (told GOAWAY).
#[tokio::test]
async fn connections_that_start_no_request_are_closed() {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    // An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
    const SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
    let dir = tempfile::tempdir().unwrap();
    let server =
        crate::support::start_with(dir.path(), &[("REGESTA_HEADER_READ_TIMEOUT_MS", "300")]);
    let address = server.base.trim_start_matches("http://").to_owned();
    let h2_idle = [PREFACE, SETTINGS].concat();
    let sends: [(&str, &[u8]); 3] = [
        ("nothing", b""),
        ("part of the preface", &PREFACE[..16]),
        ("an idle HTTP/2 connection", &h2_idle),
    ];
    let mut streams = Vec::new();
    for (what, bytes) in sends {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        streams.push((what, stream));
    }
    let ready = reqwest::get(format!("{}/ready", server.base))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200, "others are served meanwhile");
    let started = std::time::Instant::now();
    for (what, mut stream) in streams {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut buf),
        )
        .await;
        assert!(read.is_ok(), "the server kept {what} open");
        if what.contains("HTTP/2") {
            // SETTINGS, its ack, then GOAWAY (type 7) before closing.
            assert!(buf.windows(2).any(|w| w == [7, 0]), "{what}: {buf:?}");
        }
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
