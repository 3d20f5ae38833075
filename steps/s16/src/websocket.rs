//! The WebSocket: `GET /ws` switches the connection from HTTP to WebSocket,
//! then a task of its own serves each open page until it closes.

use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, MessageStream, Session};
use serde::Deserialize;

/// What a page says over its WebSocket. Each frame is JSON text naming an
/// event and carrying its data, `{"event": "connect-ack", "data": "..."}`:
/// what Socket.IO's `emit(event, data)` sends, written out.
#[derive(Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "kebab-case")]
enum PageEvent {
    /// The page is connected (step 16): the server logs it.
    ConnectAck(String),
}

/// The largest frame a page may send: a chat's events are small.
const LARGEST_FRAME: usize = 64 * 1024;

// try it: open http://localhost:5001/front/messages/1 (the server logs "connect-ack")
pub async fn handshake(req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    // A frame over that size is refused as soon as its header arrives
    // (actix-ws alone would keep all of it before refusing it: see `shared`).
    let body = shared::limit_frames(&req, body, LARGEST_FRAME);
    // The handshake: the answer switches the connection from HTTP to WebSocket.
    let (response, session, frames) = actix_ws::handle(&req, body)?;
    // The connection then lives on in a task of its own.
    actix_web::rt::spawn(page_connection(session, frames));
    Ok(response)
}

/// How often the server pings a quiet page, and when it gives up on one
/// that answers nothing (a closed laptop, a dropped network).
const PING_EVERY: Duration = Duration::from_secs(5);

const GONE_AFTER: Duration = Duration::from_secs(15);

/// One page's WebSocket, until it closes: reads the page's events, and pings
/// it now and then to notice a page that is gone.
async fn page_connection(mut session: Session, frames: MessageStream) {
    // A frame, or a message sent in several frames, over that size is refused.
    let mut frames = frames
        .max_frame_size(LARGEST_FRAME)
        .aggregate_continuations()
        .max_continuation_size(LARGEST_FRAME);
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = Instant::now();
    let close = loop {
        tokio::select! {
            frame = frames.recv() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        match serde_json::from_str::<PageEvent>(&text) {
                            Ok(PageEvent::ConnectAck(data)) => log::info!("connect-ack: {data}"),
                            // A frame that is no event of ours: said in the log, then ignored.
                            Err(e) => log::warn!("a page sent an event we do not know: {e}"),
                        }
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if session.pong(&bytes).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(AggregatedMessage::Close(reason))) => break reason,
                    Some(Ok(_)) => {} // a pong, or binary: nothing to do
                    // A broken or oversized frame: close, saying why.
                    Some(Err(e)) => break Some(CloseReason {
                        code: CloseCode::Policy,
                        description: Some(e.to_string()),
                    }),
                    None => return, // the connection is gone
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > GONE_AFTER || session.ping(b"").await.is_err() {
                    break Some(CloseCode::Away.into());
                }
            }
        }
    };
    let _ = session.close(close).await;
}
