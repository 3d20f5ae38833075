//! Private PostgreSQL, Redis and nginx servers for the steps from s22 on:
//! the real ones from Debian's packages, started as the current user from
//! the installed binaries, each with its own folder and its own port on
//! 127.0.0.1, and stopped by process id. The system's own services (a
//! `postgresql` or `redis-server` unit, the cluster in /var/lib/postgresql)
//! are never started, stopped or read.
//!
//! `scripts/services up|down|status` (xtask) and the tests ([`Services`],
//! and `shared::testing::services`) both start them through this module.
//!
//! One run folder holds everything: `<name>.pid` and `<name>.port` for each
//! running server, its log `<name>.log`, and its files (`postgres/`, the
//! data folder; `redis/`; `nginx/`, its configuration and temporary files;
//! `nginx.upstreams`, the instances nginx sends requests to).
//! nginx's configuration is generated, and includes the site that step 23
//! teaches, `steps/s23/nginx.conf` ([`NGINX_SITE`]).
//! Unix only: the packages are Debian's.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::process::{self, Ask};

/// How long a server gets to answer after its start (PostgreSQL's first
/// start includes `initdb`, about a second).
const START_PATIENCE: Duration = Duration::from_secs(30);
/// How long a server gets to stop after it was asked, before it is killed.
const STOP_PATIENCE: Duration = Duration::from_secs(10);

/// The user PostgreSQL's superuser is called, and the database the steps use.
pub const POSTGRES_USER: &str = "postgres";
pub const DATABASE: &str = "chat";

/// nginx's site, the part of its configuration a learner reads (step 23's
/// lesson), in the workspace: the generated configuration includes it.
pub const NGINX_SITE: &str = "steps/s23/nginx.conf";

/// [`NGINX_SITE`] in this workspace (the one shared was built from).
pub fn workspace_nginx_site() -> PathBuf {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR"));
    shared.parent().unwrap_or(shared).join(NGINX_SITE)
}

/// One of the three servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    Redis,
    Nginx,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Postgres, Kind::Redis, Kind::Nginx];

    /// The name of its files in the run folder (`postgres.pid`...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
            Kind::Nginx => "nginx",
        }
    }

    /// Its name for people.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Postgres => "PostgreSQL",
            Kind::Redis => "Redis",
            Kind::Nginx => "nginx",
        }
    }

    /// The Debian package that installs it.
    pub fn package(self) -> &'static str {
        match self {
            Kind::Postgres => "postgresql",
            Kind::Redis => "redis-server",
            Kind::Nginx => "nginx",
        }
    }

    /// Its server binary, if it is installed.
    pub fn binary(self) -> Result<PathBuf, Error> {
        match self {
            Kind::Postgres => postgres_tool("postgres"),
            Kind::Redis => find_program("redis-server").ok_or(Error::Missing(self)),
            Kind::Nginx => find_program("nginx").ok_or(Error::Missing(self)),
        }
    }
}

/// Why a server did not start.
#[derive(Debug)]
pub enum Error {
    /// Its binary is not installed.
    Missing(Kind),
    /// It is installed but did not start; the message says why.
    Failed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Missing(kind) => write!(
                f,
                "{} is not installed (install with: apt install {})",
                kind.title(),
                kind.package()
            ),
            Error::Failed(message) => f.write_str(message),
        }
    }
}

/// A server that runs, as its pid file says.
#[derive(Debug)]
pub struct Running {
    pub kind: Kind,
    pub pid: u32,
    pub port: u16,
    /// Set when this process started it: waited for once it is stopped.
    child: Option<Child>,
}

/// A run folder, and the servers it records.
pub struct Folder {
    pub dir: PathBuf,
    /// Servers whose data is thrown away after them (the tests'): PostgreSQL
    /// then does not wait for the disk at each commit (`fsync=off`,
    /// `synchronous_commit=off`), which a crash of the machine, not of the
    /// server, could make it lose. `scripts/services` keeps the defaults.
    pub throwaway: bool,
}

impl Folder {
    pub fn new(dir: impl Into<PathBuf>) -> Folder {
        Folder {
            dir: dir.into(),
            throwaway: false,
        }
    }

