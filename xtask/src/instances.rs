//! `scripts/switch 23`: a step that tells its instances about new messages
//! through Redis runs as several instances behind the nginx of
//! `scripts/services up`, one on each port nginx sends requests to
//! (5011, 5012, 5013), all on its PostgreSQL and its Redis. The class opens
//! nginx's address, http://127.0.0.1:5010.
//!
//! They are the class's server: one record, `.switch/server.json`, lists
//! them (`instances`, and nginx's port), so that `switch stop` and the next
//! switch stop all of them. Each writes its own log,
//! `.switch/instance-<port>.log`; `switch logs` follows them all, each line
//! marked with its instance's port.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::process;
use crate::steps::Step;
use crate::switch::{Places, Server, log_tail, port_is_taken, wait_until_it_answers};

/// A server that runs as several instances behind nginx (step 23 on).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BehindNginx {
    /// nginx's port: the address the class opens.
    pub(crate) nginx: u16,
    pub(crate) instances: Vec<Instance>,
}

/// One instance: its process and its port.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Instance {
    pub(crate) pid: u32,
    pub(crate) port: u16,
}

impl BehindNginx {
    pub(crate) fn to_json(&self) -> Value {
        let instances: Vec<Value> = self
            .instances
            .iter()
            .map(|i| json!({ "pid": i.pid, "port": i.port }))
            .collect();
        json!({ "nginx": self.nginx, "instances": instances })
    }

    pub(crate) fn from_json(v: &Value) -> Option<BehindNginx> {
        let instances = v["instances"]
            .as_array()?
            .iter()
            .map(|i| {
                Some(Instance {
                    pid: i["pid"].as_u64()?.try_into().ok()?,
                    port: i["port"].as_u64()?.try_into().ok()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(BehindNginx {
            nginx: v["nginx"].as_u64()?.try_into().ok()?,
            instances,
        })
    }

    /// "5011, 5012, 5013"
    pub(crate) fn ports(&self) -> String {
        let ports: Vec<String> = self.instances.iter().map(|i| i.port.to_string()).collect();
        ports.join(", ")
    }

    /// The instances that still run `binary`.
    pub(crate) fn running(&self, binary: &Path) -> Vec<Instance> {
        let alive = |i: &&Instance| process::runs(i.pid, binary);
        self.instances.iter().filter(alive).copied().collect()
    }

    /// Stops them all at once (each finishes its requests, closes its
    /// WebSockets), rather than one after the other.
    pub(crate) fn stop(&self, binary: &Path) -> Result<(), String> {
        std::thread::scope(|scope| {
            let stopping: Vec<_> = self
                .instances
                .iter()
                .map(|i| scope.spawn(move || process::stop(i.pid, binary)))
                .collect();
            stopping.into_iter().try_for_each(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("stopping panicked".into()))
            })
        })
    }
}

/// Does `step` run as several instances behind nginx? Its Cargo.toml says
/// so: it depends on a Redis client, through which they talk.
pub(crate) fn redis_step(step: &Step) -> bool {
    fs::read_to_string(step.dir.join("Cargo.toml")).is_ok_and(|manifest| {
        manifest
            .lines()
            .any(|line| line.starts_with("redis") || line.starts_with("deadpool-redis"))
    })
}

/// What `scripts/services up` runs, which the instances use.
#[derive(Debug)]
pub(crate) struct Services {
    pub(crate) database_url: String,
    pub(crate) redis_url: String,
    pub(crate) nginx: u16,
    /// The ports nginx sends requests to: one instance on each.
    pub(crate) instance_ports: Vec<u16>,
}

/// The servers of `scripts/services up` in the run folder, or one line
/// saying which do not run and how to start them.
#[cfg(unix)]
pub(crate) fn services(places: &Places, step: &str) -> Result<Services, String> {
    use shared::services::{Kind, database_url, redis_url};
    let folder = places.services();
    let [postgres, redis, nginx] = Kind::ALL.map(|kind| folder.running(kind));
    let missing: Vec<&str> = Kind::ALL
        .iter()
        .zip([&postgres, &redis, &nginx])
        .filter(|(_, running)| running.is_none())
        .map(|(kind, _)| kind.title())
        .collect();
    match (postgres, redis, nginx) {
        (Some(postgres), Some(redis), Some(nginx)) => Ok(Services {
            database_url: database_url(postgres.port),
            redis_url: redis_url(redis.port),
            nginx: nginx.port,
            instance_ports: folder.nginx_upstreams().iter().map(|a| a.port()).collect(),
        }),
        _ => {
            let (last, others) = missing.split_last().unwrap_or((&"", &[]));
            let who = match others {
                [] => format!("{last} is"),
                _ => format!("{} and {last} are", others.join(", ")),
            };
            Err(format!(
                "{step} runs as instances behind nginx, on PostgreSQL and Redis; {who} not \
                 running here: start them with `scripts/services up`, then switch again"
            ))
        }
    }
}

#[cfg(not(unix))]
pub(crate) fn services(_: &Places, step: &str) -> Result<Services, String> {
    Err(format!(
        "{step} runs behind nginx, on PostgreSQL and Redis: on Linux (or WSL) only"
    ))
}

/// Checks that each instance's port is free, or held by `old` (the server
/// about to be stopped).
pub(crate) fn check_ports(
    services: &Services,
    old: Option<&Server>,
    unchanged: &str,
) -> Result<(), String> {
    if services.instance_ports.is_empty() {
        return Err(format!(
            "nginx sends requests to no instance: `scripts/services down`, then `up` ({unchanged})"
        ));
    }
    let taken: Vec<String> = services
        .instance_ports
        .iter()
        .filter(|&&port| !old.is_some_and(|old| old.listens_on(port)) && port_is_taken(port))
        .map(u16::to_string)
        .collect();
    if taken.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the instances' port {} is in use by another program ({unchanged}); \
         to see which: `lsof -i :{}`",
        taken.join(", "),
        taken[0]
    ))
}

