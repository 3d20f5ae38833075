//! `scripts/services up|down|status`: the private PostgreSQL, Redis and
//! nginx the steps use from s22 on, started as the current user from
//! Debian's packages, on loopback, and stopped by process id. How they are
//! started is in shared/src/services.rs, which the tests use too; this is
//! the command line. Everything is in the run folder, `.services/` (git
//! ignores it): docs/services.md.

pub const USAGE: &str = "\
usage: scripts/services [up | down | status] [--dir DIR] [--ports PG,REDIS,NGINX]
                        [--instances PORT,PORT,...]

  scripts/services up      start PostgreSQL (127.0.0.1:5433, database chat),
                           Redis (127.0.0.1:6380) and nginx (127.0.0.1:5010, in
                           front of the instances on 5011, 5012 and 5013, with
                           the site steps/s23/nginx.conf), each unless it runs
                           already; print DATABASE_URL and REDIS_URL
  scripts/services status  which of them run (the default)
  scripts/services down    stop them, by process id
    --dir DIR              the run folder (.services/ in the workspace)
    --ports PG,REDIS,NGINX other ports, for up
    --instances PORT,...   other ports for the instances behind nginx, for up
                           (scripts/switch 23 starts one instance on each)

The system's own services (a postgresql or redis-server unit) are left alone.
";

/// The default ports: next to PostgreSQL's 5432 and Redis's 6379, which the
/// system's own services use, and away from the steps' 5001: nginx on 5010,
/// its three instances on 5011-5013.
pub const DEFAULT_PORTS: Ports = Ports {
    postgres: 5433,
    redis: 6380,
    nginx: 5010,
};

/// The instances nginx sends requests to: `scripts/switch 23` starts
/// three copies of the step there.
pub const INSTANCE_PORTS: [u16; 3] = [5011, 5012, 5013];

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ports {
    pub postgres: u16,
    pub redis: u16,
    pub nginx: u16,
}

#[derive(Debug, PartialEq)]
enum Action {
    Up,
    Down,
    Status,
    Help,
}

#[derive(Debug, PartialEq)]
struct Wanted {
    action: Action,
    dir: Option<std::path::PathBuf>,
    ports: Ports,
    instances: Vec<u16>,
}

fn parse(args: Vec<String>) -> Result<Wanted, String> {
    let mut wanted = Wanted {
        action: Action::Status,
        dir: None,
        ports: DEFAULT_PORTS,
        instances: INSTANCE_PORTS.to_vec(),
    };
    let mut args = args.into_iter();
    let mut action = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => action = Some(Action::Help),
            "--dir" => {
                let dir = args.next().ok_or("--dir needs a folder")?;
                wanted.dir = Some(dir.into());
            }
            "--instances" => {
                let list = args.next().unwrap_or_default();
                wanted.instances = port_list(&list);
                if wanted.instances.is_empty() {
                    return Err(format!(
                        "--instances needs ports, e.g. 5011,5012,5013, not {list:?}"
                    ));
                }
            }
            "--ports" => {
                let list = args.next().unwrap_or_default();
                let ports = port_list(&list);
                let [postgres, redis, nginx] = ports[..] else {
                    return Err(format!(
                        "--ports needs three ports, PG,REDIS,NGINX (e.g. 5433,6380,5010), not {list:?}"
                    ));
                };
                wanted.ports = Ports {
                    postgres,
                    redis,
                    nginx,
                };
            }
            word if action.is_none() && !word.starts_with('-') => {
                action = Some(match word {
                    "up" => Action::Up,
                    "down" => Action::Down,
                    "status" => Action::Status,
                    _ => return Err(format!("unknown command {word:?}\n\n{USAGE}")),
                });
            }
            _ => return Err(format!("unexpected {arg:?}\n\n{USAGE}")),
        }
    }
    if let Some(action) = action {
        wanted.action = action;
    }
    Ok(wanted)
}

/// "5011,5012" as ports; empty if any is not a port.
fn port_list(list: &str) -> Vec<u16> {
    let ports: Vec<u16> = list
        .split(',')
        .filter_map(|port| port.trim().parse().ok())
        .filter(|&port| port > 0)
        .collect();
    if ports.len() == list.split(',').count() {
        ports
    } else {
        Vec::new()
    }
}

#[cfg(not(unix))]
pub fn main(args: Vec<String>) -> Result<(), String> {
    if parse(args)?.action == Action::Help {
        print!("{USAGE}");
        return Ok(());
    }
    Err("scripts/services runs Debian's PostgreSQL, Redis and nginx: on Linux (or WSL) only".into())
}

#[cfg(unix)]
pub use unix::main;

#[cfg(unix)]
mod unix {
    use std::net::SocketAddr;
    use std::path::Path;
    use std::time::Instant;

    use shared::services::{Error, Folder, Kind, NGINX_SITE, Running, database_url, redis_url};

    use super::{Action, Ports, USAGE, parse};
    use crate::steps;

    pub fn main(args: Vec<String>) -> Result<(), String> {
        let wanted = parse(args)?;
        let root = steps::workspace_root();
        let dir = wanted.dir.unwrap_or_else(|| root.join(".services"));
        let folder = Folder::new(dir);
        match wanted.action {
            Action::Help => {
                print!("{USAGE}");
                Ok(())
            }
            Action::Up => up(&folder, wanted.ports, &wanted.instances, &root),
            Action::Down => down(&folder),
            Action::Status => status(&folder, &root),
        }
    }

