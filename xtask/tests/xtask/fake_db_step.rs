//! A fake step with a database, for the tests of `switch reset` (reset.rs):
//! what `switch --seed` asks of a step and nothing more. It is started as
//! `STEP --port N --db PATH`, creates a `users` table (and, when MESSAGES is
//! true, a `messages` table whose `date` is set as the steps set it), and
//! keeps the file open as a step does. `POST /api/users` and
//! `POST /api/messages` store the body they get (the tests count rows and
//! read dates) and answer 201; a POST it does not know, 404; anything else,
//! 200. rusqlite and the standard library only: built into the real
//! target/, it reuses the rusqlite that xtask's tests compiled.

use std::io::{Read, Write};
use std::net::TcpListener;

use rusqlite::Connection;

const VERSION: &str = "71";
const MESSAGES: bool = false;

/// Serves until it is stopped.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str| {
        let at = args.iter().position(|arg| arg == name).expect(name);
        args[at + 1].clone()
    };
    let (port, database) = (option("--port"), option("--db"));
    if let Some(folder) = std::path::Path::new(&database).parent() {
        std::fs::create_dir_all(folder).expect("the database's folder");
    }
    let db = Connection::open(&database).expect("the database");
    db.execute_batch("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, body TEXT)")
        .unwrap();
    if MESSAGES {
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS messages (
                id   INTEGER PRIMARY KEY,
                body TEXT,
                date TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
            )",
        )
        .unwrap();
    }
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).expect("a free port");
    println!("fake step {VERSION} with a database: listening on {port}");
    // One request per connection, one connection at a time: enough for a test.
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut request = Vec::new();
        let mut buffer = [0; 4096];
        // The head, then as much body as it says.
        let head_end = loop {
            if let Some(at) = request.windows(4).position(|end| end == b"\r\n\r\n") {
                break Some(at + 4);
            }
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => break None,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        };
        let Some(head_end) = head_end else { continue };
        let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        while request.len() < head_end + length {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        }
        let body = String::from_utf8_lossy(&request[head_end..]).into_owned();
        let table = if head.starts_with("post /api/users ") {
            Some("users")
        } else if head.starts_with("post /api/messages ") && MESSAGES {
            Some("messages")
        } else {
            None
        };
        let (status, answer) = match table {
            Some(table) => {
                let insert = format!("INSERT INTO {table} (body) VALUES (?1)");
                db.execute(&insert, [&body]).unwrap();
                ("201 Created", body)
            }
            None if head.starts_with("post ") => ("404 Not Found", "{}".to_string()),
            None if head.starts_with("get /api/version ") => {
                ("200 OK", format!("{{\"version\":\"{VERSION}\"}}"))
            }
            None => ("200 OK", "{}".to_string()),
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        );
    }
}
