//! Test helpers: start a step's real binary on a free port with a temporary
//! database, talk HTTP to it, run the tutorial's httpie commands verbatim.
//!
//! In a step's tests (`tests/step/*.rs`):
//! ```ignore
//! let app = shared::test_app!();   // this step's binary, on a free port
//! assert_eq!(app.get("/api/version").json()["version"], "06");
//! assert_json_error(&app.get("/api/users/99"), 404, "no user with id 99");
//! assert_eq!(app.count_rows("users"), 0);
//! ```

use std::cell::RefCell;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

pub mod bad_input;
pub mod browser;
mod cookies;
mod httpie;
/// Several instances of a step behind nginx (steps 23 on).
#[cfg(unix)]
pub mod instances;
/// The tests' PostgreSQL (steps 22 on).
#[cfg(unix)]
pub mod postgres;
mod socket;

pub use cookies::Cookies;
#[cfg(unix)]
pub use instances::Instances;
pub use socket::{Socket, client_frame};

pub use crate::sample::{MESSAGES, PASSWORDS, USERS, password_of};

/// Starts the step under test: [`TestApp::start`] on the binary of the crate
/// whose tests call it, so a test never spells its step's name.
#[macro_export]
macro_rules! test_app {
    () => {
        $crate::testing::TestApp::start(env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))))
    };
    ($($arg:expr),+) => {
        $crate::testing::TestApp::start_with(
            env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))),
            &[$($arg),+],
        )
    };
}

/// Starts the step under test as several instances behind nginx
/// ([`Instances::start`]): `None`, after a loud SKIPPED, when Redis or nginx
/// is not installed.
#[cfg(unix)]
#[macro_export]
macro_rules! test_instances {
    () => {
        $crate::testing::Instances::start(env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))))
    };
}

/// Checks an error answer: its status, and a JSON body `{"error": "..."}`
/// whose message mentions `hint`.
#[track_caller]
pub fn assert_json_error(reply: &Reply, status: u16, hint: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(
        reply.content_type.starts_with("application/json"),
        "{:?}: {}",
        reply.content_type,
        reply.body
    );
    let error = reply.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains(hint), "{error:?} should mention {hint:?}");
}

/// One of [`USERS`] as the JSON body `POST /api/users` takes.
pub fn user_json((name, email, nickname): (&str, &str, &str)) -> Value {
    json!({ "name": name, "email": email, "nickname": nickname })
}

/// A user with a password, as the JSON body `POST /api/users` takes from
/// step 20 on, which has accounts.
pub fn account_json(user: (&str, &str, &str), password: &str) -> Value {
    let mut body = user_json(user);
    body["password"] = json!(password);
    body
}

/// The sample users' [`PASSWORDS`] hashed with Argon2id at its smallest
/// settings (8 KiB, one pass; made with Python's argon2-cffi): for tests
/// that need a user logged in, not the cost of a hash.
pub const QUICK_HASHES: [&str; 3] = [
    "$argon2id$v=19$m=8,t=1,p=1$rkb5jpjliwkEegneL+pYdw$Y9Yuwrcbm6FNaOhnz/dlL0R7MiiJcuU/wGp4Y6pIeBA",
    "$argon2id$v=19$m=8,t=1,p=1$QjXdl23gI//s2FlMm1PDQA$/5akzF8GdwvxnLMyd0mlxh0XJIf1o+iVmOmmcua/NRw",
    "$argon2id$v=19$m=8,t=1,p=1$qlyvP/RdprL8Z8+Ljuvkfg$hkgY8kbcLedmfo8VM0fRJHIhGn/WF8j5Vfhk53ZYnaw",
];

/// A running step binary, stopped (and its temporary folder removed) on drop.
pub struct TestApp {
    child: RefCell<Child>,
    /// The step's name (`s06`), from its binary's name.
    pub step: String,
    bin: String,
    /// The options it was started with, besides its port and database.
    args: Vec<String>,
    /// The environment variables it was started with, besides the usual.
    env: Vec<(String, String)>,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub port: u16,
    dir: PathBuf,
    /// The test's own PostgreSQL database (steps 22 on), instead of a file.
    database_url: Option<String>,
    /// Whether that database is dropped with the app (it was made for it).
    drops_database: bool,
    /// The Redis it is given (steps 23 on, `--redis-url`).
    redis_url: Option<String>,
    /// That Redis, when it is the app's own: stopped with it.
    #[cfg(unix)]
    redis: Option<crate::services::Services>,
    agent: ureq::Agent,
    /// The cookies its requests carry, as one browser's (step 20 on: the
    /// session, once logged in with [`TestApp::log_in`]).
    pub cookies: Cookies,
}

