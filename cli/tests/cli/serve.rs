//! `strata serve`: start-up, configuration through the environment, clean shutdown, and a
//! SIGKILL in the middle of registrations.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A loopback port free right now, for a `strata serve` child to listen on. Never the same
/// port twice in this process: the port is not held until the child binds it, and another
/// bind to port 0 in the meantime (a test running in parallel) may be given it again.
pub(crate) fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        if HANDED_OUT.lock().expect("port set").insert(port) {
            return port;
        }
    }
}

/// `strata serve` on a port of its own choosing (`127.0.0.1:0`), and that port, read from its
/// "strata registry listening" log line: no window between picking a free port and binding it
/// in which another test can take it. Its stderr is read to the end, so it never blocks on a
/// full pipe.
pub(crate) fn spawn_serve_on_any_port(db: &str) -> (Child, u16) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("serve")
        .env("STRATA_LISTEN", "127.0.0.1:0")
        .env("STRATA_DATABASE_URL", db)
        .env("STRATA_LOG", "warn,strata::serve=info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strata serve starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut log = String::new();
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let port = line
                .split_once("strata registry listening address=127.0.0.1:")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .and_then(|p| p.parse::<u16>().ok());
            match (port, tx.take()) {
                (Some(port), Some(tx)) => {
                    let _ = tx.send(Ok(port));
                }
                (_, t) => {
                    tx = t;
                    if tx.is_some() {
                        log.push_str(&line);
                        log.push('\n');
                    }
                }
            }
        }
        // Exited (or closed stderr) before saying where it listens.
        if let Some(tx) = tx {
            let _ = tx.send(Err(log));
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(port)) => (child, port),
        Ok(Err(log)) => panic!("strata serve stopped before listening:\n{log}"),
        Err(_) => panic!("strata serve did not say where it listens within 60 s"),
    }
}

pub(crate) async fn wait_up(base: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client.get(format!("{base}/")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("strata serve did not come up at {base}");
}

fn schema(i: usize) -> String {
    json!({"type": "record", "name": "K", "fields": [{"name": format!("f{i}"), "type": "long"}]})
        .to_string()
}

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, port) =
        spawn_serve_on_any_port(&format!("sqlite://{}/r.db", dir.path().display()));
    wait_up(&format!("http://127.0.0.1:{port}")).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("serve exits");
    assert!(exit.success(), "exit status after SIGTERM: {exit:?}");
}

#[tokio::test]
async fn a_killed_server_loses_no_acknowledged_registration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/r.db", dir.path().display());
    let (mut child, port) = spawn_serve_on_any_port(&db);
    let base = format!("http://127.0.0.1:{port}");
    wait_up(&base).await;

    // Register in a loop (each schema in its own subject, 4 concurrent writers) and SIGKILL
    // the server while requests are in flight.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, i64)>::new()));
    let mut writers = Vec::new();
    for w in 0..4 {
        let base = base.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for i in 0..10_000 {
                let subject = format!("kill-{w}-{i}");
                let resp = client
                    .post(format!("{base}/subjects/{subject}/versions"))
                    .header("Content-Type", "application/json")
                    .body(json!({"schema": schema(w * 100_000 + i)}).to_string())
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().is_success() => {
                        let body: Value = r.json().await.expect("json");
                        let id = body["id"].as_i64().expect("id");
                        acknowledged.lock().expect("lock").push((subject, id));
                    }
                    _ => break,
                }
            }
        }));
    }
    while acknowledged.lock().expect("lock").len() < 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    for w in writers {
        w.await.expect("writer");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(acknowledged.len() >= 50);

    // Restart over the same file: every acknowledged registration is there, with its id.
    let (mut child, port) = spawn_serve_on_any_port(&db);
    let base = format!("http://127.0.0.1:{port}");
    wait_up(&base).await;
    let client = reqwest::Client::new();
    let mut ids = std::collections::HashSet::new();
    for (subject, id) in &acknowledged {
        let body: Value = client
            .get(format!("{base}/subjects/{subject}/versions/1"))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(
            body["id"].as_i64(),
            Some(*id),
            "{subject} after the kill: {body}"
        );
        assert!(ids.insert(*id), "id {id} given twice");
    }
    // And the registry still takes writes, with a fresh id.
    let body: Value = client
        .post(format!("{base}/subjects/after-kill/versions"))
        .header("Content-Type", "application/json")
        .body(json!({"schema": schema(999_999_999)}).to_string())
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let new_id = body["id"].as_i64().expect("id");
    assert!(!ids.contains(&new_id));
    child.kill().expect("kill");
    child.wait().expect("reaped");
}

/// `strata serve` with a storage URL it refuses, its stderr a pipe or (through `script`) a
/// terminal; what it wrote there.
fn failing_serve_stderr(terminal: bool, no_color: Option<&str>) -> String {
    let bin = env!("CARGO_BIN_EXE_strata");
    let mut cmd = if terminal {
        let mut c = Command::new("script");
        c.args(["-q", "-e", "-c", &format!("{bin} serve"), "/dev/null"])
            .env("SHELL", "/bin/sh");
        c
    } else {
        let mut c = Command::new(bin);
        c.arg("serve");
        c
    };
    cmd.env("STRATA_DATABASE_URL", "bogus://nowhere")
        .env("STRATA_LISTEN", "127.0.0.1:0")
        .env("STRATA_LOG", "info")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd.output().expect("strata serve runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("bogus"), "the error is shown: {text}");
    text
}

#[test]
fn server_logs_are_coloured_only_on_a_terminal_and_never_with_no_color() {
    let piped = failing_serve_stderr(false, None);
    assert!(!piped.contains('\x1b'), "a pipe gets plain text: {piped:?}");
    let terminal = failing_serve_stderr(true, None);
    assert!(
        terminal.contains("\x1b["),
        "a terminal gets colour: {terminal:?}"
    );
    let no_color = failing_serve_stderr(true, Some("1"));
    assert!(
        !no_color.contains('\x1b'),
        "NO_COLOR turns colour off: {no_color:?}"
    );
}
