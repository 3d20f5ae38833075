//! Several instances of a step (23 on) behind nginx, as `scripts/switch 23`
//! runs them: copies of the step's binary on one database and one Redis,
//! with a private nginx in front (step 23's site, `steps/s23/nginx.conf`).
//! For the tests of what a message posted on one instance does on the
//! others, and of an instance, Redis or PostgreSQL going down meanwhile.
//!
//! ```ignore
//! let Some(mut chat) = shared::test_instances!() else { return }; // SKIPPED
//! chat.add_sample_users();
//! let mut page = chat.instance(1).client_as("bob").websocket("/ws");
//! chat.front_as("alice").post_json("/api/messages", &body);    // through nginx
//! chat.instance(0).kill();                                     // SIGKILL
//! chat.stop_redis();
//! ```

use std::net::SocketAddr;
use std::process::exit;

use crate::services::{Error, Kind, Services};

use super::{Client, Cookies, Reply, TestApp, missing_tool, postgres, temp_dir};

/// How many instances [`Instances::start`] runs, as `scripts/switch 23` does.
pub const INSTANCES: usize = 3;

/// Instances of a step behind nginx, and the servers they share; all
/// stopped when it is dropped, even when the test panics.
pub struct Instances {
    apps: Vec<TestApp>,
    /// Redis and nginx, and PostgreSQL when the test has its own.
    services: Services,
    database_url: String,
    /// The database is a schema on the tests' PostgreSQL, dropped after.
    drops_database: bool,
    /// The ports of the servers a test stopped, to start them again there.
    stopped: Vec<(Kind, u16)>,
}

impl Instances {
    /// Starts [`INSTANCES`] instances of `bin` on a new database on the
    /// tests' PostgreSQL, with a Redis and an nginx of their own. `None`,
    /// after a loud SKIPPED, when Redis or nginx is not installed (in CI,
    /// `CI=true`, the test fails instead).
    pub fn start(bin: &str) -> Option<Instances> {
        Self::start_with(bin, INSTANCES, false)
    }