/// An HTTP answer, whatever its status.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub location: Option<String>,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The value of header `name` (any case), if the answer has it.
    pub fn header(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.clone())
    }

    /// The body as JSON; fails the test, showing the body, when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected JSON, got {} {:?}: {e}\n{}",
                self.status, self.content_type, self.body
            )
        })
    }
}

impl TestApp {
    /// Starts `bin` (pass `env!("CARGO_BIN_EXE_<step>")`) with a fresh database.
    pub fn start(bin: &str) -> TestApp {
        Self::start_with(bin, &[])
    }

    /// Starts `bin` with these options too (`--host 0.0.0.0`), and a fresh database.
    pub fn start_with(bin: &str, args: &[&str]) -> TestApp {
        Self::start_with_env(bin, args, &[])
    }

    /// Starts `bin` with these options and these environment variables too
    /// (`CHAT_HTTPS=1`), and a fresh database.
    pub fn start_with_env(bin: &str, args: &[&str], env: &[(&str, &str)]) -> TestApp {
        let args = args.iter().map(|arg| arg.to_string()).collect();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // From step 22 on, a database of the test's own on the tests' PostgreSQL.
        #[cfg(unix)]
        let database_url = postgres::is_postgres_step(bin).then(postgres::new_database);
        #[cfg(not(unix))]
        let database_url = None;
        Self::start_with_own_redis(bin, database_url, args, env)
    }

    /// Starts `bin`, a step on PostgreSQL (22 on), on the database at
    /// `url`, which a test started itself (`shared::testing::services`):
    /// to stop PostgreSQL under the step. The database stays when the app goes.
    pub fn start_on_database(bin: &str, url: &str) -> TestApp {
        let mut app = Self::start_with_own_redis(bin, Some(url.into()), Vec::new(), Vec::new());
        app.drops_database = false;
        app
    }

    /// From step 23 on, the app gets a Redis of its own, on a free port:
    /// an instance alone, whose messages no other test's app hears.
    fn start_with_own_redis(
        bin: &str,
        database_url: Option<String>,
        args: Vec<String>,
        env: Vec<(String, String)>,
    ) -> TestApp {
        #[cfg(unix)]
        {
            let redis = is_redis_step(bin).then(instances::private_redis);
            let redis_url = redis
                .as_ref()
                .and_then(crate::services::Services::redis_url);
            let mut app = Self::start_in(bin, temp_dir(), database_url, redis_url, args, env);
            app.redis = redis;
            app
        }
        #[cfg(not(unix))]
        Self::start_in(bin, temp_dir(), database_url, None, args, env)
    }

    /// One of several instances of `bin` on the same database and Redis
    /// (neither is stopped with it): [`Instances`].
    #[cfg(unix)]
    pub(crate) fn start_instance(bin: &str, database_url: &str, redis_url: &str) -> TestApp {
        let database_url = Some(database_url.to_string());
        let redis_url = Some(redis_url.to_string());
        let mut app = Self::start_in(bin, temp_dir(), database_url, redis_url, vec![], vec![]);
        app.drops_database = false;
        app
    }

    /// Stops the app and starts its binary again on the same database. Its
    /// cookies are kept, as a browser keeps them across a server's restart.
    pub fn restart(self) -> TestApp {
        let mut app = self;
        app.stop_child();
        let dir = std::mem::take(&mut app.dir);
        let bin = std::mem::take(&mut app.bin);
        let args = std::mem::take(&mut app.args);
        let env = std::mem::take(&mut app.env);
        let database_url = app.database_url.take();
        let drops_database = app.drops_database;
        let cookies = app.cookies.copy();
        let redis_url = app.redis_url.take();
        #[cfg(unix)]
        let redis = app.redis.take();
        drop(app);
        let mut app = Self::start_in(&bin, dir, database_url, redis_url, args, env);
        app.cookies = cookies;
        app.drops_database = drops_database;
        #[cfg(unix)]
        {
            app.redis = redis;
        }
        app
    }