/// The command line of an instance.
pub(crate) fn instance_args(port: u16, services: &Services) -> Vec<String> {
    vec![
        "--port".into(),
        port.to_string(),
        "--database-url".into(),
        services.database_url.clone(),
        "--redis-url".into(),
        services.redis_url.clone(),
    ]
}

/// Starts the instances of `template`'s binary, one on each of nginx's
/// ports, and records them as the class's server. The first starts alone
/// (it brings the database's tables up to date), then the others side by
/// side. On a failure, those started are stopped. Answers the server and
/// the first instance's process.
pub(crate) fn start(
    places: &Places,
    template: &Server,
    services: &Services,
) -> Result<(Server, Child), String> {
    let mut server = Server {
        behind_nginx: Some(BehindNginx {
            nginx: services.nginx,
            instances: Vec::new(),
        }),
        ..template.clone()
    };
    let mut children: Vec<Child> = Vec::new();
    let ports = &services.instance_ports;
    let mut started = |ports: &[u16], children: &mut Vec<Child>| -> Result<(), String> {
        for &port in ports {
            let child = spawn(places, &template.binary, port, services)?;
            let behind = server.behind_nginx.as_mut().expect("set above");
            behind.instances.push(Instance {
                pid: child.id(),
                port,
            });
            server.pid = behind.instances[0].pid;
            children.push(child);
            // Recorded at once, so that `switch stop` finds them even if
            // we are interrupted.
            server.save(places)?;
        }
        let waiting = children.iter_mut().rev().take(ports.len());
        for (child, &port) in waiting.zip(ports.iter().rev()) {
            wait_until_it_answers(child, port).map_err(|why| {
                let log = places.instance_log(port);
                format!(
                    "{} did not start on port {port}: {why}. The end of its log ({}):\n{}",
                    template.step,
                    places.shown(&log),
                    log_tail(&log)
                )
            })?;
        }
        Ok(())
    };
    let result =
        started(&ports[..1], &mut children).and_then(|()| started(&ports[1..], &mut children));
    if let Err(why) = result {
        for child in &mut children {
            let _ = child.kill();
            let _ = child.wait();
        }
        Server::forget(places, template.slot);
        return Err(why);
    }
    Ok((server, children.swap_remove(0)))
}