    /// The server `kind` recorded in this folder, if its process still
    /// runs its binary (a pid alone could by now name another program).
    pub fn running(&self, kind: Kind) -> Option<Running> {
        let pid = read_number(&self.file(kind, "pid"))?;
        let port = read_number(&self.file(kind, "port")).unwrap_or(0);
        let binary = kind.binary().ok()?;
        process::runs(pid, &binary).then_some(Running {
            kind,
            pid,
            port,
            child: None,
        })
    }

    /// Starts PostgreSQL on `port`: `initdb` into `postgres/` the first
    /// time, then `postgres` itself, and a database `chat`.
    pub fn start_postgres(&self, port: u16) -> Result<Running, Error> {
        let postgres = Kind::Postgres.binary()?;
        let tools = postgres.parent().unwrap_or(Path::new("/"));
        check_port_free(Kind::Postgres, port)?;
        let data = self.postgres_data(port)?;
        // PostgreSQL refuses to run as root: then it runs as the user the
        // Debian package creates, in a data folder that user owns.
        let owner = if is_root() {
            Some(user_ids(POSTGRES_USER).ok_or_else(|| {
                failed(format!(
                    "PostgreSQL does not run as root, and there is no user \
                     {POSTGRES_USER} to run it as (the Debian package postgresql creates it)"
                ))
            })?)
        } else {
            None
        };
        let log = self.log_file(Kind::Postgres)?;
        if !data.join("PG_VERSION").exists() {
            fs::create_dir_all(&data).map_err(|e| io_failed(&data, e))?;
            fs::set_permissions(&data, fs::Permissions::from_mode(0o700))
                .map_err(|e| io_failed(&data, e))?;
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&data, Some(uid), Some(gid))
                    .map_err(|e| io_failed(&data, e))?;
            }
            let mut initdb = Command::new(tools.join("initdb"));
            initdb
                .arg("-D")
                .arg(&data)
                .args(["-U", POSTGRES_USER, "--auth=trust", "--no-sync"])
                .args(["--encoding=UTF8", "--no-locale"]);
            as_owner(&mut initdb, &data, owner);
            run_logged(
                Kind::Postgres,
                &mut initdb,
                &log,
                &self.log_path(Kind::Postgres),
            )?;
        }
        // The Unix socket in the data folder, where the path fits (a socket's
        // path is at most 107 bytes); TCP on 127.0.0.1 in any case.
        let socket = data.join(format!(".s.PGSQL.{port}"));
        let socket_dir = if socket.as_os_str().len() < 100 {
            data.as_os_str()
        } else {
            "".as_ref()
        };
        let mut command = Command::new(&postgres);
        command
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-k",
            ])
            .arg(socket_dir);
        if self.throwaway {
            command.args(["-c", "fsync=off", "-c", "synchronous_commit=off"]);
            command.args(["-c", "full_page_writes=off"]);
        }
        as_owner(&mut command, &data, owner);
        let pid_file = data.join("postmaster.pid");
        let mut running = self.spawn(Kind::Postgres, port, &mut command, &log, || {
            // The last line of postmaster.pid says "ready" once it accepts
            // connections.
            fs::read_to_string(&pid_file)
                .is_ok_and(|text| text.lines().nth(7).map(str::trim) == Some("ready"))
        })?;
        if let Err(error) = create_database(tools, port) {
            let _ = self.stop(Kind::Postgres);
            if let Some(child) = running.child.as_mut() {
                let _ = child.wait();
            }
            return Err(error);
        }
        Ok(running)
    }

    /// Starts Redis on `port`: no persistence, nothing written but its log.
    pub fn start_redis(&self, port: u16) -> Result<Running, Error> {
        let redis = Kind::Redis.binary()?;
        check_port_free(Kind::Redis, port)?;
        let dir = self.dir.join("redis");
        fs::create_dir_all(&dir).map_err(|e| io_failed(&dir, e))?;
        let log = self.log_file(Kind::Redis)?;
        let mut command = Command::new(redis);
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--logfile", "", "--dir"])
            .arg(&dir)
            .current_dir(&dir);
        self.spawn(Kind::Redis, port, &mut command, &log, || {
            redis_ping(port).is_ok_and(|answer| answer == "+PONG")
        })
    }

    /// Starts nginx on `port`, in front of `upstreams` (the instances'
    /// addresses), with the `site` file ([`NGINX_SITE`]) included.
    pub fn start_nginx(
        &self,
        port: u16,
        upstreams: &[SocketAddr],
        site: &Path,
    ) -> Result<Running, Error> {
        let nginx = Kind::Nginx.binary()?;
        if upstreams.is_empty() {
            return Err(failed(
                "nginx needs at least one instance to send requests to",
            ));
        }
        if !site.is_file() {
            return Err(failed(format!(
                "nginx's site {} is missing",
                site.display()
            )));
        }
        check_port_free(Kind::Nginx, port)?;
        let prefix = self.dir.join("nginx");
        fs::create_dir_all(prefix.join("temp")).map_err(|e| io_failed(&prefix, e))?;
        let log_path = self.log_path(Kind::Nginx);
        let config = nginx_config(port, upstreams, site, &log_path, is_root());
        let config_path = prefix.join("nginx.conf");
        fs::write(&config_path, config).map_err(|e| io_failed(&config_path, e))?;
        // For `scripts/switch 23`, which starts the instances there.
        let listed: String = upstreams.iter().map(|a| format!("{a}\n")).collect();
        let upstreams_path = self.file(Kind::Nginx, "upstreams");
        fs::write(&upstreams_path, listed).map_err(|e| io_failed(&upstreams_path, e))?;
        let log = self.log_file(Kind::Nginx)?;
        let mut command = Command::new(nginx);
        command
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&config_path)
            // Its first messages, before it reads the configuration, go
            // here too rather than to /var/log/nginx.
            .arg("-e")
            .arg(&log_path)
            .args(["-g", "daemon off;"])
            .current_dir(&prefix);
        // Ready once it accepts connections: a request would go on to the
        // instances, and one that is not up yet would be left out a while.
        self.spawn(Kind::Nginx, port, &mut command, &log, || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
    }

    /// Stops the server `kind` of this folder, if it runs: asks (SIGINT for
    /// PostgreSQL, its fast shutdown; SIGTERM for the others), then kills it
    /// if it is still there after a while. Returns the pid it stopped.
    pub fn stop(&self, kind: Kind) -> Result<Option<u32>, String> {
        let stopped = match self.running(kind) {
            None => None,
            Some(running) => {
                let ask = if kind == Kind::Postgres {
                    Ask::Interrupt
                } else {
                    Ask::Terminate
                };
                let binary = kind.binary().map_err(|e| e.to_string())?;
                process::stop(running.pid, &binary, ask, STOP_PATIENCE, || false)
                    .map_err(|e| format!("{}: {e}", kind.title()))?;
                Some(running.pid)
            }
        };
        let _ = fs::remove_file(self.file(kind, "pid"));
        let _ = fs::remove_file(self.file(kind, "port"));
        if kind == Kind::Nginx {
            let _ = fs::remove_file(self.file(kind, "upstreams"));
        }
        Ok(stopped)
    }

    /// The instances the running nginx of this folder sends requests to
    /// (empty when it does not run).
    pub fn nginx_upstreams(&self) -> Vec<SocketAddr> {
        if self.running(Kind::Nginx).is_none() {
            return Vec::new();
        }
        let listed = fs::read_to_string(self.file(Kind::Nginx, "upstreams")).unwrap_or_default();
        listed
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect()
    }

    /// The log of server `kind`.
    pub fn log_path(&self, kind: Kind) -> PathBuf {
        self.file(kind, "log")
    }

    /// PostgreSQL's data folder: `postgres/` in the run folder, except as
    /// root when the user postgres cannot reach the run folder (a project
    /// under /root): then a folder of its own under /var/tmp.
    pub fn postgres_data(&self, port: u16) -> Result<PathBuf, Error> {
        let inside = self.dir.join("postgres");
        if !is_root() {
            return Ok(inside);
        }
        fs::create_dir_all(&self.dir).map_err(|e| io_failed(&self.dir, e))?;
        let reachable =
            user_ids(POSTGRES_USER).is_none_or(|(uid, gid)| can_enter(&self.dir, uid, gid));
        Ok(if reachable {
            inside
        } else {
            PathBuf::from(format!("/var/tmp/chat-tutorial-postgres-{port}"))
        })
    }

    fn file(&self, kind: Kind, extension: &str) -> PathBuf {
        self.dir.join(format!("{}.{extension}", kind.name()))
    }

    fn log_file(&self, kind: Kind) -> Result<File, Error> {
        fs::create_dir_all(&self.dir).map_err(|e| io_failed(&self.dir, e))?;
        let path = self.log_path(kind);
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_failed(&path, e))
    }

    /// Starts `command` in the background, records its pid and port, and
    /// waits until `ready()`; on failure, says why with its log's end.
    fn spawn(
        &self,
        kind: Kind,
        port: u16,
        command: &mut Command,
        log: &File,
        ready: impl Fn() -> bool,
    ) -> Result<Running, Error> {
        let clone = |log: &File| log.try_clone().map_err(|e| failed(e.to_string()));
        command
            .stdin(Stdio::null())
            .stdout(clone(log)?)
            .stderr(clone(log)?)
            // A process group of its own: a Ctrl-C typed later in this
            // terminal does not reach it.
            .process_group(0);
        let mut child = command
            .spawn()
            .map_err(|e| failed(format!("cannot start {}: {e}", kind.title())))?;
        let pid = child.id();
        let record = |extension, value: u32| {
            let path = self.file(kind, extension);
            fs::write(&path, format!("{value}\n")).map_err(|e| io_failed(&path, e))
        };
        record("pid", pid)?;
        record("port", u32::from(port))?;
        let started = Instant::now();
        loop {
            if ready() {
                return Ok(Running {
                    kind,
                    pid,
                    port,
                    child: Some(child),
                });
            }
            let gone = child.try_wait().ok().flatten();
            if gone.is_some() || started.elapsed() > START_PATIENCE {
                let _ = child.kill();
                let _ = child.wait();
                let _ = fs::remove_file(self.file(kind, "pid"));
                let what = match gone {
                    Some(status) => format!("stopped at once ({status})"),
                    None => format!("did not answer within {} s", START_PATIENCE.as_secs()),
                };
                return Err(failed(format!(
                    "{} on port {port} {what}; the end of {}:\n{}",
                    kind.title(),
                    self.log_path(kind).display(),
                    tail(&self.log_path(kind))
                )));
            }
            sleep(Duration::from_millis(20));
        }
    }
}