    fn start_in(
        bin: &str,
        dir: PathBuf,
        database_url: Option<String>,
        redis_url: Option<String>,
        args: Vec<String>,
        env: Vec<(String, String)>,
    ) -> TestApp {
        let options = servers_options(&dir, database_url.as_deref(), redis_url.as_deref());
        let (child, base_url) = spawn(bin, &dir, 0, &options, &args, &env);
        // A step open to other machines says so; the tests reach it here.
        let base_url = base_url.replace("//0.0.0.0:", "//127.0.0.1:");
        let port = base_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the banner's address ends with the port");
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        let step = std::path::Path::new(bin)
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        TestApp {
            child: RefCell::new(child),
            step,
            bin: bin.to_string(),
            args,
            env,
            base_url,
            port,
            dir,
            database_url,
            drops_database: true,
            redis_url,
            #[cfg(unix)]
            redis: None,
            agent,
            cookies: Cookies::default(),
        }
    }

    /// Stops the app at once (as a crash would: its connections drop) and
    /// starts it again on the same port and database, as a learner restarts
    /// a step: pages that were open can connect again.
    pub fn restart_on_the_same_port(&self) {
        self.kill();
        self.start_again();
    }

    /// Kills the app (SIGKILL on Unix: no goodbye to its pages, as a crash).
    pub fn kill(&self) {
        let mut child = self.child.borrow_mut();
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the app again on the same port, database and Redis, after
    /// [`TestApp::kill`]; returns once it answers.
    pub fn start_again(&self) {
        let options = servers_options(
            &self.dir,
            self.database_url.as_deref(),
            self.redis_url.as_deref(),
        );
        let (new, _) = spawn(
            &self.bin, &self.dir, self.port, &options, &self.args, &self.env,
        );
        *self.child.borrow_mut() = new;
    }

    /// Is the app's process still running?
    pub fn is_running(&self) -> bool {
        self.child
            .borrow_mut()
            .try_wait()
            .is_ok_and(|exit| exit.is_none())
    }

    /// The temporary database file this app uses.
    pub fn db_path(&self) -> PathBuf {
        self.dir.join("chat.db")
    }

    /// The URL of the Redis the app is given (steps 23 on).
    pub fn redis_url(&self) -> &str {
        self.redis_url
            .as_deref()
            .expect("a step with Redis (23 on)")
    }

    /// The URL of the test's own PostgreSQL database (steps 22 on).
    pub fn database_url(&self) -> &str {
        self.database_url
            .as_deref()
            .expect("a step on PostgreSQL (22 on)")
    }

    /// Runs `sql` on the test's PostgreSQL database (steps 22 on), with
    /// psql: one row a line, columns split by `|`.
    #[cfg(unix)]
    #[track_caller]
    pub fn sql(&self, sql: &str) -> String {
        postgres::psql(self.database_url(), sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Counts the rows of `table`, reading the database directly: a
    /// second opinion on what the API says was stored.
    pub fn count_rows(&self, table: &str) -> i64 {
        #[cfg(unix)]
        if self.database_url.is_some() {
            let count = self.sql(&format!("SELECT COUNT(*) FROM \"{table}\""));
            return count.trim().parse().expect("a count");
        }
        rusqlite::Connection::open(self.db_path())
            .and_then(|db| {
                db.query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |row| {
                    row.get(0)
                })
            })
            .unwrap_or_else(|e| panic!("cannot count the rows of {table}: {e}"))
    }

    /// The names of the columns of `table`, in order, as the database file has them.
    pub fn column_names(&self, table: &str) -> Vec<String> {
        #[cfg(unix)]
        if self.database_url.is_some() {
            let names = self.sql(&format!(
                "SELECT column_name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}' \
                 ORDER BY ordinal_position"
            ));
            return names.lines().map(str::to_string).collect();
        }
        rusqlite::Connection::open(self.db_path())
            .and_then(|db| {
                let mut statement = db.prepare("SELECT name FROM pragma_table_info(?1)")?;
                statement.query_map([table], |row| row.get(0))?.collect()
            })
            .unwrap_or_else(|e| panic!("cannot read the columns of {table}: {e}"))
    }

    /// The next query the step runs panics on its database thread (see
    /// `shared::faults`): for the tests of what follows a panic.
    pub fn make_the_next_query_panic(&self) {
        fs::write(self.dir.join("faults"), "panic").expect("write the fault file");
    }

    /// Sets or clears the read-only mark of the database file, as
    /// `chmod a-w` / `chmod u+w` do (the step's database thread checks it).
    pub fn set_database_read_only(&self, readonly: bool) {
        let path = self.db_path();
        let mut permissions = fs::metadata(&path)
            .expect("the database file")
            .permissions();
        permissions.set_readonly(readonly);
        fs::set_permissions(&path, permissions).expect("change the file's permissions");
    }

    /// The next request panics as it starts, as a handler with a bug would
    /// (see `shared::faults`).
    pub fn make_the_next_request_panic(&self) {
        fs::write(self.dir.join("faults"), "panic in a handler").expect("write the fault file");
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.borrow().id()
    }

    /// The server's resident memory in KiB (`VmRSS` in /proc/PID/status);
    /// `None` where there is no /proc (not Linux).
    pub fn memory_kib(&self) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// How many files and sockets the server has open (/proc/PID/fd); `None`
    /// where there is no /proc. A connection the server dropped is not counted.
    pub fn open_files(&self) -> Option<usize> {
        Some(
            fs::read_dir(format!("/proc/{}/fd", self.pid()))
                .ok()?
                .count(),
        )
    }

    /// A client of the app that any thread can use: for many clients at
    /// once. It starts with a copy of the app's cookies (logged in as the
    /// app is), then keeps its own.
    pub fn client(&self) -> Client {
        Client {
            base_url: self.base_url.clone(),
            agent: self.agent.clone(),
            cookies: self.cookies.copy(),
        }
    }

    /// A client of its own, logged in as the sample user `nickname` with
    /// their sample password (step 20 on).
    pub fn client_as(&self, nickname: &str) -> Client {
        let client = Client {
            cookies: Cookies::default(),
            ..self.client()
        };
        client.logged_in_as(nickname)
    }

    /// Logs in with `nickname` and `password` (`POST /api/login`, step 20
    /// on): when the step accepts them, the app's later requests carry the
    /// session cookie it sets. Answers the reply, whatever it is.
    pub fn log_in(&self, nickname: &str, password: &str) -> Reply {
        let body = json!({ "nickname": nickname, "password": password });
        self.post_json("/api/login", &body)
    }

    /// Logs in as the sample user `nickname`, with their sample password;
    /// fails the test if the step refuses.
    pub fn log_in_as(&self, nickname: &str) {
        let password = password_of(nickname).expect("a sample user's nickname");
        let reply = self.log_in(nickname, password);
        assert_eq!(
            reply.status, 200,
            "logging in as {nickname}: {}",
            reply.body
        );
    }

    /// What the server wrote to stderr so far (its request log).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.call("GET", path, &[], None)
    }

    /// POSTs `body` as JSON (`Content-Type: application/json`).
    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post(path, "application/json", &body.to_string())
    }

