//! Step 06: `GET /api/users/<id>` answers one user.
//!
//! The whole app at this step, in one file to read from top to bottom;
//! `main`, at the end, wires the routes. The lesson is in README.md.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use std::thread;

use actix_web::error::{InternalError, JsonPayloadError, PathError};
use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, get, post, web};
use maud::{DOCTYPE, Markup, html};
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::oneshot;

/// What `/api/version` reports: this step's name.
const VERSION: &str = "06";

// ---------------------------------------------------------------- the data

/// A user, as stored and as the API answers it (serde writes the JSON).
#[derive(Serialize)]
struct User {
    id: i64,
    name: String,
    email: String,
    nickname: String,
}

impl User {
    /// Reads a row of `SELECT id, name, email, nickname ...` into a `User`.
    fn from_row(row: &Row) -> rusqlite::Result<User> {
        Ok(User {
            id: row.get(0)?,
            name: row.get(1)?,
            email: row.get(2)?,
            nickname: row.get(3)?,
        })
    }
}

/// The body `POST /api/users` takes. serde rejects a body that lacks a field
/// or has one of the wrong type, before our handler even runs.
#[derive(Deserialize)]
struct NewUser {
    name: String,
    email: String,
    nickname: String,
}

// ------------------------------------------------------------ the database

/// Opens (or creates) the database file and creates the tables that are missing.
fn open_db(path: &Path) -> Connection {
    let connection = Connection::open(path).expect("cannot open the database: check the --db path");
    // Write-ahead logging: a commit no longer waits for the disk twice, which
    // makes writes about 30 times faster, and readers never wait for writers.
    connection
        .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .expect("cannot switch the database to WAL mode");
    connection
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS users (
            id       INTEGER PRIMARY KEY,
            name     TEXT NOT NULL,
            email    TEXT NOT NULL,
            nickname TEXT NOT NULL
        )",
        )
        .expect("cannot create the users table");
    connection
}

/// The database: one connection, owned by a thread of its own. Handlers send
/// it work and `.await` the answer, so a slow query never holds up the worker
/// threads that serve the other requests.
struct Db {
    jobs: mpsc::Sender<Job>,
}

/// A piece of work for the database thread.
type Job = Box<dyn FnOnce(&Connection) + Send>;

impl Db {
    /// Moves the connection to a new thread that runs the jobs one at a time.
    fn start(connection: Connection) -> Db {
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::spawn(move || {
            for job in queue {
                // A job that panics is dropped; the thread goes on with the next.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| job(&connection)));
            }
        });
        Db { jobs }
    }

    /// Runs `query` on the database thread and waits for its result, without
    /// blocking this worker thread meanwhile.
    async fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> rusqlite::Result<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let _ = reply.send(query(connection));
        });
        // No answer means the job panicked (or the thread is gone).
        let no_answer = || {
            let abort = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT);
            rusqlite::Error::SqliteFailure(abort, Some("the query did not finish".into()))
        };
        if self.jobs.send(job).is_err() {
            return Err(no_answer());
        }
        answer.await.unwrap_or_else(|_| Err(no_answer()))
    }
}

// --------------------------------------------------------------- the errors

/// What a handler can answer instead of what was asked for.
#[derive(Debug)]
enum ApiError {
    /// 422: the request's body is wrong; the message says how.
    BadInput(String),
    /// 404: there is no such thing.
    NotFound(String),
    /// 500: the database failed. The details go to the log, not to the client.
    Db(rusqlite::Error),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ApiError::BadInput(message) | ApiError::NotFound(message) => f.write_str(message),
            ApiError::Db(_) => f.write_str("database error"),
        }
    }
}

/// Lets `?` turn a rusqlite error into an `ApiError`.
impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::Db(e)
    }
}

/// Makes `ApiError` an answer: handlers return `Result<_, ApiError>`.
impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadInput(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Db(e) = self {
            eprintln!("database error: {e}");
        }
        error_json(self.status_code(), self)
    }
}

/// Every error a client can cause is answered as `{"error": "..."}`.
fn error_json(status: StatusCode, message: impl fmt::Display) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.to_string() }))
}

/// actix-web answers a body it cannot read with a plain-text 400: answer JSON
/// instead, 422 when the JSON is malformed or a field is missing or mistyped.
fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let response = match &err {
        JsonPayloadError::ContentType => error_json(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON, sent with Content-Type: application/json",
        ),
        JsonPayloadError::Deserialize(e) => error_json(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("invalid JSON body: {e}"),
        ),
        other => error_json(other.status_code(), other),
    };
    InternalError::from_response(err, response).into()
}

/// An id in the path that is not a number (`/api/users/abc`) names nothing: 404.
fn path_error(err: PathError, req: &HttpRequest) -> actix_web::Error {
    let response = error_json(
        StatusCode::NOT_FOUND,
        format!("{} not found: ids are whole numbers", req.path()),
    );
    InternalError::from_response(err, response).into()
}