/// The servers a test started, in a folder of their own, on free ports;
/// stopped, and their folder removed, when it is dropped.
pub struct Services {
    folder: Folder,
    pub postgres: Option<Running>,
    pub redis: Option<Running>,
    pub nginx: Option<Running>,
    /// PostgreSQL's data folder, when it is not inside `folder` (as root).
    postgres_data: Option<PathBuf>,
    /// What nginx is in front of, to start it again.
    upstreams: Vec<SocketAddr>,
}

impl Services {
    /// Starts the servers `wanted` in `dir`, each on a free port; nginx in
    /// front of `upstreams`. When a binary is missing, nothing is started.
    /// Their data is thrown away after them ([`Folder::throwaway`]): the tests' servers.
    pub fn start(dir: &Path, wanted: &[Kind], upstreams: &[SocketAddr]) -> Result<Services, Error> {
        for kind in wanted {
            kind.binary()?;
        }
        // Filled one by one: if one fails, dropping this stops the others.
        let mut services = Services {
            folder: Folder {
                throwaway: true,
                ..Folder::new(dir)
            },
            postgres: None,
            redis: None,
            nginx: None,
            postgres_data: None,
            upstreams: upstreams.to_vec(),
        };
        for &kind in wanted {
            services.start_on_a_free_port(kind)?;
        }
        Ok(services)
    }