    /// Opens a WebSocket to `path` (`/ws`), as a page's script does, with
    /// the app's cookies.
    pub fn websocket(&self, path: &str) -> Socket {
        let url = format!("ws://127.0.0.1:{}{path}", self.port);
        self.websocket_with(path, &[])
            .unwrap_or_else(|refusal| panic!("{url} refused the handshake: {refusal:?}"))
    }

    /// A WebSocket handshake to `path` with the app's cookies and these
    /// headers too (`Origin`): the socket, or the refusal's status and body.
    pub fn websocket_with(&self, path: &str, headers: &[(&str, &str)]) -> Result<Socket, Reply> {
        let cookie = self.cookies.header();
        let mut headers = headers.to_vec();
        if let Some(cookie) = &cookie {
            headers.push(("Cookie", cookie));
        }
        Socket::handshake(&format!("ws://127.0.0.1:{}{path}", self.port), &headers)
    }

    /// Sends `method` to `path` with the given headers and no body.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.call(method, path, headers, None)
    }

    /// Sends `method` (`PUT`, `PATCH`...) to `path` with `body` as JSON.
    pub fn send_json(&self, method: &str, path: &str, body: &Value) -> Reply {
        let json = [("Content-Type", "application/json")];
        self.call(method, path, &json, Some(body.to_string()))
    }

    /// POSTs raw bytes with the given content type: for malformed bodies.
    pub fn post(&self, path: &str, content_type: &str, body: &str) -> Reply {
        let headers = [("Content-Type", content_type)];
        self.call("POST", path, &headers, Some(body.to_string()))
    }

    /// Sends a request with the app's cookies, and keeps those its answer sets.
    fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        let answer = call(
            &self.agent,
            &self.cookies,
            method,
            &self.url(path),
            headers,
            body,
        );
        reply(answer)
    }

    /// Creates the tutorial's three sample users through the API, each with
    /// their sample password (which the steps before 20 do not read).
    ///
    /// From step 20 on (a `password_hash` column), they are written into
    /// the database file instead, with hashes of Argon2's smallest settings
    /// ([`QUICK_HASHES`]): a sign-up or a login at the step's own settings
    /// costs some 40 ms of CPU, and most tests only need someone logged in.
    /// Logging in checks them with the step's own code, which reads the
    /// settings from the hash; the tests of sign-up, of the settings and of
    /// a burst of logins create their users through the API.
    pub fn add_sample_users(&self) {
        if self
            .column_names("users")
            .iter()
            .any(|c| c == "password_hash")
        {
            #[cfg(unix)]
            if self.database_url.is_some() {
                let rows: Vec<String> = USERS
                    .into_iter()
                    .zip(QUICK_HASHES)
                    .map(|((name, email, nickname), hash)| {
                        format!("('{name}', '{email}', '{nickname}', '{hash}')")
                    })
                    .collect();
                self.sql(&format!(
                    "INSERT INTO users (name, email, nickname, password_hash) VALUES {}",
                    rows.join(", ")
                ));
                return;
            }
            let db = rusqlite::Connection::open(self.db_path()).expect("open the database");
            for ((name, email, nickname), hash) in USERS.into_iter().zip(QUICK_HASHES) {
                db.execute(
                    "INSERT INTO users (name, email, nickname, password_hash) VALUES (?1, ?2, ?3, ?4)",
                    [name, email, nickname, hash],
                )
                .unwrap_or_else(|e| panic!("cannot add {nickname}: {e}"));
            }
            return;
        }
        for (user, password) in USERS.into_iter().zip(PASSWORDS) {
            let reply = self.post_json("/api/users", &account_json(user, password));
            assert_eq!(reply.status, 201, "creating {user:?}: {}", reply.body);
        }
    }

    /// Creates the tutorial's seven sample messages through the API (from
    /// step 07b on; the sample users first).
    pub fn add_sample_messages(&self) {
        for (author_id, recipient_id, content) in MESSAGES {
            let body =
                json!({ "author_id": author_id, "recipient_id": recipient_id, "content": content });
            let reply = self.post_json("/api/messages", &body);
            assert_eq!(reply.status, 201, "creating {body}: {}", reply.body);
        }
    }

    /// Creates the tutorial's seven sample messages through the API, each
    /// sent by its author, logged in (step 20 on; the sample users first).
    /// The app's own cookies are left as they were.
    pub fn add_sample_messages_as_their_authors(&self) {
        let authors: Vec<Client> = USERS
            .iter()
            .map(|(_, _, nickname)| self.client_as(nickname))
            .collect();
        for (author_id, recipient_id, content) in MESSAGES {
            let body = json!({ "recipient_id": recipient_id, "content": content });
            let author = usize::try_from(author_id - 1).expect("a sample user's id");
            let reply = authors[author]
                .post_json("/api/messages", &body)
                .expect("an answer");
            assert_eq!(reply.status, 201, "creating {body}: {}", reply.body);
        }
    }

    /// Runs one of the tutorial's httpie lines verbatim, pointed at this app
    /// (`:5001` becomes `:PORT`), and returns what httpie printed, parsed as JSON.
    ///
    /// Call only after [`httpie_is_installed`] said yes.
    pub fn httpie(&self, line: &str) -> Value {
        let stdout = self.httpie_text(line);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("`{line}` printed no JSON ({e}):\n{stdout}"))
    }

    /// [`TestApp::httpie`] for an answer that is not JSON: what httpie printed.
    pub fn httpie_text(&self, line: &str) -> String {
        let line = line.replace(":5001", &format!(":{}", self.port));
        let words = shell_words(&line);
        assert_eq!(words[0], "http", "not an httpie line: {line}");
        let config = self.dir.join("httpie");
        fs::create_dir_all(&config).expect("create httpie's config folder");
        fs::write(
            config.join("config.json"),
            r#"{"disable_update_warnings": true}"#,
        )
        .expect("write httpie's config");

        let run = httpie::run(&words[1..], &config);
        assert!(
            run.success,
            "`{line}` failed: {}\n{}\n{}",
            run.status, run.stdout, run.stderr
        );
        run.stdout
    }

    /// Runs one of the lessons' curl lines verbatim, pointed at this app
    /// (`localhost:5001` becomes `localhost:PORT`), and returns what curl printed.
    pub fn curl(&self, line: &str) -> String {
        let line = line.replace(":5001", &format!(":{}", self.port));
        let words = shell_words(&line);
        assert_eq!(words[0], "curl", "not a curl line: {line}");
        let output = Command::new("curl")
            .args(["--silent", "--show-error"])
            .args(&words[1..])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run curl: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "`{line}` failed: {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    fn stop_child(&mut self) {
        let child = self.child.get_mut();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop_child();
        if std::thread::panicking() {
            eprintln!("--- server log (port {}) ---\n{}", self.port, self.log());
        }
        if !self.dir.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.dir);
        }
        #[cfg(unix)]
        if let Some(url) = &self.database_url
            && self.drops_database
        {
            postgres::drop_database(url);
        }
    }
}