/// Waits (5 s at most) until nginx passes a request on to an instance:
/// one it tried while none was up yet it leaves out for 2 s.
pub(crate) fn wait_for_nginx(nginx: u16) -> Result<(), String> {
    let http = crate::switch::agent(Duration::from_secs(2));
    let url = format!("http://127.0.0.1:{nginx}/api/version");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = http.get(&url).call().map(|reply| reply.status().as_u16());
        match status {
            Ok(status) if status != 502 && status != 504 => return Ok(()),
            _ if Instant::now() > deadline => {
                return Err(format!(
                    "nginx on port {nginx} does not reach the instances ({status:?}): \
                     see .services/nginx.log"
                ));
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Starts one instance on `port`, in the background, its output going to
/// its log.
fn spawn(places: &Places, binary: &Path, port: u16, services: &Services) -> Result<Child, String> {
    let log_path = places.instance_log(port);
    let log = File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let args = instance_args(port, services);
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    process::spawn_detached(binary, &args, &log)
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))
}

/// The logs `switch logs` follows for `server`, each with the mark its
/// lines get: the instances' (`[5011] `), or the server's own log.
pub(crate) fn logs(
    places: &Places,
    server: Option<&Server>,
    own: PathBuf,
) -> Vec<(String, PathBuf)> {
    match server.and_then(|server| server.behind_nginx.as_ref()) {
        Some(behind) => behind
            .instances
            .iter()
            .map(|i| (format!("[{}] ", i.port), places.instance_log(i.port)))
            .collect(),
        None => vec![(String::new(), own)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn behind() -> BehindNginx {
        BehindNginx {
            nginx: 5010,
            instances: vec![
                Instance {
                    pid: 11,
                    port: 5011,
                },
                Instance {
                    pid: 12,
                    port: 5012,
                },
            ],
        }
    }

    #[test]
    fn the_record_of_the_instances_reads_back() {
        let behind = behind();
        assert_eq!(
            BehindNginx::from_json(&behind.to_json()),
            Some(behind.clone())
        );
        assert_eq!(behind.ports(), "5011, 5012");
        assert_eq!(BehindNginx::from_json(&json!({"nginx": 5010})), None);
    }

    #[test]
    fn each_instance_gets_its_port_and_the_services_urls() {
        let services = Services {
            database_url: "postgres://postgres@127.0.0.1:5433/chat".into(),
            redis_url: "redis://127.0.0.1:6380".into(),
            nginx: 5010,
            instance_ports: vec![5011, 5012, 5013],
        };
        assert_eq!(
            instance_args(5012, &services),
            [
                "--port",
                "5012",
                "--database-url",
                "postgres://postgres@127.0.0.1:5433/chat",
                "--redis-url",
                "redis://127.0.0.1:6380"
            ]
        );
        let none = Services {
            instance_ports: vec![],
            ..services
        };
        assert!(
            check_ports(&none, None, "x")
                .unwrap_err()
                .contains("no instance")
        );
    }

    #[test]
    fn a_step_with_a_redis_client_runs_behind_nginx() {
        let dir = std::env::temp_dir().join(format!("xtask-redis-step-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let step = Step {
            name: "s23".into(),
            description: String::new(),
            dir: dir.clone(),
        };
        fs::write(
            dir.join("Cargo.toml"),
            "[dependencies]\nredis.workspace = true\n",
        )
        .unwrap();
        assert!(redis_step(&step));
        fs::write(
            dir.join("Cargo.toml"),
            "[dependencies]\ntokio-postgres = \"0.7\"\n",
        )
        .unwrap();
        assert!(!redis_step(&step));
        let _ = fs::remove_dir_all(&dir);
    }
}