    fn up(folder: &Folder, ports: Ports, instances: &[u16], root: &Path) -> Result<(), String> {
        // Every missing package in one line, before anything starts.
        let missing: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|kind| kind.binary().is_err())
            .collect();
        if !missing.is_empty() {
            let titles: Vec<&str> = missing.iter().map(|kind| kind.title()).collect();
            let packages: Vec<&str> = missing.iter().map(|kind| kind.package()).collect();
            let (last, others) = titles.split_last().unwrap_or((&"", &[]));
            let who = match others {
                [] => format!("{last} is"),
                _ => format!("{} and {last} are", others.join(", ")),
            };
            return Err(format!(
                "{who} not installed (install with: apt install {})",
                packages.join(" ")
            ));
        }
        let instances: Vec<SocketAddr> = instances
            .iter()
            .map(|&port| SocketAddr::from(([127, 0, 0, 1], port)))
            .collect();
        let started = Instant::now();
        for kind in Kind::ALL {
            if let Some(running) = folder.running(kind) {
                println!("{}  (already running)", line(folder, &running));
                continue;
            }
            let result = match kind {
                Kind::Postgres => folder.start_postgres(ports.postgres),
                Kind::Redis => folder.start_redis(ports.redis),
                Kind::Nginx => folder.start_nginx(ports.nginx, &instances, &root.join(NGINX_SITE)),
            };
            match result {
                Ok(running) => println!("{}", line(folder, &running)),
                Err(error @ Error::Missing(_)) => return Err(error.to_string()),
                Err(Error::Failed(why)) => {
                    return Err(format!(
                        "{why}\n(what runs: scripts/services status; scripts/services down stops it)"
                    ));
                }
            }
        }
        println!(
            "up in {:.1} s, in {}; scripts/services down stops them",
            started.elapsed().as_secs_f64(),
            shown(&folder.dir, root)
        );
        if let Some(pg) = folder.running(Kind::Postgres)
            && let Ok(data) = folder.postgres_data(pg.port)
            && !data.starts_with(&folder.dir)
        {
            println!(
                "PostgreSQL's data is in {} (the user postgres, which runs it for root, \
                 cannot reach {})",
                data.display(),
                folder.dir.display()
            );
        }
        urls(folder);
        Ok(())
    }

    fn status(folder: &Folder, root: &Path) -> Result<(), String> {
        let mut any = false;
        for kind in Kind::ALL {
            match folder.running(kind) {
                Some(running) => {
                    any = true;
                    println!("{}", line(folder, &running));
                }
                None => println!("{:<10}  stopped", kind.title()),
            }
        }
        if any {
            println!(
                "in {}; scripts/services down stops them",
                shown(&folder.dir, root)
            );
            urls(folder);
        } else {
            println!("scripts/services up starts them");
        }
        Ok(())
    }

    fn down(folder: &Folder) -> Result<(), String> {
        // nginx first, PostgreSQL last: the way requests go.
        for kind in Kind::ALL.into_iter().rev() {
            let started = Instant::now();
            match folder.stop(kind)? {
                Some(pid) => println!(
                    "{:<10}  stopped (pid {pid}, {:.1} s)",
                    kind.title(),
                    started.elapsed().as_secs_f64()
                ),
                None => println!("{:<10}  was not running", kind.title()),
            }
        }
        Ok(())
    }

    /// "PostgreSQL  runs on 127.0.0.1:5433  (pid 1234)"
    fn line(folder: &Folder, running: &Running) -> String {
        let what = match running.kind {
            Kind::Nginx => {
                let upstreams = folder.nginx_upstreams();
                let ports: Vec<String> = upstreams.iter().map(|a| a.port().to_string()).collect();
                format!("  -> instances on {} ({NGINX_SITE})", ports.join(", "))
            }
            _ => String::new(),
        };
        format!(
            "{:<10}  runs on 127.0.0.1:{}  (pid {}){what}",
            running.kind.title(),
            running.port,
            running.pid
        )
    }

    /// What a step from s22 on is given, for the servers that run.
    fn urls(folder: &Folder) {
        if let Some(pg) = folder.running(Kind::Postgres) {
            println!("  DATABASE_URL={}", database_url(pg.port));
        }
        if let Some(redis) = folder.running(Kind::Redis) {
            println!("  REDIS_URL={}", redis_url(redis.port));
        }
        if let Some(nginx) = folder.running(Kind::Nginx) {
            println!("  http://127.0.0.1:{}  (nginx)", nginx.port);
        }
    }

    /// `path` relative to the workspace when it is inside it.
    fn shown(path: &Path, root: &Path) -> String {
        path.strip_prefix(root)
            .map(|inside| format!("{}/", inside.display()))
            .unwrap_or_else(|_| path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_command_line_is_read() {
        assert_eq!(parse(args("")).unwrap().action, Action::Status);
        let wanted = parse(args("up --dir /tmp/x --ports 1,2,3")).unwrap();
        assert_eq!(wanted.action, Action::Up);
        assert_eq!(wanted.dir, Some("/tmp/x".into()));
        assert_eq!(
            wanted.ports,
            Ports {
                postgres: 1,
                redis: 2,
                nginx: 3
            }
        );
        assert!(
            parse(args("up --ports 1,2"))
                .unwrap_err()
                .contains("three ports")
        );
        assert_eq!(parse(args("up")).unwrap().instances, INSTANCE_PORTS);
        let wanted = parse(args("up --instances 7001,7002")).unwrap();
        assert_eq!(wanted.instances, [7001, 7002]);
        assert!(
            parse(args("up --instances 7001,x"))
                .unwrap_err()
                .contains("--instances")
        );
        assert!(
            parse(args("start"))
                .unwrap_err()
                .contains("unknown command")
        );
    }
}