/// An HTTP client of a [`TestApp`] that can move to another thread
/// ([`TestApp::client`]). Its answers are `None` when the connection fails
/// (the server is down), so a test can count what was answered.
#[derive(Clone)]
pub struct Client {
    base_url: String,
    agent: ureq::Agent,
    /// Its cookies, shared by its clones (step 20 on: its session).
    pub cookies: Cookies,
}

impl Client {
    /// POSTs `body` as JSON; `None` if no answer came.
    pub fn post_json(&self, path: &str, body: &Value) -> Option<Reply> {
        let json = [("Content-Type", "application/json")];
        self.call("POST", path, &json, Some(body.to_string()))
    }

    /// GETs `path`; `None` if no answer came.
    pub fn get(&self, path: &str) -> Option<Reply> {
        self.call("GET", path, &[], None)
    }

    /// Logs in (`POST /api/login`, step 20 on): when the step accepts, the
    /// client's later requests carry the session. `None` if no answer came.
    pub fn log_in(&self, nickname: &str, password: &str) -> Option<Reply> {
        let body = json!({ "nickname": nickname, "password": password });
        self.post_json("/api/login", &body)
    }

    /// The client, logged in as the sample user `nickname` with their
    /// sample password; fails the test if the step refuses.
    pub fn logged_in_as(self, nickname: &str) -> Client {
        let password = password_of(nickname).expect("a sample user's nickname");
        let reply = self.log_in(nickname, password).expect("an answer");
        assert_eq!(
            reply.status, 200,
            "logging in as {nickname}: {}",
            reply.body
        );
        self
    }

