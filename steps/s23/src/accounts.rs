//! Accounts (step 20): sign up, log in, log out. Logging in opens a
//! session (sessions.rs); each refusal is an `AuthError`, answered as JSON.

use std::time::Duration;

use actix_session::{Session, SessionInsertError};
use actix_web::error::BlockingError;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use serde::Deserialize;
use serde_json::json;

use deadpool_postgres::{Pool, PoolError};
use tokio_postgres::error::SqlState;

use crate::errors::{ApiError, error_reply};
use crate::models::{NewUser, User, select_account};
use crate::passwords::Passwords;
use crate::sessions::{SESSION_LIFETIME, now};

// try it: http :5001/api/users name="Alice Caroll" email="alice@foo.com" nickname="alice" \
//             password="alice-password"
pub async fn create_user(
    db: web::Data<Pool>,
    passwords: web::Data<Passwords>,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, AuthError> {
    let new = body.into_inner();
    for (field, value) in [
        ("name", &new.name),
        ("email", &new.email),
        ("nickname", &new.nickname),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::BadInput(format!("{field} must not be empty")).into());
        }
    }
    // Only the hash is stored: a new salt, then Argon2id (passwords.rs).
    let password_hash = passwords.hash(new.password).await?;
    // `RETURNING` hands back the stored row, with the id PostgreSQL chose.
    let connection = db.get().await?;
    let row = connection
        .query_one(
            "INSERT INTO users (name, email, nickname, password_hash)
             VALUES ($1, $2, $3, $4) RETURNING id, name, email, nickname",
            &[&new.name, &new.email, &new.nickname, &password_hash],
        )
        .await
        .map_err(|e| AuthError::from_insert(e, &new.nickname))?;
    Ok(HttpResponse::Created().json(User::from_row(&row)?))
}

/// What `POST /api/login` takes.
#[derive(Deserialize)]
pub struct Credentials {
    nickname: String,
    password: String,
}

// try it: http --session=alice :5001/api/login nickname=alice password=alice-password
pub async fn login(
    db: web::Data<Pool>,
    passwords: web::Data<Passwords>,
    session: Session,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, AuthError> {
    let Credentials { nickname, password } = body.into_inner();
    // The connection goes back to the pool before the password's check.
    let account = select_account(&db.get().await?, &nickname).await?;
    // Checked against the stored hash (or nobody's: see passwords.rs): 401
    // for a wrong password, and for a nickname that nobody has.
    let stored = account.as_ref().map(|account| account.password_hash.clone());
    passwords.check(&nickname, password, stored).await?;
    let Some(account) = account else {
        return Err(AuthError::WrongPassword);
    };
    // A new session, whatever cookie came with the request.
    session.renew();
    session.insert("user_id", account.user.id)?;
    session.insert("until", now() + SESSION_LIFETIME.whole_seconds())?;
    Ok(HttpResponse::Ok().json(account.user))
}

// try it: http --session=alice POST :5001/api/logout
pub async fn logout(session: Session) -> HttpResponse {
    // The answer tells the browser to delete the cookie.
    session.purge();
    HttpResponse::Ok().json(json!({ "status": "logged out" }))
}

/// Why a request is refused because of who sends it, or to whom it would
/// give away an account. An error as JSON like all the others (errors.rs).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// 401: no session, or one that this server did not make, or too old.
    #[error("log in first: POST /api/login with your nickname and password")]
    NotLoggedIn,
    /// 401: the same for a wrong password and a nickname nobody has.
    #[error("wrong nickname or password")]
    WrongPassword,
    /// 403: what the logged-in user, or this page, may not do.
    #[error("{0}")]
    Forbidden(String),
    /// 409: sign-up with a nickname someone has.
    #[error("the nickname {0:?} is taken: choose another one")]
    NicknameTaken(String),
    /// 429: too many wrong passwords in a row for a nickname; wait this long.
    #[error("too many wrong passwords: try again in {} s", seconds(*.0))]
    TooManyTries(Duration),
    /// 500: a hash that did not finish, a session that cannot be written.
    #[error("internal error")]
    Internal(String),
    /// The other errors of the API (422, 404, 500 and 503: errors.rs).
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl AuthError {
    /// An error of `INSERT INTO users`: the nickname's `UNIQUE` refused it,
    /// or the database failed.
    pub fn from_insert(e: tokio_postgres::Error, nickname: &str) -> AuthError {
        match e.code() {
            Some(&SqlState::UNIQUE_VIOLATION) => AuthError::NicknameTaken(nickname.to_string()),
            _ => e.into(),
        }
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            AuthError::NotLoggedIn | AuthError::WrongPassword => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthError::NicknameTaken(_) => StatusCode::CONFLICT,
            AuthError::TooManyTries(_) => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AuthError::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut reply = match self {
            AuthError::Api(e) => return e.error_response(),
            AuthError::Internal(why) => {
                log::error!("internal error: {why}");
                error_reply(self.status_code(), self)
            }
            _ => error_reply(self.status_code(), self),
        };
        if let AuthError::TooManyTries(wait) = self {
            let retry = header::HeaderValue::from(seconds(*wait));
            reply.headers_mut().insert(header::RETRY_AFTER, retry);
        }
        reply
    }
}

/// A wait in whole seconds, rounded up: never 0 before the time is up.
fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

impl From<tokio_postgres::Error> for AuthError {
    fn from(e: tokio_postgres::Error) -> AuthError {
        AuthError::Api(e.into())
    }
}

impl From<PoolError> for AuthError {
    fn from(e: PoolError) -> AuthError {
        AuthError::Api(e.into())
    }
}

impl From<BlockingError> for AuthError {
    fn from(e: BlockingError) -> AuthError {
        AuthError::Internal(format!("a password's hash did not finish: {e}"))
    }
}

impl From<SessionInsertError> for AuthError {
    fn from(e: SessionInsertError) -> AuthError {
        AuthError::Internal(format!("the session cannot be written: {e}"))
    }
}
