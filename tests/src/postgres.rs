//! A throwaway PostgreSQL server for tests, or the server named by `TEST_DATABASE_URL`.
//!
//! Without `TEST_DATABASE_URL`, the first call runs `initdb` into a temporary directory and
//! starts `postgres` on a free loopback port (as the `postgres` system user when the tests run
//! as root, since PostgreSQL refuses to run as root). A watchdog shell process stops the server
//! and removes the directory when the test process exits, however it exits. Each caller gets
//! a fresh database of its own, so tests never see each other's data.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The shared server of this test process.
#[derive(Debug)]
pub struct TestPostgres {
    /// `postgres://…/postgres` of the maintenance database.
    admin_url: String,
    /// Data directory (throwaway servers only), for restarts.
    data_dir: Option<PathBuf>,
    bin_dir: Option<PathBuf>,
    port: u16,
}

static SERVER: OnceLock<Result<TestPostgres, String>> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn find_bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        return Some(PathBuf::from(dir));
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    candidates.sort();
    candidates.pop()
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Run a PostgreSQL binary, as the `postgres` user when we are root.
fn pg_command(bin: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: could not run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl TestPostgres {
    /// The shared server (started on first use). Panics with the reason if none can be had:
    /// tests that need PostgreSQL must not silently pass without it.
    pub fn get() -> &'static TestPostgres {
        match SERVER.get_or_init(Self::start) {
            Ok(s) => s,
            Err(e) => panic!(
                "no PostgreSQL for tests: {e}\nSet TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB, or install the server (apt-get install postgresql); scripts/test.sh does that."
            ),
        }
    }

    fn start() -> Result<TestPostgres, String> {
        if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
            return Ok(TestPostgres {
                admin_url: url,
                data_dir: None,
                bin_dir: None,
                port: 0,
            });
        }
        Self::start_throwaway()
    }

    /// A throwaway server of the caller's own (even when `TEST_DATABASE_URL` is set), for
    /// tests that stop and restart it. Panics with the reason if none can be started.
    pub fn dedicated() -> TestPostgres {
        Self::start_throwaway().unwrap_or_else(|e| panic!("no throwaway PostgreSQL: {e}"))
    }

    fn start_throwaway() -> Result<TestPostgres, String> {
        let bin = find_bin_dir().ok_or("initdb not found under /usr/lib/postgresql/*/bin")?;
        let root = is_root();
        // A directory the postgres user can traverse: /tmp itself is world-searchable.
        let base = tempfile::Builder::new()
            .prefix("strata-pg-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("temp dir: {e}"))?
            .keep();
        let data = base.join("data");
        let sock = base.join("sock");
        std::fs::create_dir_all(&sock).map_err(|e| format!("socket dir: {e}"))?;
        if root {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", "postgres:postgres"]).arg(&base);
                    c
                },
                "chown",
            )?;
        }
        let mut initdb = pg_command(&bin.join("initdb"), root);
        initdb
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&data);
        run(initdb, "initdb")?;
        // The port is free when picked but not held: another process (tests run in parallel)
        // may bind it before the server does, which fails the start. Try a few ports.
        let mut attempt = 0;
        let server = loop {
            attempt += 1;
            let port = free_port().map_err(|e| format!("free port: {e}"))?;
            let server = TestPostgres {
                admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                data_dir: Some(data.clone()),
                bin_dir: Some(bin.clone()),
                port,
            };
            match server.pg_ctl_start(&sock) {
                Ok(()) => break server,
                Err(e) if attempt >= 5 => return Err(e),
                Err(_) => {}
            }
        };
        // Watchdog: when this test process exits, stop the server and remove its files.
        let stop = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {runas}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {base}",
            pid = std::process::id(),
            runas = if root { "runuser -u postgres -- " } else { "" },
            pg_ctl = bin.join("pg_ctl").display(),
            data = data.display(),
            base = base.display(),
        );
        Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("watchdog: {e}"))?;
        Ok(server)
    }

    fn pg_ctl_start(&self, sock: &Path) -> Result<(), String> {
        let (Some(bin), Some(data)) = (&self.bin_dir, &self.data_dir) else {
            return Err("not a throwaway server".into());
        };
        let mut start = pg_command(&bin.join("pg_ctl"), is_root());
        start
            .arg("-D")
            .arg(data)
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
                self.port,
                sock.display()
            ))
            // Generous: on 2 loaded cores a start that takes a second alone can take a minute.
            .args(["-w", "-t", "180", "-l"])
            .arg(data.join("../server.log"))
            .arg("start");
        run(start, "pg_ctl start")
    }

    /// Stop the throwaway server (fast shutdown) and start it again on the same port: for
    /// tests of how the registry survives a database restart.
    pub fn restart(&self) -> Result<(), String> {
        let (Some(bin), Some(data)) = (&self.bin_dir, &self.data_dir) else {
            return Err("TEST_DATABASE_URL servers are not restarted by tests".into());
        };
        let mut stop = pg_command(&bin.join("pg_ctl"), is_root());
        stop.arg("-D").arg(data).args(["-m", "fast", "-w", "stop"]);
        run(stop, "pg_ctl stop")?;
        let sock = data.join("../sock");
        self.pg_ctl_start(&sock)
    }

    /// Stop the throwaway server (fast shutdown) until [`TestPostgres::start_again`].
    pub fn stop(&self) -> Result<(), String> {
        let (Some(bin), Some(data)) = (&self.bin_dir, &self.data_dir) else {
            return Err("TEST_DATABASE_URL servers are not stopped by tests".into());
        };
        let mut stop = pg_command(&bin.join("pg_ctl"), is_root());
        stop.arg("-D").arg(data).args(["-m", "fast", "-w", "stop"]);
        run(stop, "pg_ctl stop")
    }

    /// Start a throwaway server stopped by [`TestPostgres::stop`], on the same port.
    pub fn start_again(&self) -> Result<(), String> {
        let Some(data) = &self.data_dir else {
            return Err("TEST_DATABASE_URL servers are not started by tests".into());
        };
        self.pg_ctl_start(&data.join("../sock"))
    }

    /// Whether this server can be restarted by [`TestPostgres::restart`].
    pub fn can_restart(&self) -> bool {
        self.data_dir.is_some()
    }

    /// A URL to a new, empty database on this server.
    pub fn fresh_database_url(&self) -> String {
        let n = NEXT_DB.fetch_add(1, Ordering::SeqCst);
        let name = format!("strata_test_{}_{}", std::process::id(), n);
        let psql = self
            .bin_dir
            .as_ref()
            .map(|b| b.join("psql"))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("psql"));
        let out = Command::new(psql)
            .arg(&self.admin_url)
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "CREATE DATABASE {name} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!("could not run psql: {e}"),
        }
        match self.admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => format!("{}/{name}", self.admin_url),
        }
    }
}
