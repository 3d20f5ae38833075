//! Several instances of the app, one chat (step 23): each new message is
//! published on Redis, and every instance's relay hands it to its own hub,
//! which sends it to that instance's pages as in step 18.
//!
//! Redis's pub/sub forgets a message nobody was subscribed for: the live
//! feed is a hint. The database stays the truth, and a page catches up from
//! it whenever its instance may have missed something.

use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytestring::ByteString;
use deadpool_postgres::Object;
use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::time::{sleep, timeout};

use crate::errors::ApiError;
use crate::hub::Hub;
use crate::models::MessageWithUsers;

/// The Redis channel the instances publish new messages on, and listen to.
const CHANNEL: &str = "messages";

/// How long a publication may take before the instance gives up on it.
const PUBLISH_WITHIN: Duration = Duration::from_secs(1);

/// What goes through the channel: a new message, or the id of one that
/// could not be published (`{"message": {...}}`, `{"missed": 6}`).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Published {
    Message(Box<MessageWithUsers>),
    Missed(i64),
}

/// The instance's side of the feed: where it publishes what it stored.
#[derive(Clone)]
pub struct Feed {
    /// A connection that reconnects by itself when Redis comes back.
    redis: ConnectionManager,
    /// The oldest message this instance stored but could not publish.
    missed: Arc<Mutex<Option<i64>>>,
}

impl Feed {
    /// Connects to the Redis at `url`, which all the instances share.
    pub async fn connect(url: &str) -> redis::RedisResult<Feed> {
        let client = redis::Client::open(url)?;
        // Tries again soon after Redis went away, not seconds later.
        let config = ConnectionManagerConfig::new()
            .set_min_delay(RETRY_FIRST)
            .set_max_delay(RETRY_AT_MOST)
            .set_connection_timeout(Some(PUBLISH_WITHIN))
            .set_response_timeout(Some(PUBLISH_WITHIN));
        let redis = ConnectionManager::new_with_config(client, config).await?;
        let missed = Arc::default();
        Ok(Feed { redis, missed })
    }

    /// Publishes `message` to every instance, this one included. If Redis
    /// does not take it, the message is stored all the same: `mend` tells
    /// the pages to catch up once Redis is back.
    pub async fn publish(&self, message: MessageWithUsers) {
        // Redis did not answer a moment ago: the notice of `mend` will
        // cover this message too, without waiting for Redis once more.
        if self.missed().is_some() {
            return;
        }
        let id = message.id;
        if !self.send(&Published::Message(Box::new(message))).await {
            log::warn!("message {id} not published: Redis does not answer");
            self.missed().get_or_insert(id);
        }
    }

    /// The feed's mender, a task of its own: after a message could not be
    /// published, it tells every instance so, as soon as Redis answers.
    pub async fn mend(self) {
        loop {
            sleep(RETRY_FIRST).await;
            // Taken first: a message stored meanwhile is published live.
            let Some(id) = self.missed().take() else {
                continue;
            };
            if self.send(&Published::Missed(id)).await {
                log::info!("feed: Redis answers again; pages catch up from message {id}");
            } else {
                let mut missed = self.missed();
                *missed = Some(missed.map_or(id, |later| later.min(id)));
            }
        }
    }

    /// The oldest message not published, locked.
    fn missed(&self) -> MutexGuard<'_, Option<i64>> {
        self.missed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes on the channel; answers whether Redis took it in time.
    async fn send(&self, published: &Published) -> bool {
        let Ok(text) = serde_json::to_string(published) else {
            return false;
        };
        let mut redis = self.redis.clone();
        let sent = timeout(PUBLISH_WITHIN, redis.publish::<_, _, ()>(CHANNEL, text)).await;
        matches!(sent, Ok(Ok(())))
    }
}

/// How soon the relay tries Redis again, at first and at most.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_AT_MOST: Duration = Duration::from_secs(2);

/// The instance's relay, for as long as it runs: from Redis's channel to
/// the hub. When the connection to Redis drops, it subscribes again, and
/// then tells every page to catch up: what was published meanwhile was
/// lost to this instance, not to the database.
pub async fn relay(url: String, hub: Arc<Hub>) {
    let mut retry_in = RETRY_FIRST;
    loop {
        match subscribe(&url).await {
            Ok(mut pubsub) => {
                log::info!("relay: subscribed to Redis's channel {CHANNEL:?}");
                retry_in = RETRY_FIRST;
                catch_up(&hub, None);
                let mut messages = pubsub.on_message();
                while let Some(published) = messages.next().await {
                    deliver(&hub, published.get_payload_bytes());
                }
                log::warn!("relay: the connection to Redis dropped");
            }
            Err(e) => log::warn!("relay: cannot subscribe to Redis: {e}"),
        }
        sleep(retry_in).await;
        retry_in = (retry_in * 2).min(RETRY_AT_MOST);
    }
}

/// A connection of its own, subscribed to the channel: one that subscribes
/// can send no other command.
async fn subscribe(url: &str) -> redis::RedisResult<redis::aio::PubSub> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    Ok(pubsub)
}

/// Hands what was published to this instance's pages: a message to the
/// recipient's and the author's (steps 18 and 19); a missed one to all.
fn deliver(hub: &Hub, published: &[u8]) {
    let message = match serde_json::from_slice(published) {
        Ok(Published::Message(message)) => message,
        Ok(Published::Missed(id)) => return catch_up(hub, Some(id)),
        Err(e) => return log::warn!("relay: not a message: {e}"),
    };
    let event = ByteString::from(json!({ "event": "message", "data": message }).to_string());
    hub.send(message.recipient.id, &event);
    if message.author.id != message.recipient.id {
        hub.send(message.author.id, &event);
    }
}

/// Tells every page of this instance to catch up from the database: from
/// message `from` on, or from the last message it is sure of.
fn catch_up(hub: &Hub, from: Option<i64>) {
    let event = json!({ "event": "catch-up", "data": from }).to_string();
    hub.send_to_everyone(&ByteString::from(event));
}

/// The turn is PostgreSQL's advisory lock number 23: taken, then given
/// back. Plain SQL text, without parameters: one round trip each.
const TAKE_TURN: &str = "SELECT pg_advisory_lock(23)";
const GIVE_TURN_BACK: &str = "SELECT pg_advisory_unlock(23)";

/// The turn to store a message and publish it, one instance at a time, so
/// that the messages are published in the order of their ids (step 22 had
/// a `Mutex`, which only one process sees). It is a lock in PostgreSQL,
/// which all the instances share, held by one connection of the pool.
pub struct Turn {
    connection: Option<Object>,
}

impl Turn {
    /// Waits for the turn, on `connection`, which then runs the queries.
    pub async fn take(connection: Object) -> Result<Turn, ApiError> {
        connection.batch_execute(TAKE_TURN).await?;
        Ok(Turn {
            connection: Some(connection),
        })
    }

    /// Gives the turn to the next instance; the connection goes back to the pool.
    pub async fn give_back(mut self) -> Result<(), ApiError> {
        self.batch_execute(GIVE_TURN_BACK).await?;
        drop(self.connection.take());
        Ok(())
    }
}

impl Deref for Turn {
    type Target = Object;

    fn deref(&self) -> &Object {
        self.connection.as_ref().expect("a turn has its connection")
    }
}

impl Drop for Turn {
    /// A turn not given back (an error, or the client hung up mid-way): its
    /// connection is closed instead of going back to the pool, and
    /// PostgreSQL releases the lock with it.
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            drop(Object::take(connection));
        }
    }
}