    /// Starts the server `kind` on a free port. One free a moment ago may
    /// be taken meanwhile by another test's server: then another, a few times.
    fn start_on_a_free_port(&mut self, kind: Kind) -> Result<(), Error> {
        let mut attempt = 1;
        loop {
            let port = free_port();
            if kind == Kind::Postgres {
                self.postgres_data = Some(self.folder.postgres_data(port)?);
            }
            match self.start_again(kind, port) {
                Err(Error::Failed(why)) if attempt < 5 && port_was_taken(&why) => attempt += 1,
                started => return started,
            }
        }
    }

    /// Stops the server `kind`, as if it went down, and answers its port:
    /// for a test of what a step does meanwhile. [`Services::start_again`]
    /// brings it back on that port (PostgreSQL with its data).
    pub fn stop(&mut self, kind: Kind) -> Option<u16> {
        let mut running = self.slot(kind).take()?;
        // Reaped as it exits (a child that is not waited for still counts
        // as running), while `stop` waits for it to be gone.
        let child = running.child.take();
        let reaper = std::thread::spawn(move || child.map(|mut child| child.wait()));
        let _ = self.folder.stop(kind);
        let _ = reaper.join();
        Some(running.port)
    }

    /// Starts the server `kind` on `port`: again, after [`Services::stop`].
    pub fn start_again(&mut self, kind: Kind, port: u16) -> Result<(), Error> {
        let running = match kind {
            Kind::Postgres => self.folder.start_postgres(port)?,
            Kind::Redis => self.folder.start_redis(port)?,
            Kind::Nginx => {
                self.folder
                    .start_nginx(port, &self.upstreams, &workspace_nginx_site())?
            }
        };
        *self.slot(kind) = Some(running);
        Ok(())
    }

