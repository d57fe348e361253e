//! Shared helpers.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use strata_broker::{Broker, BrokerConfig, Consumer, ConsumerRecord, TopicPartition};

/// How long a test waits for something that must happen (records arriving, a rebalance, a
/// child process making progress) before failing. It only bounds how long a broken broker
/// makes a test hang, so it is generous: CI runs the suite on 2 loaded cores, where a step
/// that takes milliseconds alone can take seconds.
pub const PATIENCE: Duration = Duration::from_secs(60);

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

/// Polls `tp` (assigned to `consumer`) until its position reaches `end`, the log end read
/// before: every record the log holds up to there, however long a loaded machine takes, and
/// without waiting for records that are not there (a compacted or gapped log holds fewer
/// records than offsets). Panics after [`PATIENCE`].
pub fn poll_to_end(consumer: &Consumer, tp: &TopicPartition, end: i64) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + PATIENCE;
    let mut out = Vec::new();
    while consumer.position(tp).unwrap() < end {
        assert!(
            Instant::now() < deadline,
            "read {} records but not up to offset {end} of {tp:?}",
            out.len()
        );
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
