//! A conversation in pages (step 21): `GET /api/messages/with/<id>` answers
//! the newest messages, 50 at a time, and a `Link` to the page before.
//! Each page is read from the indexes `open_db` creates, by id (keyset),
//! never by counting rows from the start (`OFFSET`).

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use deadpool_postgres::{Client, Pool};

use crate::accounts::AuthError;
use crate::errors::ApiError;
use crate::models::{MESSAGES_WITH_USERS, MessageWithUsers};
use crate::sessions::LoggedIn;

// try it: http --session=alice :5001/api/messages/with/1 limit==2
pub async fn list_messages_with(
    db: web::Data<Pool>,
    me: LoggedIn,
    user_id: web::Path<i64>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AuthError> {
    let user_id = user_id.into_inner();
    if user_id != me.user_id {
        let why = format!("only user {user_id} may read their messages");
        return Err(AuthError::Forbidden(why));
    }
    let (before, limit) = parse_page_query(&query)?;
    let connection = db.get().await.map_err(ApiError::from)?;
    let page = select_page(&connection, user_id, before, limit).await.map_err(ApiError::from)?;
    // Where the page before is, if there is one: a `Link` header (RFC 8288),
    // so the body stays the list of messages it always was.
    let mut answer = HttpResponse::Ok();
    if let Some(before) = page.older {
        let url = format!("/api/messages/with/{user_id}?before={before}&limit={limit}");
        answer.insert_header(("Link", format!("<{url}>; rel=\"prev\"")));
    }
    Ok(answer.json(page.messages))
}

/// How many messages a page of a conversation holds unless asked (step 21),
/// and the most it may hold.
pub const PAGE_SIZE: i64 = 50;
pub const LARGEST_PAGE: i64 = 200;

/// Reads the query of `GET /api/messages/with/<id>`: `?before=<message id>&limit=<n>`,
/// both optional. `before` may be any whole number (none: the newest page),
/// `limit` 1 to `LARGEST_PAGE` (`PAGE_SIZE` if left out); a bad value is
/// answered with the name of its field.
pub fn parse_page_query(query: &HashMap<String, String>) -> Result<(Option<i64>, i64), ApiError> {
    let before = match query.get("before") {
        None => None,
        Some(text) => Some(text.parse().map_err(|_| {
            ApiError::BadInput("before must be a message's id: a whole number, like 120".into())
        })?),
    };
    let limit = match query.get("limit").map(|text| text.parse()) {
        None => PAGE_SIZE,
        Some(Ok(limit)) if (1..=LARGEST_PAGE).contains(&limit) => limit,
        Some(_) => {
            let why = format!("limit must be a whole number from 1 to {LARGEST_PAGE}");
            return Err(ApiError::BadInput(why));
        }
    };
    Ok((before, limit))
}

/// A page of a conversation: its messages, oldest first, and the `before`
/// of the page before it (its oldest message's id), if there are older ones.
pub struct ConversationPage {
    pub messages: Vec<MessageWithUsers>,
    pub older: Option<i64>,
}

/// One page of a user's conversation (step 21): the newest `limit` messages
/// older than message `before` (the newest of all without it), oldest first,
/// each with its two users.
pub async fn select_page(
    connection: &Client,
    user_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<ConversationPage, tokio_postgres::Error> {
    // The ids first, newest first, each side read from its index: what the
    // user wrote, and what others wrote to them (`author_id <> $1`: a message
    // to oneself counts once), at most a page from each, of which the newest
    // make the page. One more than the page tells if there are older.
    let statement = connection
        .prepare_cached(&format!(
            "{MESSAGES_WITH_USERS} WHERE m.id IN (
                 (SELECT id FROM messages WHERE author_id = $1 AND id < $2
                  ORDER BY id DESC LIMIT $3)
                 UNION ALL
                 (SELECT id FROM messages
                  WHERE recipient_id = $1 AND author_id <> $1 AND id < $2
                  ORDER BY id DESC LIMIT $3)
                 ORDER BY id DESC LIMIT $3
             ) ORDER BY m.id"
        ))
        .await?;
    let before = before.unwrap_or(i64::MAX); // older than any id: the newest page
    let rows = connection.query(&statement, &[&user_id, &before, &(limit + 1)]).await?;
    let mut messages: Vec<MessageWithUsers> =
        rows.iter().map(MessageWithUsers::from_row).collect::<Result<_, _>>()?;
    let mut older = None;
    if messages.len() > limit as usize {
        messages.remove(0); // the extra one: it belongs to the page before
        older = messages.first().map(|oldest| oldest.id);
    }
    Ok(ConversationPage { messages, older })
}
