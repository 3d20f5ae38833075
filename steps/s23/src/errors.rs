//! Errors as JSON (step 02b). The same file in every later step.
//! Replaced at step 22: the database's errors are PostgreSQL's, and its
//! pool's, instead of SQLite's.
//!
//! Every error a client can cause is answered as `{"error": "..."}` with the
//! right status: the handlers' own errors (`ApiError`), and actix-web's, which
//! are plain text unless `main` registers the handlers below.

use actix_web::error::{InternalError, JsonPayloadError, PathError};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

/// What a handler can answer instead of what was asked for. `thiserror`
/// writes the `Display` text from each `#[error(...)]`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422: the request's body is wrong; the message says how.
    #[error("{0}")]
    BadInput(String),
    /// 404: there is no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 500, or 503 when the database cannot be used for now. `#[from]` lets
    /// `?` turn an error of the driver (tokio-postgres) into this one.
    #[error("database error")]
    Db(#[from] tokio_postgres::Error),
    /// 503: the pool has no connection to give, PostgreSQL does not answer.
    #[error("database error")]
    Pool(#[from] deadpool_postgres::PoolError),
}

/// Makes `ApiError` an answer, so handlers can return `Result<_, ApiError>`.
impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadInput(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Db(e) if unavailable(e) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Db(e) if unstorable(e) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Pool(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut message = self.to_string();
        if let ApiError::Db(e) = self
            && unstorable(e)
        {
            let why = "a text holds the character NUL (\\u0000), which PostgreSQL does not store";
            return error_reply(self.status_code(), why);
        }
        // A database error's details go to the server's log, not to the client.
        if let ApiError::Db(_) | ApiError::Pool(_) = self {
            log::error!("database error: {self:?}");
            if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
                message = "the database cannot be used now: the server's log says why".into();
            }
        }
        error_reply(self.status_code(), message)
    }
}

/// The database cannot be used for now, for a reason outside the app: the
/// connection broke (PostgreSQL stopped, the network failed), or PostgreSQL
/// says it is shutting down, starting, or out of disk or connections.
fn unavailable(e: &tokio_postgres::Error) -> bool {
    let broken = std::error::Error::source(e).is_some_and(|why| why.is::<std::io::Error>());
    let class = e.code().map(|code| &code.code()[..2]);
    e.is_closed() || broken || matches!(class, Some("08" | "53" | "57"))
}

/// A text the request sent that PostgreSQL cannot store: one with the
/// character NUL (which SQLite stored). The client's fault: 422.
fn unstorable(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::CHARACTER_NOT_IN_REPERTOIRE)
}

/// The shape of every error answer: `{"error": message}`, with `status`.
pub fn error_reply(status: StatusCode, message: impl ToString) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.to_string() }))
}

/// For `web::JsonConfig`: a body that cannot be read as the handler's type.
/// 422 when it is empty, malformed, or has a field missing or mistyped; 415
/// when it is not JSON; actix-web's own status otherwise (413: too large).
pub fn reject_bad_json(err: JsonPayloadError, req: &HttpRequest) -> actix_web::Error {
    let (status, message) = match &err {
        JsonPayloadError::ContentType | JsonPayloadError::Deserialize(_) if has_no_body(req) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body is empty: send the fields as JSON".into(),
        ),
        JsonPayloadError::ContentType => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON, sent with Content-Type: application/json".into(),
        ),
        JsonPayloadError::Deserialize(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("invalid JSON body: {e}"),
        ),
        other => (other.status_code(), other.to_string()),
    };
    InternalError::from_response(err, error_reply(status, message)).into()
}

/// True when the request says its body is empty.
fn has_no_body(req: &HttpRequest) -> bool {
    let headers = req.headers();
    match headers.get(header::CONTENT_LENGTH) {
        Some(length) => length == "0",
        None => !headers.contains_key(header::TRANSFER_ENCODING),
    }
}

/// For `web::PathConfig`: an id in the URL that is not a number
/// (`/api/users/abc`) names nothing, so 404.
pub fn reject_bad_path(err: PathError, req: &HttpRequest) -> actix_web::Error {
    let not_found = ApiError::NotFound(format!("{} not found: ids are whole numbers", req.path()));
    InternalError::from_response(err, not_found.error_response()).into()
}

/// The default service: a URL that no route matches gets a JSON 404, or a
/// page with the way back when a browser asks (it accepts `text/html`).
pub async fn no_such_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let accept = req.headers().get(header::ACCEPT).and_then(|value| value.to_str().ok());
    if accept.is_some_and(|accept| accept.contains("text/html")) {
        return Ok(
            HttpResponse::NotFound().content_type("text/html; charset=utf-8").body(
                "<!DOCTYPE html>\n<title>Nothing here</title>\n<h1>Nothing here</h1>\n\
             <p>This step has no page at this address. <a href=\"/\">Back to the start</a></p>\n",
            ),
        );
    }
    Err(ApiError::NotFound(format!(
        "nothing at {} {}",
        req.method(),
        req.path()
    )))
}