/// Any other URL: a JSON 404 rather than an empty one.
async fn not_found(req: HttpRequest) -> HttpResponse {
    error_json(
        StatusCode::NOT_FOUND,
        format!("nothing at {} {}", req.method(), req.path()),
    )
}

// ------------------------------------------------------------------ the API

// try it: http :5001/db/alive
#[get("/db/alive")]
async fn db_alive(db: web::Data<Db>) -> HttpResponse {
    let answer = db
        .run(|connection| connection.query_row("SELECT 1", [], |row| row.get::<_, i64>(0)))
        .await;
    match answer {
        Ok(_) => HttpResponse::Ok().json(json!({
            "status": "healthy",
            "message": "Database connection is alive",
        })),
        Err(e) => HttpResponse::ServiceUnavailable().json(json!({
            "status": "unhealthy",
            "error": format!("database error: {e}"),
        })),
    }
}

// try it: http :5001/api/version
#[get("/api/version")]
async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "version": VERSION }))
}

// try it: http :5001/api/users name="Alice Caroll" email="alice@foo.com" nickname="alice"
#[post("/api/users")]
async fn create_user(
    db: web::Data<Db>,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner();
    for (field, value) in [
        ("name", &new.name),
        ("email", &new.email),
        ("nickname", &new.nickname),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::BadInput(format!("{field} must not be empty")));
        }
    }
    // `RETURNING` hands back the stored row, with the id SQLite chose.
    let user = db
        .run(move |connection| {
            connection.query_row(
                "INSERT INTO users (name, email, nickname) VALUES (?1, ?2, ?3)
                 RETURNING id, name, email, nickname",
                (&new.name, &new.email, &new.nickname),
                User::from_row,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(user))
}

/// All the users, in id order.
fn select_users(connection: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut statement =
        connection.prepare("SELECT id, name, email, nickname FROM users ORDER BY id")?;
    statement.query_map([], User::from_row)?.collect()
}

// try it: http :5001/api/users
#[get("/api/users")]
async fn list_users(db: web::Data<Db>) -> Result<web::Json<Vec<User>>, ApiError> {
    Ok(web::Json(db.run(select_users).await?))
}

// try it: http :5001/api/users/1
#[get("/api/users/{id}")]
async fn get_user(db: web::Data<Db>, id: web::Path<i64>) -> Result<web::Json<User>, ApiError> {
    let id = id.into_inner();
    db.run(move |connection| {
        connection
            .query_row(
                "SELECT id, name, email, nickname FROM users WHERE id = ?1",
                [id],
                User::from_row,
            )
            .optional()
    })
    .await?
    .map(web::Json)
    .ok_or_else(|| ApiError::NotFound(format!("no user with id {id}")))
}

// ---------------------------------------------------------------- the pages

// try it: open http://localhost:5001/ (it redirects to /front/users)
#[get("/")]
async fn index() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/front/users"))
        .finish()
}

// try it: open http://localhost:5001/front/users
#[get("/front/users")]
async fn front_users(db: web::Data<Db>) -> Result<Markup, ApiError> {
    let users = db.run(select_users).await?;
    Ok(users_page(&users))
}

/// The users page. maud escapes every `(value)` it splices in, so a nickname
/// like `<script>` shows as text and never runs.
fn users_page(users: &[User]) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Users" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                h1 { "Users " span.version { "(version " (VERSION) ")" } }
                ul.users {
                    @for user in users {
                        li {
                            a href={ "/front/messages/" (user.id) } {
                                (user.nickname) " (" (user.name) ")"
                            }
                            " "
                            a.email href={ "mailto:" (user.email) } { (user.email) }
                        }
                    }
                }
                @if users.is_empty() {
                    p.empty { "No users yet." }
                }
            }
        }
    }
}

/// The stylesheet is compiled into the binary: the step serves it whatever
/// the current directory is.
#[get("/static/style.css")]
async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("../static/style.css"))
}

// --------------------------------------------------------------------- main

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // Command line (--port, --db, --host), the port, the banner: see `shared`.
    let started = shared::start!();

    // Open the database once, here: the closure given to `HttpServer::new`
    // runs once per worker thread, and each run only clones this handle.
    let db = web::Data::new(Db::start(open_db(&started.db)));

    // A first query, so that a broken database stops us now, not at the first request.
    let sqlite: String = db
        .run(|connection| connection.query_row("SELECT sqlite_version()", [], |row| row.get(0)))
        .await
        .expect("the database does not answer");
    eprintln!("database ready: SQLite {sqlite}");

    HttpServer::new(move || {
        App::new()
            .app_data(db.clone())
            .app_data(web::JsonConfig::default().error_handler(json_error))
            .app_data(web::PathConfig::default().error_handler(path_error))
            .wrap(shared::request_logger())
            .service(db_alive)
            .service(version)
            .service(create_user)
            .service(list_users)
            .service(get_user)
            .service(index)
            .service(front_users)
            .service(style)
            .default_service(web::to(not_found))
    })
    .listen(started.listener)?
    .shutdown_signal(shared::ctrl_c())
    .run()
    .await
}