    /// Starts nginx, on a free port, in front of `upstreams`: for instances
    /// that were started after the other servers, on ports of their own.
    pub fn start_nginx_in_front_of(&mut self, upstreams: &[SocketAddr]) -> Result<(), Error> {
        self.upstreams = upstreams.to_vec();
        self.start_on_a_free_port(Kind::Nginx)
    }

    /// [`Services::stop`] for PostgreSQL.
    pub fn stop_postgres(&mut self) -> Option<u16> {
        self.stop(Kind::Postgres)
    }

    /// [`Services::start_again`] for PostgreSQL, after [`Services::stop_postgres`].
    pub fn start_postgres_again(&mut self, port: u16) -> Result<(), Error> {
        self.start_again(Kind::Postgres, port)
    }

    /// [`Services::stop`] for Redis.
    pub fn stop_redis(&mut self) -> Option<u16> {
        self.stop(Kind::Redis)
    }

    /// [`Services::start_again`] for Redis, after [`Services::stop_redis`].
    pub fn start_redis_again(&mut self, port: u16) -> Result<(), Error> {
        self.start_again(Kind::Redis, port)
    }

    fn slot(&mut self, kind: Kind) -> &mut Option<Running> {
        match kind {
            Kind::Postgres => &mut self.postgres,
            Kind::Redis => &mut self.redis,
            Kind::Nginx => &mut self.nginx,
        }
    }

    /// The log of server `kind`.
    pub fn log_path(&self, kind: Kind) -> PathBuf {
        self.folder.log_path(kind)
    }

    /// `postgres://postgres@127.0.0.1:PORT/chat`, if PostgreSQL was started.
    pub fn database_url(&self) -> Option<String> {
        self.postgres.as_ref().map(|pg| database_url(pg.port))
    }

    /// `redis://127.0.0.1:PORT`, if Redis was started.
    pub fn redis_url(&self) -> Option<String> {
        self.redis.as_ref().map(|redis| redis_url(redis.port))
    }

