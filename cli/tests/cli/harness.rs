//! What the registry-command tests share: a `strata serve` on a temp SQLite database, stopped
//! on drop; running `strata` in a temp directory with outputs normalised (the registry's URL
//! becomes `<REGISTRY>`, the temp directory `<TMP>`); golden files under `golden/`
//! (`UPDATE_GOLDEN=1` rewrites them).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::serve::{free_port, spawn_serve_on_any_port};

/// A running `strata serve`.
pub struct Registry {
    pub url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (child, port) =
            spawn_serve_on_any_port(&format!("sqlite://{}/r.db", dir.path().display()));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "strata serve did not come up on {port}"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
        Registry {
            url: format!("http://127.0.0.1:{port}"),
            child,
            _dir: dir,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one run of `strata` produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Assert the exit code, showing the outputs when it differs.
    #[track_caller]
    pub fn expect(self, code: i32, what: &str) -> Self {
        assert_eq!(
            self.code, code,
            "{what}: exit {} \nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }

    /// `strata ARGS --log-dir DIR`: a bundled-broker command on the log in `dir`, with no
    /// STRATA_OUTPUT or STRATA_LOG_DIR from the environment.
    pub fn on_log_dir(dir: &Path, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(args)
            .arg("--log-dir")
            .arg(dir)
            .env_remove("STRATA_OUTPUT")
            .env_remove("STRATA_LOG_DIR")
            .output()
            .expect("strata runs");
        Run {
            code: out.status.code().expect("exit code"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A temp working directory to run `strata` in, against one registry.
pub struct Workdir {
    pub dir: tempfile::TempDir,
    pub registry: String,
}

impl Workdir {
    pub fn new(registry: &Registry) -> Self {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
            registry: registry.url.clone(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&p, text).expect("write file");
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).expect("read file")
    }

    /// `strata ARGS` here, the registry given by STRATA_REGISTRY_URL (as CI would), no user
    /// config file.
    pub fn strata(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(args)
            .current_dir(self.path())
            .env("STRATA_REGISTRY_URL", &self.registry)
            .env("XDG_CONFIG_HOME", self.path().join("no-config"))
            .env_remove("STRATA_CONFIG")
            .env_remove("STRATA_OUTPUT")
            .output()
            .expect("strata runs");
        Run {
            code: out.status.code().expect("exit code"),
            stdout: self.normalise(&String::from_utf8_lossy(&out.stdout)),
            stderr: self.normalise(&String::from_utf8_lossy(&out.stderr)),
        }
    }

    fn normalise(&self, s: &str) -> String {
        let tmp = self.path().display().to_string();
        s.replace(&self.registry, "<REGISTRY>")
            .replace(&tmp, "<TMP>")
    }
}

/// Compare with `golden/NAME`, or write it with UPDATE_GOLDEN=1.
#[track_caller]
pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("golden dir");
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(
        actual,
        expected,
        "output differs from {} (UPDATE_GOLDEN=1 rewrites it)",
        path.display()
    );
}

pub const ADDRESS: &str = r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"street","type":"string"}]}"#;
pub const ORDER: &str = r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"long"},{"name":"to","type":"com.acme.Address"}]}"#;
pub const ORDER_V2: &str = r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"long"},{"name":"to","type":"com.acme.Address"},{"name":"note","type":["null","string"],"default":null}]}"#;
pub const ORDER_BAD: &str = r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"long"},{"name":"to","type":"com.acme.Address"},{"name":"qty","type":"int"}]}"#;
pub const USER_PROTO: &str =
    "syntax = \"proto3\";\npackage acme;\n\nmessage User {\n  int64 id = 1;\n  string name = 2;\n}\n";

/// `strata serve --kafka-listen` (the registry and the Kafka listener) on a temp log directory
/// and SQLite file, killed on drop. The one harness for tests that need the listener.
pub struct KafkaListener {
    child: std::process::Child,
    /// host:port of the Kafka listener.
    pub servers: String,
    /// The registry's URL (`http://127.0.0.1:PORT`).
    pub registry: String,
    /// The log directory it serves.
    pub log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl KafkaListener {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let kafka_port = free_port();
        let log = dir.path().join("log");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("serve")
            .args(["--kafka-listen", &format!("127.0.0.1:{kafka_port}")])
            .env("STRATA_LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "STRATA_DATABASE_URL",
                format!("sqlite://{}/r.db", dir.path().display()),
            )
            .env("STRATA_LOG_DIR", &log)
            .env("STRATA_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("strata serve starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        for p in [kafka_port, port] {
            while std::net::TcpStream::connect(("127.0.0.1", p)).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "strata serve is not up"
                );
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
        }
        KafkaListener {
            child,
            servers: format!("127.0.0.1:{kafka_port}"),
            registry: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        }
    }

    /// Stops `strata serve` with SIGTERM, as a service manager does; its exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM");
        self.child.wait().expect("serve exits")
    }

    /// `strata ARGS --bootstrap-servers ...`.
    pub fn strata(&self, args: &[&str]) -> Run {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(args)
            .args(["--bootstrap-servers", &self.servers])
            .args(["-X", "broker.address.family=v4"])
            .env_remove("STRATA_OUTPUT")
            .env_remove("STRATA_LOG_DIR")
            .output()
            .expect("strata runs");
        Run {
            code: out.status.code().expect("exit code"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Drop for KafkaListener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
