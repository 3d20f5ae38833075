//! The WebSocket: `GET /ws` switches the connection from HTTP to WebSocket,
//! then a task of its own serves each open page until it closes.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{
    AggregatedMessage, CloseCode, CloseReason, Closed, MessageStream, ProtocolError, Session,
};
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::time::timeout;

use crate::errors::error_reply;
use crate::hub::{Hub, Subscription};
use crate::sessions::{LoggedIn, foreign_origin};

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

// try it: open http://localhost:5001/front/messages (the server logs "connect-ack")
pub async fn handshake(
    req: HttpRequest,
    body: web::Payload,
    hub: web::Data<Hub>,
    me: LoggedIn,
) -> actix_web::Result<HttpResponse> {
    if let Some(origin) = foreign_origin(&req) {
        let refusal = format!("a page of {origin} may not open this WebSocket");
        return Ok(error_reply(StatusCode::FORBIDDEN, refusal));
    }
    // A frame over that size is refused as soon as its header arrives
    // (actix-ws alone would keep all of it before refusing it: see `shared`).
    let body = shared::limit_frames(&req, body, LARGEST_FRAME);
    // The handshake: the answer switches the connection from HTTP to WebSocket.
    let (response, session, frames) = actix_ws::handle(&req, body)?;
    // The page gets the events of its session's user, and of no one else
    // (step 20): it need not ask.
    let events = hub.subscribe(me.user_id);
    log::info!(
        "subscribe: a page of user {} ({} open)",
        me.user_id,
        hub.pages_open()
    );
    // The connection then lives on in a task of its own.
    let page = Page {
        session,
        last_heard: Instant::now(),
        user_id: me.user_id,
        events,
    };
    actix_web::rt::spawn(page_connection(page, frames));
    Ok(response)
}

/// How often the server pings a quiet page, and when it gives up on one
/// that answers nothing (a closed laptop, a dropped network): the figures
/// of actix's own WebSocket examples.
const PING_EVERY: Duration = Duration::from_secs(5);
const GONE_AFTER: Duration = Duration::from_secs(10);

/// What a connection's task keeps about its page.
struct Page {
    session: Session,
    last_heard: Instant,
    /// The logged-in user whose page it is, and their events (step 20).
    user_id: i64,
    events: Subscription,
}

/// Why a connection ends: what its close frame tells the page, if anything.
type Ending = Option<CloseReason>;

/// One page's WebSocket, until it closes: reads the page's frames, sends it
/// its user's events from the hub, and pings it now and then to notice a
/// page that is gone.
async fn page_connection(mut page: Page, frames: MessageStream) {
    // A frame, or a message sent in several frames, over that size is refused.
    let mut frames = frames
        .max_frame_size(LARGEST_FRAME)
        .aggregate_continuations()
        .max_continuation_size(LARGEST_FRAME);
    let mut ping = tokio::time::interval(PING_EVERY);
    // Subscribed from the start: from now on, the page misses nothing.
    let mut handled = page.emit("subscribed", page.user_id).await;
    let ending = loop {
        if let Err(ending) = handled {
            break ending;
        }
        // Waits for whichever comes first: a frame, an event, the next tick.
        handled = tokio::select! {
            frame = frames.recv() => page.on_frame(frame).await,
            event = page.events.next() => page.send_event(event).await,
            _ = ping.tick() => page.ping().await,
        };
    };
    let _ = in_time(page.session.close(ending)).await;
}

impl Page {
    /// What the page sent: an event, a ping, its close, or a broken frame.
    async fn on_frame(
        &mut self,
        frame: Option<Result<AggregatedMessage, ProtocolError>>,
    ) -> Result<(), Ending> {
        self.last_heard = Instant::now();
        match frame {
            Some(Ok(AggregatedMessage::Text(text))) => self.on_event(&text).await,
            Some(Ok(AggregatedMessage::Ping(bytes))) => in_time(self.session.pong(&bytes)).await,
            Some(Ok(AggregatedMessage::Close(reason))) => Err(reason),
            Some(Ok(_)) => Ok(()), // a pong, or binary: nothing to do
            // A broken or oversized frame: close, saying why.
            Some(Err(e)) => Err(Some(CloseReason {
                code: CloseCode::Policy,
                description: Some(e.to_string()),
            })),
            None => Err(None), // the connection is gone
        }
    }

    /// One of the page's events. Its text goes to the log quoted (`{:?}`),
    /// so that a line break in it cannot forge a line of the log.
    async fn on_event(&mut self, text: &str) -> Result<(), Ending> {
        match serde_json::from_str::<PageEvent>(text) {
            Ok(PageEvent::ConnectAck(data)) => log::info!("connect-ack: {data:?}"),
            // A frame that is no event of ours: said in the log, then ignored.
            Err(e) => log::warn!("a page sent an event we do not know: {:?}", e.to_string()),
        }
        Ok(())
    }

    /// Sends the page an event from the hub; or, when the hub dropped the
    /// page (it fell too far behind), closes saying so: 1013, try again.
    async fn send_event(&mut self, event: Option<ByteString>) -> Result<(), Ending> {
        match event {
            Some(event) => in_time(self.session.text(event)).await,
            None => Err(Some(CloseReason {
                code: CloseCode::Again,
                description: Some("too many events waiting: connect again".into()),
            })),
        }
    }

    /// Sends the page the event `event` with `data`, written as the page's own.
    async fn emit(&mut self, event: &str, data: impl Serialize) -> Result<(), Ending> {
        let frame = json!({ "event": event, "data": data });
        in_time(self.session.text(frame.to_string())).await
    }

    /// At each tick: a page silent for too long is gone; the others get a
    /// ping, which browsers answer by themselves.
    async fn ping(&mut self) -> Result<(), Ending> {
        if self.last_heard.elapsed() > GONE_AFTER {
            return Err(Some(CloseCode::Away.into()));
        }
        in_time(self.session.ping(b"")).await
    }
}

/// Sends a frame, or gives up on the page when it has not taken it after
/// GONE_AFTER: actix-ws holds a few frames per page, then waits for the
/// page to read, for ever if it never does.
async fn in_time(send: impl Future<Output = Result<(), Closed>>) -> Result<(), Ending> {
    match timeout(GONE_AFTER, send).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(None),
    }
}
