//! Shared helpers.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use strata_broker::{Broker, BrokerConfig, Consumer, ConsumerRecord};

/// A broker without the background cleaner (tests run it by hand).
pub fn broker(dir: &Path) -> Broker {
    std::fs::create_dir_all(dir).unwrap();
    Broker::open_with(
        dir,
        BrokerConfig {
            background_cleaner: false,
            ..BrokerConfig::default()
        },
    )
    .unwrap()
}

/// Polls until `n` records arrived or `timeout` passed.
pub fn poll_n(consumer: &Consumer, n: usize, timeout: Duration) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        out.extend(consumer.poll(Duration::from_millis(50)).unwrap());
    }
    out
}

/// Waits for `cond`, checking every few milliseconds; panics with `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Starts this test binary again as a child running `kills::child_entry` in `mode`.
pub fn spawn_child(mode: &str, dir: &Path, extra_env: &[(&str, &str)]) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "kills::child_entry",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("STRATA_BROKER_CHILD", mode)
    .env("STRATA_BROKER_CHILD_DIR", dir)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}