    /// Opens a WebSocket to `path` (`/ws`) with the client's cookies.
    pub fn websocket(&self, path: &str) -> Socket {
        self.websocket_with(path, &[])
            .unwrap_or_else(|refusal| panic!("{path} refused the handshake: {refusal:?}"))
    }

    /// A WebSocket handshake to `path` with the client's cookies and these
    /// headers too (`Origin`): the socket, or the refusal's status and body.
    pub fn websocket_with(&self, path: &str, headers: &[(&str, &str)]) -> Result<Socket, Reply> {
        let url = format!("{}{path}", self.base_url.replace("http://", "ws://"));
        let cookie = self.cookies.header();
        let mut headers = headers.to_vec();
        if let Some(cookie) = &cookie {
            headers.push(("Cookie", cookie));
        }
        Socket::handshake(&url, &headers)
    }

    /// `http://127.0.0.1:PORT`: the app's, or nginx's in front of instances.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The same browser (the same cookies, shared) talking to another
    /// address: logged in through nginx, then straight to one instance.
    pub fn at(&self, base_url: &str) -> Client {
        Client {
            base_url: base_url.to_string(),
            ..self.clone()
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Option<Reply> {
        let url = format!("{}{path}", self.base_url);
        call(&self.agent, &self.cookies, method, &url, headers, body).ok()
    }
}

/// Sends `method` to `url` with `headers`, `body` if any, and the `cookies`;
/// keeps the cookies the answer sets.
fn call(
    agent: &ureq::Agent,
    cookies: &Cookies,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Result<Reply, String> {
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(cookie) = cookies.header() {
        request = request.header("Cookie", cookie);
    }
    let answer = match body {
        Some(body) => agent.run(request.body(body).expect("a valid request")),
        None => agent.run(request.body(()).expect("a valid request")),
    };
    let reply = try_reply(answer)?;
    cookies.keep(&reply.headers);
    Ok(reply)
}

/// Starts `bin` on `port` (0: any free one) with the `servers` options (its
/// database, its Redis), its folder `dir`; answers the process and its
/// address once it answers HTTP.
fn spawn(
    bin: &str,
    dir: &Path,
    port: u16,
    servers: &[String],
    args: &[String],
    env: &[(String, String)],
) -> (Child, String) {
    // Appended to: a restarted app's log follows the first one's.
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("open the server log");
    let mut child = Command::new(bin)
        .args(["--port", &port.to_string()])
        .args(servers)
        .args(args)
        .env(crate::faults::FAULTS_VARIABLE, dir.join("faults"))
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));

    // The banner's first line tells the port: "s06: listening on http://127.0.0.1:PORT ..."
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let _ = tx.send(line);
        // Keep reading, so that a `println!` in the step never meets a
        // closed pipe (which would make it panic under test only).
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let Some(base_url) = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .map(str::to_string)
    else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{bin} did not print its address; it said {line:?}\n{}",
            fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
    };
    // The port is bound before the banner; wait for the first answer so
    // the step has finished starting (its database is open) when we return.
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    if let Err(e) = agent.get(&base_url).call() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{bin} does not answer at {base_url}: {e}");
    }
    (child, base_url)
}

