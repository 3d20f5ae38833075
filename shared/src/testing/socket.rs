//! A WebSocket client for the steps' tests (16 and later): blocking, like
//! the HTTP helpers, with the JSON events the steps speak,
//! `{"event": "...", "data": ...}`.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message, WebSocket};

/// One WebSocket connection to the app under test.
pub struct Socket {
    socket: WebSocket<TcpStream>,
}

impl Socket {
    /// Connects to `url` (`ws://127.0.0.1:PORT/ws`); fails the test if it cannot.
    pub fn connect(url: &str) -> Socket {
        Socket::handshake(url, &[])
            .unwrap_or_else(|refusal| panic!("{url} refused the handshake: {refusal:?}"))
    }

    /// The handshake to `url` with these headers too: the socket, or the
    /// server's refusal (its status and body).
    pub fn handshake(url: &str, headers: &[(&str, &str)]) -> Result<Socket, super::Reply> {
        use tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().expect("a ws:// URL");
        for (name, value) in headers {
            let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("a name");
            request
                .headers_mut()
                .insert(name, value.parse().expect("a header value"));
        }
        let address = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("host:port");
        let stream = TcpStream::connect(address)
            .unwrap_or_else(|e| panic!("cannot connect to {address}: {e}"));
        match tungstenite::client(request, stream) {
            Ok((socket, _response)) => Ok(Socket { socket }),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                let (parts, body) = response.into_parts();
                let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
                Err(super::Reply {
                    status: parts.status.as_u16(),
                    content_type: header("content-type").unwrap_or_default().to_string(),
                    location: header("location").map(str::to_string),
                    headers: Vec::new(),
                    body: String::from_utf8_lossy(&body.unwrap_or_default()).into_owned(),
                })
            }
            Err(e) => panic!("WebSocket handshake with {url} failed: {e}"),
        }
    }

    /// Sends the event `event` with `data`, as the page's `emit` does.
    pub fn emit(&mut self, event: &str, data: Value) {
        self.send_text(&json!({ "event": event, "data": data }).to_string());
    }

    /// Sends one text frame, whatever it holds.
    pub fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .unwrap_or_else(|e| panic!("cannot send {text:?}: {e}"));
    }

    /// Writes `bytes` to the connection as they are, frame or not: for
    /// clients that misbehave. Fails with what the connection said.
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        self.socket.get_mut().write_all(bytes)
    }

    /// The bytes the server sends from now on, read as they are (pings
    /// left unanswered), until it closes the connection; `None` if it is
    /// still open after `within`. For clients that read nothing for a while.
    pub fn raw_bytes_until_closed(&mut self, within: Duration) -> Option<Vec<u8>> {
        use std::io::Read;
        let deadline = Instant::now() + within;
        let mut bytes = Vec::new();
        let mut buffer = [0; 4096];
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let stream = self.socket.get_mut();
            let _ = stream.set_read_timeout(Some(left.max(Duration::from_millis(1))));
            match stream.read(&mut buffer) {
                Ok(0) => return Some(bytes),
                Ok(read) => bytes.extend_from_slice(&buffer[..read]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(bytes),
                Err(_) => return None,
            }
        }
    }

    /// The next event the server sends within `within`, as JSON; `None` if
    /// none came (or the connection closed).
    pub fn next_event(&mut self, within: Duration) -> Option<Value> {
        match self.next_frame(within)? {
            Message::Text(text) => Some(
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("the server sent no JSON ({e}): {text}")),
            ),
            Message::Close(_) => None,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// How many events the server sends, each within `within` of the one
    /// before, then its close frame if it closes.
    pub fn events_then_close(&mut self, within: Duration) -> (usize, Option<CloseFrame>) {
        let mut events = 0;
        loop {
            match self.next_frame(within) {
                Some(Message::Text(_)) => events += 1,
                Some(Message::Close(frame)) => return (events, frame),
                Some(other) => panic!("expected a text or close frame, got {other:?}"),
                None => return (events, None),
            }
        }
    }

    /// The close frame the server sends within `within`, if it closes.
    pub fn closed_with(&mut self, within: Duration) -> Option<CloseFrame> {
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next_frame(left) {
                Some(Message::Close(frame)) => return frame,
                Some(_) => continue,
                None => return None,
            }
        }
        None
    }

    /// The next frame other than ping and pong (which tungstenite answers
    /// by itself), within `within`.
    fn next_frame(&mut self, within: Duration) -> Option<Message> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let wait = left.max(Duration::from_millis(1));
            let _ = self.socket.get_ref().set_read_timeout(Some(wait));
            match self.socket.read() {
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(message) => return Some(message),
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None;
                }
                Err(_) => return None,
            }
        }
    }
}

/// The bytes of one WebSocket frame as a client sends it (masked), whose
/// header says it is `length` bytes long, followed by `payload` (which may be
/// shorter or longer): for [`Socket::send_raw`].
pub fn client_frame(opcode: u8, length: u64, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match length {
        0..=125 => frame.push(0x80 | length as u8),
        126..=65535 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(length as u16).to_be_bytes());
        }
        _ => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&length.to_be_bytes());
        }
    }
    // The mask: zeros leave the payload as it is.
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}