    /// Starts `count` instances of `bin`. With `own_postgres`, on a
    /// PostgreSQL of their own, which the test may stop and start again
    /// ([`Instances::stop_postgres`]); otherwise on a new database on the
    /// tests' PostgreSQL.
    pub fn start_with(bin: &str, count: usize, own_postgres: bool) -> Option<Instances> {
        assert!(count > 0, "at least one instance");
        // A thousand pages: their sockets, here and in the instances and
        // nginx (which inherit the limit), outnumber the usual 1,024 files.
        raise_open_files_limit();
        if let Err(missing) = Kind::Nginx.binary() {
            missing_tool(&format!("{missing}, so this test did NOT run"));
            return None;
        }
        let wanted: &[Kind] = if own_postgres {
            &[Kind::Postgres, Kind::Redis]
        } else {
            &[Kind::Redis]
        };
        let services = super::services(wanted, &[])?;
        let database_url = match services.database_url() {
            Some(url) => url,
            None => postgres::new_database(),
        };
        // Filled one by one: should a start fail, dropping this stops the rest.
        let mut instances = Instances {
            apps: Vec::new(),
            services,
            database_url,
            drops_database: !own_postgres,
            stopped: Vec::new(),
        };
        let redis_url = instances.redis_url();
        let start = || TestApp::start_instance(bin, &instances.database_url, &redis_url);
        // The first one creates the tables and the session key; the others
        // then start side by side and find them.
        let first = start();
        let others: Vec<TestApp> = std::thread::scope(|scope| {
            let started: Vec<_> = (1..count).map(|_| scope.spawn(start)).collect();
            started
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e))
                })
                .collect()
        });
        instances.apps.push(first);
        instances.apps.extend(others);
        let upstreams: Vec<SocketAddr> = instances
            .apps
            .iter()
            .map(|app| SocketAddr::from(([127, 0, 0, 1], app.port)))
            .collect();
        instances
            .services
            .start_nginx_in_front_of(&upstreams)
            .unwrap_or_else(|e| panic!("{e}"));
        Some(instances)
    }

    /// Instance `i` (from 0): its own address, log, clients, `kill()`,
    /// `start_again()`.
    #[track_caller]
    pub fn instance(&self, i: usize) -> &TestApp {
        &self.apps[i]
    }

    /// All the instances, in the order nginx lists them.
    pub fn instances(&self) -> &[TestApp] {
        &self.apps
    }

    /// `http://127.0.0.1:PORT`: nginx, in front of the instances.
    pub fn front_url(&self) -> String {
        self.services.nginx_url().expect("nginx runs")
    }

    /// nginx's port.
    pub fn front_port(&self) -> u16 {
        self.services.nginx.as_ref().expect("nginx runs").port
    }

    /// A client of nginx, as a new browser (no cookies): each request may
    /// reach another instance.
    pub fn front(&self) -> Client {
        let app = &self.apps[0];
        Client {
            base_url: self.front_url(),
            agent: app.agent.clone(),
            cookies: Cookies::default(),
        }
    }

    /// A client of nginx logged in as the sample user `nickname`.
    pub fn front_as(&self, nickname: &str) -> Client {
        self.front().logged_in_as(nickname)
    }

    /// The instance that answered `reply`, which came through nginx: its
    /// index, from the `X-Upstream` header (the last address nginx tried).
    pub fn answered(&self, reply: &Reply) -> Option<usize> {
        let port = answering_port(reply)?;
        self.apps.iter().position(|app| app.port == port)
    }

    /// Runs one of the lesson's `http ...` lines verbatim through nginx:
    /// `:5010` (nginx's port with `scripts/services up`) becomes its port
    /// here ([`TestApp::httpie`]).
    pub fn httpie(&self, line: &str) -> serde_json::Value {
        self.apps[0].httpie(&line.replace(":5010", &format!(":{}", self.front_port())))
    }

    /// The tutorial's sample users, in the shared database ([`TestApp::add_sample_users`]).
    pub fn add_sample_users(&self) {
        self.apps[0].add_sample_users();
    }

    /// Runs `sql` on the shared database ([`TestApp::sql`]).
    #[track_caller]
    pub fn sql(&self, sql: &str) -> String {
        self.apps[0].sql(sql)
    }

    /// The database the instances share.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The Redis the instances share.
    pub fn redis_url(&self) -> String {
        self.services.redis_url().expect("Redis runs")
    }

    /// Stops Redis, as if it went down ([`Instances::start_redis_again`]).
    pub fn stop_redis(&mut self) {
        self.stop(Kind::Redis);
    }

    /// Starts Redis again on its port, after [`Instances::stop_redis`].
    pub fn start_redis_again(&mut self) {
        self.start_again(Kind::Redis);
    }

    /// Stops PostgreSQL, as if it went down; only when the test has its own
    /// ([`Instances::start_with`]).
    pub fn stop_postgres(&mut self) {
        assert!(
            !self.drops_database,
            "the tests' PostgreSQL is shared: start_with(bin, n, true) for one of the test's own"
        );
        self.stop(Kind::Postgres);
    }

    /// Starts PostgreSQL again on its port, with its data, after
    /// [`Instances::stop_postgres`].
    pub fn start_postgres_again(&mut self) {
        self.start_again(Kind::Postgres);
    }

    /// Stops nginx (its port is then refused), [`Instances::start_nginx_again`].
    pub fn stop_nginx(&mut self) {
        self.stop(Kind::Nginx);
    }

    /// Starts nginx again on its port, after [`Instances::stop_nginx`].
    pub fn start_nginx_again(&mut self) {
        self.start_again(Kind::Nginx);
    }

    /// What each instance wrote so far, each under its port.
    pub fn logs(&self) -> String {
        self.apps
            .iter()
            .map(|app| format!("--- instance on port {} ---\n{}", app.port, app.log()))
            .collect()
    }

    /// nginx's log: its errors (an instance refusing, "connect() failed")
    /// and one line per request.
    pub fn nginx_log(&self) -> String {
        std::fs::read_to_string(self.services.log_path(Kind::Nginx)).unwrap_or_default()
    }

    fn stop(&mut self, kind: Kind) {
        let port = self
            .services
            .stop(kind)
            .unwrap_or_else(|| panic!("{} was not running", kind.title()));
        self.stopped.push((kind, port));
    }

    fn start_again(&mut self, kind: Kind) {
        let at = self
            .stopped
            .iter()
            .position(|(stopped, _)| *stopped == kind)
            .unwrap_or_else(|| panic!("{} was not stopped", kind.title()));
        let (_, port) = self.stopped.remove(at);
        self.services
            .start_again(kind, port)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for Instances {
    fn drop(&mut self) {
        // Each TestApp prints its log if the test panicked.
        self.apps.clear();
        if std::thread::panicking() {
            eprintln!("--- nginx's log ---\n{}", self.nginx_log());
        }
        if self.drops_database {
            postgres::drop_database(&self.database_url);
        }
        // The servers stop as `services` drops.
    }
}

/// The port of the instance that answered through nginx: the last address
/// of its `X-Upstream` header (`127.0.0.1:5011, 127.0.0.1:5012` when the
/// first refused).
pub fn answering_port(reply: &Reply) -> Option<u16> {
    let upstreams = reply.header("x-upstream")?;
    let last = upstreams.rsplit(',').next()?.trim();
    last.rsplit(':').next()?.parse().ok()
}

/// A Redis of its own for one app of a step from 23 on. Without Redis
/// installed, says so loudly and ends the test binary as passed (in CI,
/// `CI=true`, it fails): all of such a step's tests need it.
pub(crate) fn private_redis() -> Services {
    match Services::start(&temp_dir(), &[Kind::Redis], &[]) {
        Ok(redis) => redis,
        Err(missing @ Error::Missing(_)) => {
            missing_tool(&format!(
                "{missing}, so this step's tests did NOT run (they all need it)"
            ));
            exit(0);
        }
        Err(Error::Failed(message)) => panic!("{message}"),
    }
}

/// Raises this process's limit of open files to the most it may have (the
/// "hard" limit), for the children it starts too.
fn raise_open_files_limit() {
    #[repr(C)]
    struct Limit {
        current: u64,
        most: u64,
    }
    unsafe extern "C" {
        fn getrlimit(resource: i32, limit: *mut Limit) -> i32;
        fn setrlimit(resource: i32, limit: *const Limit) -> i32;
    }
    // RLIMIT_NOFILE on Linux (services.rs runs Debian's servers only).
    const OPEN_FILES: i32 = 7;
    if !cfg!(target_os = "linux") {
        return;
    }
    let mut limit = Limit {
        current: 0,
        most: 0,
    };
    // SAFETY: both read or write one `Limit`, laid out as C's `struct rlimit`.
    unsafe {
        if getrlimit(OPEN_FILES, &mut limit) == 0 && limit.current < limit.most {
            limit.current = limit.most;
            setrlimit(OPEN_FILES, &limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_with(upstream: &str) -> Reply {
        Reply {
            status: 200,
            content_type: String::new(),
            location: None,
            headers: vec![("x-upstream".into(), upstream.into())],
            body: String::new(),
        }
    }

    #[test]
    fn the_answering_instance_is_the_last_one_nginx_tried() {
        assert_eq!(answering_port(&reply_with("127.0.0.1:5011")), Some(5011));
        let skipped = reply_with("127.0.0.1:5011, 127.0.0.1:5012");
        assert_eq!(answering_port(&skipped), Some(5012));
        assert_eq!(answering_port(&reply_with("")), None);
    }
}
