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