fn reply(result: Result<Reply, String>) -> Reply {
    result.unwrap_or_else(|e| panic!("{e}"))
}

/// The answer, or why there is none (no connection, or it broke mid-body).
fn try_reply(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Reply, String> {
    let mut response = result.map_err(|e| format!("HTTP request failed: {e}"))?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("reading the body failed: {e}"))?;
    Ok(Reply {
        status: response.status().as_u16(),
        content_type,
        location,
        headers,
        body,
    })
}

/// Does the step `bin` (a path, or a name: `s22`) keep its data in
/// PostgreSQL? From step 22 on.
pub fn is_postgres_step(bin: &str) -> bool {
    step_number(bin).is_some_and(|number| number >= 22)
}

/// Does the step `bin` (a path, or a name: `s23`) tell its instances about
/// new messages through Redis (`--redis-url`)? From step 23 on.
pub fn is_redis_step(bin: &str) -> bool {
    step_number(bin).is_some_and(|number| number >= 23)
}

/// 22 for `s22`, `s22b` or `target/debug/s22`.
fn step_number(bin: &str) -> Option<u32> {
    let stem = Path::new(bin).file_stem()?.to_string_lossy().into_owned();
    let digits: String = stem
        .strip_prefix('s')?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The options that give a step its servers: `--db FILE` in `dir`, or
/// `--database-url URL` (steps 22 on); and `--redis-url URL` (23 on).
fn servers_options(dir: &Path, database_url: Option<&str>, redis_url: Option<&str>) -> Vec<String> {
    let mut options = match database_url {
        Some(url) => vec!["--database-url".into(), url.into()],
        None => vec![
            "--db".into(),
            dir.join("chat.db").to_string_lossy().into_owned(),
        ],
    };
    if let Some(url) = redis_url {
        options.extend(["--redis-url".into(), url.into()]);
    }
    options
}

/// A new empty folder under the system's temporary directory.
pub(crate) fn temp_dir() -> PathBuf {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "chat-tutorial-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create a temporary folder");
    dir
}

