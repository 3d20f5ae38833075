//! Sessions (step 20): once logged in, who is asking. The session is a
//! cookie that the browser sends with each request; the handlers that take
//! a `LoggedIn` run only for the user it names.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_session::config::PersistentSession;
use actix_session::storage::CookieSessionStore;
use actix_session::{SessionExt, SessionMiddleware};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite, time};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, ResponseError};
use deadpool_postgres::Pool;

use crate::accounts::AuthError;

/// The user whose session came with a request. A handler that takes one
/// runs only for a logged-in user; anyone else gets 401.
pub struct LoggedIn {
    pub user_id: i64,
}

impl FromRequest for LoggedIn {
    type Error = AuthError;
    type Future = std::future::Ready<Result<LoggedIn, AuthError>>;

    /// Reads the session. A cookie that this server did not make, or that
    /// was changed, reads as no session at all (actix-session checks it),
    /// and so does one past its time, whatever the browser did with it.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let user_id = session.get::<i64>("user_id").ok().flatten();
        let until = session.get::<i64>("until").ok().flatten();
        std::future::ready(match (user_id, until) {
            (Some(user_id), Some(until)) if now() < until => Ok(LoggedIn { user_id }),
            _ => Err(AuthError::NotLoggedIn),
        })
    }
}

/// How long a login lasts.
pub const SESSION_LIFETIME: time::Duration = time::Duration::days(7);

/// The sessions: each in a cookie named `session`, its content encrypted
/// and signed with `key`, so that the browser can neither read nor change
/// it.
pub fn sessions(key: Key) -> SessionMiddleware<CookieSessionStore> {
    // Served over HTTPS (by a proxy in front of the step), it says so.
    let https = std::env::var("CHAT_HTTPS").is_ok_and(|value| value == "1");
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name("session".into())
        // Sent only over HTTPS, never in clear text: when served so.
        .cookie_secure(https)
        // Out of reach of the pages' scripts, and of a script injected there.
        .cookie_http_only(true)
        // Not sent with what another site's page sends here.
        .cookie_same_site(SameSite::Lax)
        .session_lifecycle(PersistentSession::default().session_ttl(SESSION_LIFETIME))
        .build()
}

/// Seconds since 1970, the session's clock.
pub fn now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

/// The key of the session cookies: read from the database (the table
/// `session_key`), or made and stored there the first time, so that a
/// restart keeps everyone logged in. Whoever has it can make a cookie that
/// says "user 1": it is 64 random bytes, and never leaves the server.
pub async fn session_key(db: &Pool) -> Result<Key, String> {
    let connection = db.get().await.map_err(|e| e.to_string())?;
    // A new key is kept only if there is none yet: of two copies of the app
    // starting at once, the second waits for the first's, then reads it.
    let new = Key::generate();
    connection
        .execute(
            "INSERT INTO session_key (key) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&new.master()],
        )
        .await
        .map_err(|e| e.to_string())?;
    let row = connection
        .query_one("SELECT key FROM session_key", &[])
        .await
        .map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = row.get(0);
    Key::try_from(bytes.as_slice()).map_err(|_| "the stored session key is not 64 bytes".into())
}

/// Refuses what a page of another origin sends here with the user's cookie,
/// to make them post or log in unawares (cross-site request forgery): any
/// request but GET and HEAD, whose `Origin` is not this server's.
pub async fn refuse_foreign_posts(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !matches!(*req.method(), Method::GET | Method::HEAD)
        && let Some(origin) = foreign_origin(req.request())
    {
        let refusal = AuthError::Forbidden(format!("a page of {origin} may not send this"));
        return Ok(req.into_response(refusal.error_response()).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// The `Origin` of a request sent by a page from elsewhere (another site,
/// or another program on this machine), if it is one (step 16). A browser
/// says in `Origin` whose page sends a request: only this server's own
/// pages may send the requests checked here.
pub fn foreign_origin(req: &HttpRequest) -> Option<String> {
    let origin = req.headers().get(header::ORIGIN)?.to_str().unwrap_or("?");
    let info = req.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host());
    (!origin.eq_ignore_ascii_case(&own)).then(|| origin.to_string())
}
