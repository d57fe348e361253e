//! Re-reading the users file on SIGHUP and when it changes (its modification time or size,
//! polled every [`POLL_INTERVAL`], as Karapace watches its file). Connections are not
//! dropped: requests in flight keep the file they started with, the next ones see the new one.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::Authenticator;

/// How often the users file's metadata is checked for a change.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

fn stamp(authenticator: &Authenticator) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(authenticator.path()).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reload on each SIGHUP (when `sighup` is given) and on each change of the file, until
/// the task is aborted.
pub async fn watch(
    authenticator: Arc<Authenticator>,
    #[cfg(unix)] mut sighup: Option<tokio::signal::unix::Signal>,
    #[cfg(not(unix))] _sighup: Option<()>,
) {
    let mut last = stamp(&authenticator);
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let hangup = async {
            match sighup.as_mut() {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = hangup => {
                tracing::info!("SIGHUP received, reloading the users file");
                authenticator.reload_and_log();
                last = stamp(&authenticator);
            }
            _ = tick.tick() => {
                let now = stamp(&authenticator);
                if now.is_some() && now != last {
                    tracing::info!("the users file changed, reloading it");
                    authenticator.reload_and_log();
                    last = now;
                }
            }
        }
    }
}