    /// `http://127.0.0.1:PORT`, nginx's address, if it was started.
    pub fn nginx_url(&self) -> Option<String> {
        self.nginx
            .as_ref()
            .map(|nginx| format!("http://127.0.0.1:{}", nginx.port))
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for running in [&mut self.nginx, &mut self.redis, &mut self.postgres] {
            if let Some(mut running) = running.take() {
                let _ = self.folder.stop(running.kind);
                if let Some(child) = running.child.as_mut() {
                    // Should its pid file be gone, `stop` found nothing to stop.
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        if let Some(data) = &self.postgres_data
            && !data.starts_with(&self.folder.dir)
        {
            let _ = fs::remove_dir_all(data);
        }
        let _ = fs::remove_dir_all(&self.folder.dir);
    }
}

/// The URL a step from s22 on takes in `DATABASE_URL`.
pub fn database_url(port: u16) -> String {
    format!("postgres://{POSTGRES_USER}@127.0.0.1:{port}/{DATABASE}")
}

/// The URL a step from s23 on takes in `REDIS_URL`.
pub fn redis_url(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}

/// One of PostgreSQL's programs (`postgres`, `initdb`, `psql`), from the
/// newest version Debian installed under /usr/lib/postgresql, else from the
/// PATH.
pub fn postgres_tool(name: &str) -> Result<PathBuf, Error> {
    let newest = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin").join(name)))
        })
        .filter(|(_, path)| path.is_file())
        .max();
    newest
        .map(|(_, path)| path)
        .or_else(|| find_program(name))
        .ok_or(Error::Missing(Kind::Postgres))
}

/// The configuration nginx runs with: everything it writes goes under its
/// prefix (`-p`) or to `log`, never to /var. The plumbing is here; what
/// nginx does with a request is the `site` file, included in `server { }`.
pub fn nginx_config(
    port: u16,
    upstreams: &[SocketAddr],
    site: &Path,
    log: &Path,
    as_root: bool,
) -> String {
    // An instance that refused a connection is left out for 2 s (nginx's
    // default, 10 s, would answer 502 for 10 s after a restart of them all).
    let servers: String = upstreams
        .iter()
        .map(|address| format!("        server {address} max_fails=1 fail_timeout=2s;\n"))
        .collect();
    // As root, nginx's workers switch to another user; Debian has no group
    // "nobody", which nginx's default would ask for.
    let user = if as_root {
        "user nobody nogroup;\n"
    } else {
        ""
    };
    let (log, site) = (log.display(), site.display());
    format!(
        r#"# Generated by shared/src/services.rs (scripts/services up): edits are lost.
# What nginx does with the requests is in the site included below.
{user}worker_processes 1;
pid nginx.pid;
error_log "{log}" notice;
# A WebSocket through nginx holds two connections, the page's and the
# instance's: 4,096 of them for 2,000 pages (1,000 by default), and the
# files to hold them.
worker_rlimit_nofile 10000;
events {{
    worker_connections 4096;
}}
http {{
    access_log "{log}";
    client_body_temp_path temp/client_body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;

    upstream instances {{
{servers}    }}
    server {{
        listen 127.0.0.1:{port};
        include "{site}";
    }}
}}
"#
    )
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("no free port on 127.0.0.1")
}

/// Is `port` on 127.0.0.1 free?
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Sends PING to the Redis on `port` and returns its answer's first line.
pub fn redis_ping(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"PING\r\n")?;
    let mut answer = [0; 64];
    let read = stream.read(&mut answer)?;
    Ok(String::from_utf8_lossy(&answer[..read])
        .trim_end()
        .to_string())
}

/// Asks `GET /` of the HTTP server on `port`; returns its status line.
pub fn http_status_line(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    Ok(answer.lines().next().unwrap_or_default().to_string())
}

/// Creates the database `chat`, unless it exists.
fn create_database(tools: &Path, port: u16) -> Result<(), Error> {
    let output = Command::new(tools.join("createdb"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            POSTGRES_USER,
            DATABASE,
        ])
        .output()
        .map_err(|e| failed(format!("cannot run createdb: {e}")))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() || stderr.contains("already exists") {
        Ok(())
    } else {
        Err(failed(format!(
            "createdb {DATABASE} failed: {}",
            stderr.trim()
        )))
    }
}

/// Runs `command` to its end, its output in `log`.
fn run_logged(kind: Kind, command: &mut Command, log: &File, path: &Path) -> Result<(), Error> {
    let clone = |log: &File| log.try_clone().map_err(|e| failed(e.to_string()));
    let status = command
        .stdin(Stdio::null())
        .stdout(clone(log)?)
        .stderr(clone(log)?)
        .status()
        .map_err(|e| failed(format!("cannot run {:?}: {e}", command.get_program())))?;
    if status.success() {
        return Ok(());
    }
    Err(failed(format!(
        "{} could not be prepared ({:?}: {status}); the end of {}:\n{}",
        kind.title(),
        command.get_program(),
        path.display(),
        tail(path)
    )))
}

/// Runs `command` in `dir`, and as `owner` (uid, gid) when given.
fn as_owner(command: &mut Command, dir: &Path, owner: Option<(u32, u32)>) {
    command.current_dir(dir);
    if let Some((uid, gid)) = owner {
        // The standard library drops root's other groups too.
        command.uid(uid).gid(gid);
    }
}

/// Does a failure to start say that its port was taken?
fn port_was_taken(why: &str) -> bool {
    why.contains("is taken by another program") || why.contains("already in use")
}

/// Fails when something already listens on `port`.
fn check_port_free(kind: Kind, port: u16) -> Result<(), Error> {
    if port_is_free(port) {
        Ok(())
    } else {
        Err(failed(format!(
            "{}: port {port} on 127.0.0.1 is taken by another program",
            kind.title()
        )))
    }
}

