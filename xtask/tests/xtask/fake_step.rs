//! A fake step, for the tests of `switch --watch` (watch.rs): what `switch`
//! asks of a step and nothing more. It is started as `STEP --port N --db PATH`
//! (and leaves the database alone), answers `GET /api/version` with
//! `{"version":"91"}` (the tests edit VERSION and wait for the new answer)
//! and any other request with 200 (`switch` waits for `GET /` to answer).
//! The standard library only: it builds in a quarter of a second, where a
//! real step, actix-web and SQLite linked in, takes over a second.

use std::io::{Read, Write};
use std::net::TcpListener;

const VERSION: &str = "91";

/// Serves until it is stopped.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port = args
        .iter()
        .position(|arg| arg == "--port")
        .and_then(|i| args.get(i + 1))
        .expect("--port N");
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).expect("a free port");
    println!("fake step {VERSION}: listening on {port}");
    // One request per connection, one connection at a time: enough for a test.
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut request = Vec::new();
        let mut buffer = [0; 1024];
        while !request.windows(4).any(|end| end == b"\r\n\r\n") {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        }
        let body = if request.starts_with(b"GET /api/version ") {
            format!("{{\"version\":\"{VERSION}\"}}")
        } else {
            "a fake step".to_string()
        };
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}
