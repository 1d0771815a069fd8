//! Serving on a real socket on 127.0.0.1: the connection limits of `serve_with` against peers
//! that stop reading, hold many connections from one network, or send an endless request head.

use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use zkcustoms_http::{serve_with, ServeLimits};

/// A server of a short answer (`/public`) and a 64 MiB one (`/flood`, more than any socket
/// buffers hold), stopped by the sender.
fn serve(
    limits: ServeLimits,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    JoinHandle<std::io::Result<()>>,
) {
    let app = Router::new()
        .route("/public", get(|| async { "ok" }))
        .route("/flood", get(|| async { vec![0u8; 64 << 20] }));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve_with(
        listener,
        app,
        async move {
            let _ = stopped.await;
        },
        limits,
    ));
    (addr, stop, server)
}

/// A connection to `addr` from the loopback address `from`.
#[cfg(target_os = "linux")]
async fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Sends `GET path` on `conn` and reads the answer's head and its two-byte body.
async fn get_ok(conn: &mut TcpStream, path: &str) -> String {
    conn.write_all(format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"\r\n\r\nok") {
        let n = tokio::time::timeout(Duration::from_secs(60), conn.read(&mut buf))
            .await
            .expect("answered within a minute")
            .unwrap();
        assert!(n > 0, "closed before answering: {answer:?}");
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(answer).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_gives_its_connection_back() {
    // Only the stalled write may close the connection, not the wait for a next request.
    let (addr, stop, server) = serve(ServeLimits {
        max_connections: 1,
        write_timeout: Duration::from_secs(1),
        header_timeout: Duration::from_secs(600),
        ..ServeLimits::default()
    });
    // The one connection asks for 64 MiB and reads only the start of the answer: it is being
    // served, and the server's writes stall.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"GET /flood HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    stalled.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    // The next connection waits in the accept queue until the stalled one is closed.
    let mut next = TcpStream::connect(addr).await.unwrap();
    let answer = get_ok(&mut next, "/public").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(next);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    drop(stalled);
}

// Every 127.x.y.z address is the loopback on Linux; elsewhere only 127.0.0.1 may be.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_network_holds_at_most_its_share_of_connections() {
    let (addr, stop, server) = serve(ServeLimits {
        max_connections: 8,
        per_address: 2,
        header_timeout: Duration::from_secs(600),
        ..ServeLimits::default()
    });
    // Two kept-alive connections from 127.0.0.1, each answered once: both are being served.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = connect_from("127.0.0.1", addr).await;
        assert!(get_ok(&mut conn, "/public")
            .await
            .starts_with("HTTP/1.1 200"));
        held.push(conn);
    }
    // A third from the same address is closed unanswered.
    let mut third = connect_from("127.0.0.1", addr).await;
    let _ = third
        .write_all(b"GET /public HTTP/1.1\r\nhost: test\r\n\r\n")
        .await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), third.read_to_end(&mut answer))
        .await
        .expect("closed within a minute");
    assert!(read.is_err() || answer.is_empty(), "{answer:?}");
    // Another address is served.
    let mut other = connect_from("127.0.0.2", addr).await;
    assert!(get_ok(&mut other, "/public")
        .await
        .starts_with("HTTP/1.1 200"));
    drop((held, other));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_past_the_limit_is_refused_431() {
    let (addr, stop, server) = serve(ServeLimits::default());
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let pad = "a".repeat(100 * 1024);
    let request = format!("GET /public HTTP/1.1\r\nhost: test\r\nx-pad: {pad}\r\n\r\n");
    // The server may answer and close before it has read everything.
    let _ = conn.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), conn.read_to_end(&mut answer))
        .await
        .expect("answered within a minute");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // A request of an ordinary size is answered.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    assert!(get_ok(&mut conn, "/public")
        .await
        .starts_with("HTTP/1.1 200"));
    drop(conn);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