/// The last lines of a log, indented.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(12);
    lines[start..]
        .iter()
        .map(|line| format!("    {line}\n"))
        .collect()
}

fn read_number<N: std::str::FromStr>(path: &Path) -> Option<N> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn failed(message: impl Into<String>) -> Error {
    Error::Failed(message.into())
}

fn io_failed(path: &Path, error: std::io::Error) -> Error {
    failed(format!("{}: {error}", path.display()))
}

/// `name` on the PATH, or in the sbin folders a user's PATH often lacks
/// (Debian's nginx is /usr/sbin/nginx).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// The uid and gid of user `name`, from /etc/passwd.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&name)).then_some(())?;
        Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
    })
}

/// Can the user (uid, gid) reach files inside `dir` (search permission on
/// it and on every folder above it)?
fn can_enter(dir: &Path, uid: u32, gid: u32) -> bool {
    dir.ancestors().all(|folder| {
        fs::metadata(folder).is_ok_and(|meta| {
            let mode = meta.mode();
            if meta.uid() == uid {
                mode & 0o100 != 0
            } else if meta.gid() == gid {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            }
        })
    })
}

// From the C library, which the standard library links anyway: declaring
// it saves a dependency for one call.
unsafe extern "C" {
    fn geteuid() -> u32;
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) takes nothing and always succeeds.
    unsafe { geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_server_names_its_debian_package_in_one_line() {
        let message = Error::Missing(Kind::Redis).to_string();
        assert_eq!(
            message,
            "Redis is not installed (install with: apt install redis-server)"
        );
        assert!(!message.contains('\n'));
    }

    #[test]
    fn nginx_s_plumbing_is_generated_and_writes_nothing_outside_its_folder() {
        let upstreams: Vec<SocketAddr> = ["127.0.0.1:5011".parse().unwrap()].to_vec();
        let site = Path::new("/w/steps/s23/nginx.conf");
        let config = nginx_config(5010, &upstreams, site, Path::new("/run/x/nginx.log"), false);
        for line in [
            "listen 127.0.0.1:5010;",
            "upstream instances {",
            "server 127.0.0.1:5011 max_fails=1 fail_timeout=2s;",
            "include \"/w/steps/s23/nginx.conf\";",
            "error_log \"/run/x/nginx.log\" notice;",
            "proxy_temp_path temp/proxy;",
        ] {
            assert!(config.contains(line), "{line:?} missing in:\n{config}");
        }
        assert!(!config.contains("/var/"), "{config}");
        assert!(!config.contains("user "), "{config}");
    }

    #[test]
    fn step_23_s_site_passes_websockets_on_to_the_instances() {
        let site = fs::read_to_string(workspace_nginx_site()).unwrap();
        for line in [
            "proxy_pass http://instances;",
            "proxy_http_version 1.1;",
            "location = /ws {",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection \"upgrade\";",
            "proxy_set_header Host $http_host;",
            "proxy_read_timeout 1h;",
            "proxy_next_upstream error timeout;",
        ] {
            assert!(site.contains(line), "{line:?} missing in:\n{site}");
        }
        let lines = site.lines().count();
        assert!(
            lines <= 50,
            "{lines} lines: a lesson's listing, keep it short"
        );
    }

    /// `nginx -t` on the generated configuration with step 23's site.
    #[test]
    fn nginx_accepts_the_configuration() {
        let Ok(nginx) = Kind::Nginx.binary() else {
            crate::testing::missing_tool(&format!(
                "{}, so nginx -t did NOT run",
                Error::Missing(Kind::Nginx)
            ));
            return;
        };
        let dir = crate::testing::temp_dir();
        fs::create_dir_all(dir.join("temp")).unwrap();
        let log = dir.join("nginx.log");
        let upstreams = ["127.0.0.1:5011".parse().unwrap()];
        let config = nginx_config(
            free_port(),
            &upstreams,
            &workspace_nginx_site(),
            &log,
            is_root(),
        );
        fs::write(dir.join("nginx.conf"), config).unwrap();
        let output = Command::new(nginx)
            .arg("-t")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(&log)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&output.stderr).into_owned();
        let _ = fs::remove_dir_all(&dir);
        assert!(output.status.success(), "{said}");
        assert!(said.contains("test is successful"), "{said}");
    }

    /// One fake instance behind nginx, after one that is down: every request
    /// reaches the live one, a WebSocket's upgrade with its headers too.
    #[test]
    fn nginx_skips_an_instance_that_is_down_and_passes_the_upgrade_on() {
        let dead: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let live = TcpListener::bind("127.0.0.1:0").unwrap();
        let live_address = live.local_addr().unwrap();
        let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            for stream in live.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || fake_instance(stream, &seen));
            }
        });
        let Some(services) = crate::testing::services(&[Kind::Nginx], &[dead, live_address]) else {
            return;
        };
        let port = services.nginx.as_ref().unwrap().port;
        let mut tried_the_dead_one = false;
        for _ in 0..4 {
            let answer = ask(port, "GET /api/version HTTP/1.1\r\nHost: localhost\r\n\r\n");
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            // "x-upstream: 127.0.0.1:DEAD, 127.0.0.1:LIVE" when it tried the dead one.
            let lower = answer.to_ascii_lowercase();
            let upstream = lower.lines().find_map(|l| l.strip_prefix("x-upstream: "));
            let last = upstream.and_then(|u| u.trim_end().rsplit(", ").next());
            assert_eq!(last, Some(live_address.to_string().as_str()), "{answer}");
            tried_the_dead_one |= upstream.is_some_and(|u| u.contains(&dead.to_string()));
        }
        assert!(tried_the_dead_one, "nginx's turn came to the dead one once");

        let upgrade = format!(
            "GET /ws HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nOrigin: http://localhost:{port}\r\n\r\n"
        );
        let answer = ask(port, &upgrade);
        assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
        let heads = heads.lock().unwrap();
        let head = heads.iter().find(|h| h.starts_with("get /ws ")).unwrap();
        for line in [
            format!("host: localhost:{port}"),
            "upgrade: websocket".to_string(),
            "connection: upgrade".to_string(),
            "x-forwarded-for: 127.0.0.1".to_string(),
            format!("origin: http://localhost:{port}"),
        ] {
            assert!(
                head.lines().any(|l| l == line),
                "{line:?} missing in:\n{head}"
            );
        }
    }

    /// Sends `request` to port, answers the reply's head.
    fn ask(port: u16, request: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        read_head(&mut stream)
    }

    fn read_head(stream: &mut TcpStream) -> String {
        let mut head = Vec::new();
        let mut byte = [0];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
            head.push(byte[0]);
        }
        String::from_utf8_lossy(&head).into_owned()
    }

    /// Records each request's head (in lower case); answers 101 to an
    /// upgrade, 200 to the rest.
    fn fake_instance(mut stream: TcpStream, seen: &std::sync::Mutex<Vec<String>>) {
        loop {
            let head = read_head(&mut stream).to_ascii_lowercase();
            if head.is_empty() {
                return;
            }
            let upgrade = head.contains("upgrade: websocket");
            seen.lock().unwrap().push(head.replace("\r\n", "\n"));
            let answer = if upgrade {
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            } else {
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
            };
            if stream.write_all(answer.as_bytes()).is_err() || upgrade {
                return;
            }
        }
    }

    #[test]
    fn private_servers_answer_and_are_gone_once_dropped() {
        let instance: SocketAddr = (
            "127.0.0.1".parse::<std::net::IpAddr>().unwrap(),
            free_port(),
        )
            .into();
        let Some(services) = crate::testing::services(&Kind::ALL, &[instance]) else {
            return;
        };
        let pg = services.postgres.as_ref().unwrap();
        let redis = services.redis.as_ref().unwrap();
        let nginx = services.nginx.as_ref().unwrap();
        let (pids, ports) = (
            [pg.pid, redis.pid, nginx.pid],
            [pg.port, redis.port, nginx.port],
        );
        assert!(!port_is_free(pg.port));
        assert_eq!(redis_ping(redis.port).unwrap(), "+PONG");
        // No instance listens behind nginx: it answers 502 itself.
        assert!(http_status_line(nginx.port).unwrap().contains(" 502 "));
        assert_eq!(
            services.database_url().unwrap(),
            format!("postgres://postgres@127.0.0.1:{}/chat", pg.port)
        );
        drop(services);
        for (pid, port) in pids.into_iter().zip(ports) {
            assert!(!process::alive(pid), "pid {pid} still alive");
            assert!(port_is_free(port), "port {port} still taken");
        }
    }
}
