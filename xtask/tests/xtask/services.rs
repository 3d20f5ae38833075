//! `scripts/services up|status|down` (xtask/src/services.rs), run as the
//! script runs it, on a run folder and ports of the test's own: the three
//! servers really start, answer, and are gone after `down`.

use std::path::Path;
use std::process::Command;

use shared::services::{Kind, http_status_line, port_is_free, postgres_tool, redis_ping};
use shared::testing::missing_tool;

use crate::common::{TempDir, stdout, xtask};

/// `scripts/services ARGS --dir DIR`: its output, which must be a success.
fn services(dir: &Path, args: &[&str]) -> String {
    stdout(
        &xtask("services")
            .args(args)
            .arg("--dir")
            .arg(dir)
            .output()
            .unwrap(),
    )
}

/// Stops whatever a failed test left running (its folder goes after it).
struct Down<'a>(&'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = xtask("services")
            .arg("down")
            .arg("--dir")
            .arg(self.0)
            .output();
    }
}

/// `N` distinct ports that are free right now.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<_> = (0..N)
        .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap())
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

#[test]
fn services_up_starts_the_three_servers_once_and_down_stops_them_by_pid() {
    if let Some(kind) = Kind::ALL.into_iter().find(|kind| kind.binary().is_err()) {
        let missing = shared::services::Error::Missing(kind);
        missing_tool(&format!("{missing}, so scripts/services was NOT tested"));
        return;
    }
    let temp = TempDir::new("services");
    let dir = temp.path();
    let _down = Down(dir);
    let [pg, redis, nginx, instance] = free_ports();
    let ports = format!("{pg},{redis},{nginx}");
    // Not 5011-5013, where a learner's step 23 may run.
    let instances = ["--instances", &instance.to_string()];

    let up = services(dir, &[&["up", "--ports", &ports], &instances[..]].concat());
    for line in [
        format!("PostgreSQL  runs on 127.0.0.1:{pg}"),
        format!("Redis       runs on 127.0.0.1:{redis}"),
        format!("nginx       runs on 127.0.0.1:{nginx}  (pid "),
        format!("-> instances on {instance} (steps/s23/nginx.conf)"),
        format!("DATABASE_URL=postgres://postgres@127.0.0.1:{pg}/chat"),
        format!("REDIS_URL=redis://127.0.0.1:{redis}"),
    ] {
        assert!(up.contains(&line), "{line:?} missing in:\n{up}");
    }

    // PostgreSQL answers a query in the database chat, over TCP.
    let psql = Command::new(postgres_tool("psql").unwrap())
        .arg(format!("postgres://postgres@127.0.0.1:{pg}/chat"))
        .args(["-tAc", "SELECT current_database()"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&psql.stdout).trim(),
        "chat",
        "{}",
        String::from_utf8_lossy(&psql.stderr)
    );
    assert_eq!(redis_ping(redis).unwrap(), "+PONG");
    // No instance runs behind nginx: its own 502 proves it runs.
    let status = http_status_line(nginx).unwrap();
    assert!(status.contains(" 502 "), "{status}");

    let pid = |name: &str| -> u32 {
        let file = dir.join(format!("{name}.pid"));
        std::fs::read_to_string(&file)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let pids = [pid("postgres"), pid("redis"), pid("nginx")];

    // A second `up` starts nothing new.
    let again = services(dir, &[&["up", "--ports", &ports], &instances[..]].concat());
    assert_eq!(again.matches("(already running)").count(), 3, "{again}");
    assert_eq!([pid("postgres"), pid("redis"), pid("nginx")], pids);

    let status = services(dir, &["status"]);
    assert_eq!(status.matches(" runs on ").count(), 3, "{status}");

    let down = services(dir, &["down"]);
    for pid in pids {
        assert!(down.contains(&format!("stopped (pid {pid},")), "{down}");
        // A process that has exited, even one not yet reaped, has no
        // executable any more.
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"));
        assert!(exe.is_err(), "pid {pid} still runs {exe:?}");
    }
    for port in [pg, redis, nginx] {
        assert!(port_is_free(port), "port {port} still taken");
    }
    let status = services(dir, &["status"]);
    assert_eq!(status.matches(" stopped").count(), 3, "{status}");
}