/// Is httpie's `http` on the PATH? When it is not, says so loudly; in CI
/// (`CI=true`) a missing httpie fails the test instead of skipping it.
pub fn httpie_is_installed() -> bool {
    let found = Command::new("http")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        missing_tool(
            "httpie is not installed, so the tutorial's `http ...` commands were NOT checked. \
             Install it with `pip install httpie` (or `pipx install httpie`).",
        );
    }
    found
}

/// Starts private servers for a test (`&[Kind::Postgres]`...), each on a
/// free port in a temporary folder, nginx in front of `upstreams`; they stop
/// when the result is dropped. When one is not installed, says so loudly and
/// returns None: the test then returns early and passes, except in CI
/// (`CI=true`), where it fails.
#[cfg(unix)]
pub fn services(
    wanted: &[crate::services::Kind],
    upstreams: &[std::net::SocketAddr],
) -> Option<crate::services::Services> {
    use crate::services::{Error, Services};
    match Services::start(&temp_dir(), wanted, upstreams) {
        Ok(services) => Some(services),
        Err(missing @ Error::Missing(_)) => {
            missing_tool(&format!("{missing}, so this test did NOT run"));
            None
        }
        Err(Error::Failed(message)) => panic!("{message}"),
    }
}

/// A tool some test needs is missing. In CI (`CI=true`) that fails the test;
/// elsewhere it prints a banner nobody can miss, and the test carries on.
pub fn missing_tool(message: &str) {
    assert!(!in_ci(), "{message} (in CI a missing tool is a failure)");
    // Straight to stderr, not with `eprintln!`: the test harness captures
    // that and shows it only when the test fails.
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {message} ***\n");
}

/// True when running in CI, where a missing tool is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Splits a command line the way a shell would for the tutorial's lines: on
/// spaces, with double or single quotes grouping words (`name="Alice Caroll"`,
/// `-d '{"name": "Alice"}'`), and `\` at the end of a line continuing it.
fn shell_words(line: &str) -> Vec<String> {
    let line = line.replace("\\\n", " ");
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match c {
            '"' | '\'' if quote.is_none() => {
                quote = Some(c);
                in_word = true;
            }
            c if quote == Some(c) => quote = None,
            c if c.is_whitespace() && quote.is_none() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_told_apart_by_their_number() {
        for (bin, postgres, redis) in [
            ("s21", false, false),
            ("/x/target/debug/s22", true, false),
            ("s23", true, true),
            ("s24b", true, true),
            ("sql", false, false),
            ("xtask", false, false),
        ] {
            assert_eq!(is_postgres_step(bin), postgres, "{bin}");
            assert_eq!(is_redis_step(bin), redis, "{bin}");
        }
    }

    #[test]
    fn a_step_with_redis_is_given_both_urls() {
        let dir = Path::new("/t");
        assert_eq!(servers_options(dir, None, None), ["--db", "/t/chat.db"]);
        assert_eq!(
            servers_options(dir, Some("postgres://p"), Some("redis://r")),
            ["--database-url", "postgres://p", "--redis-url", "redis://r"]
        );
    }

    #[test]
    fn shell_words_keep_quoted_values_together() {
        assert_eq!(
            shell_words(r#"http :5001/api/users name="Alice Caroll" email="alice@foo.com""#),
            [
                "http",
                ":5001/api/users",
                "name=Alice Caroll",
                "email=alice@foo.com"
            ]
        );
        assert_eq!(
            shell_words("curl -i localhost:5001/x -H 'A: b' \\\n     -d '{\"n\": \"A\"}'"),
            [
                "curl",
                "-i",
                "localhost:5001/x",
                "-H",
                "A: b",
                "-d",
                r#"{"n": "A"}"#
            ]
        );
    }
}
