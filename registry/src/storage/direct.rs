//! A pool of PostgreSQL connections for the registration statements, one round trip each.
//!
//! Why not sqlx's pool for these: sqlx 0.8 pings a connection when it hands it out
//! (`test_before_acquire`) and again, unconditionally, when it takes it back, so every query
//! through it costs three round trips, each a send, a receive and a wake-up on both sides. On a
//! two-core machine that was a fifth of a registration's CPU. This pool pings never. Instead it
//! trusts a connection only while every use of it ended cleanly, and it recovers from a
//! restarted or failed database by the error itself:
//!
//! - A connection goes back to the idle list only when the operation completed, with a result
//!   or with an error the database answered (a unique violation leaves the connection usable).
//!   A cancelled operation (the request timed out, the client went away) or a failure of the
//!   connection drops it.
//! - A connection failure (I/O, protocol, SQLSTATE class 08, or 57P01–57P03: the server shut
//!   down or restarted) empties the idle list, since a restart has killed every connection in
//!   it, and the operation runs once more on a new connection. Only statements that may run
//!   twice are given to [`DirectPool::rows`]: a registration that committed before its answer
//!   was lost finds its content registered and answers it as Confluent answers a repeated
//!   registration.
//!
//! Bounded like sqlx's pool: at most `max` connections, opened on demand, and a caller waits at
//! most [`ACQUIRE_TIMEOUT`] for one; like sqlx's defaults, a connection idle for
//! [`IDLE_TIMEOUT`] or open for [`MAX_LIFETIME`] is closed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyConnection, Connection};
use tokio::sync::{Semaphore, SemaphorePermit};

/// A statement with its parameters, on the Any driver.
pub type AnyQuery<'q> = sqlx::query::Query<'q, Any, AnyArguments<'q>>;

/// How long a caller waits for a connection (sqlx's pool default).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// An idle connection is closed after this long unused (sqlx's pool default).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// A connection is closed once it has been open this long (sqlx's pool default), so that a
/// server process's caches do not grow for ever.
pub const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A connection waiting to be handed out.
struct Idle {
    conn: AnyConnection,
    opened: Instant,
    since: Instant,
}

/// When connections are closed: [`IDLE_TIMEOUT`] and [`MAX_LIFETIME`] but in tests.
#[derive(Debug, Clone, Copy)]
struct Expiry {
    idle: Duration,
    lifetime: Duration,
}

impl Expiry {
    fn expired(&self, entry: &Idle, now: Instant) -> bool {
        now.duration_since(entry.since) >= self.idle
            || now.duration_since(entry.opened) >= self.lifetime
    }
}

/// Connections opened on demand, handed out without a ping.
pub struct DirectPool {
    url: String,
    /// Most recently used last: a connection is taken from the end, and the longest idle ones
    /// at the front are the first to expire.
    idle: Mutex<Vec<Idle>>,
    permits: Semaphore,
    max: usize,
    expiry: Expiry,
    closed: AtomicBool,
    /// Shared with the sqlx pool: every connection taken is counted.
    acquires: Arc<AtomicU64>,
}

impl std::fmt::Debug for DirectPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (in_use, idle) = self.usage();
        f.debug_struct("DirectPool")
            .field("max", &self.max)
            .field("in_use", &in_use)
            .field("idle", &idle)
            .finish()
    }
}

/// Whether `e` means the connection cannot be trusted any more (rather than the database
/// refusing one statement on a healthy connection).
pub fn is_connection_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

impl DirectPool {
    /// A pool of at most `max` connections to `url`, none opened yet. `acquires` counts each
    /// connection taken.
    pub fn new(url: &str, max: usize, acquires: Arc<AtomicU64>) -> Self {
        DirectPool {
            url: url.to_string(),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(max),
            max,
            expiry: Expiry {
                idle: IDLE_TIMEOUT,
                lifetime: MAX_LIFETIME,
            },
            closed: AtomicBool::new(false),
            acquires,
        }
    }

    /// Connections: (in use, idle).
    pub fn usage(&self) -> (u32, usize) {
        let in_use = self.max - self.permits.available_permits();
        (
            u32::try_from(in_use).unwrap_or(u32::MAX),
            self.idle.lock().len(),
        )
    }

    /// Close the idle connections and refuse new work.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock());
        for entry in idle {
            let _ = entry.conn.close().await;
        }
    }

    /// The rows of the statement `sql` with `bind`'s parameters; run once more on a new
    /// connection when the first failed as a connection (see the module doc: the statement
    /// must be safe to run twice).
    pub async fn rows<'q>(
        &self,
        sql: &'q str,
        bind: impl Fn(AnyQuery<'q>) -> AnyQuery<'q>,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let mut retried = false;
        loop {
            let mut lease = self.acquire().await?;
            let result = match lease.conn.as_mut() {
                Some(conn) => bind(sqlx::query(sql)).fetch_all(conn).await,
                None => Err(sqlx::Error::PoolClosed), // a lease holds its connection until dropped
            };
            match result {
                Err(e) if is_connection_error(&e) => {
                    // `lease` drops the connection; the idle ones are suspect too.
                    drop(std::mem::take(&mut *self.idle.lock()));
                    if retried {
                        return Err(e);
                    }
                    retried = true;
                    tracing::info!(error = %e, "a database connection failed; retrying on a new one");
                }
                other => {
                    lease.clean = true;
                    return other;
                }
            }
        }
    }

    async fn acquire(&self) -> Result<Lease<'_>, sqlx::Error> {
        let permit = match tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_closed)) => return Err(sqlx::Error::PoolClosed),
            Err(_elapsed) => return Err(sqlx::Error::PoolTimedOut),
        };
        if self.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed);
        }
        let idle = self.idle.lock().pop();
        let (conn, opened) = match idle {
            Some(entry) if !self.expiry.expired(&entry, Instant::now()) => {
                (entry.conn, entry.opened)
            }
            expired => {
                if let Some(entry) = expired {
                    close_later(entry.conn);
                }
                (AnyConnection::connect(&self.url).await?, Instant::now())
            }
        };
        self.acquires.fetch_add(1, Ordering::Relaxed);
        Ok(Lease {
            pool: self,
            conn: Some(conn),
            opened,
            clean: false,
            _permit: permit,
        })
    }
}

/// A connection on loan; back to the idle list on drop only when `clean`.
struct Lease<'p> {
    pool: &'p DirectPool,
    conn: Option<AnyConnection>,
    opened: Instant,
    clean: bool,
    _permit: SemaphorePermit<'p>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !self.clean || self.pool.closed.load(Ordering::Acquire) {
            // Mid-statement, failed, or the pool is closing: dropping the connection closes its
            // socket.
            return;
        }
        let now = Instant::now();
        let mut expired = Vec::new();
        {
            let mut idle = self.pool.idle.lock();
            idle.push(Idle {
                conn,
                opened: self.opened,
                since: now,
            });
            while idle
                .first()
                .is_some_and(|entry| self.pool.expiry.expired(entry, now))
            {
                expired.push(idle.remove(0).conn);
            }
        }
        for conn in expired {
            close_later(conn);
        }
    }
}

/// Close a healthy connection politely (a Terminate message, so the server logs no error), off
/// the caller's path.
fn close_later(conn: AnyConnection) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = conn.close().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;
    use strata_e2e::postgres::TestPostgres;

    fn pool(url: &str, max: usize) -> DirectPool {
        sqlx::any::install_default_drivers();
        DirectPool::new(url, max, Arc::new(AtomicU64::new(0)))
    }

    async fn backend_pid(pool: &DirectPool) -> Result<i32, sqlx::Error> {
        let rows = pool.rows("SELECT pg_backend_pid() AS pid", |q| q).await?;
        rows[0].try_get("pid")
    }

    #[tokio::test]
    async fn a_connection_is_reused_after_success_and_after_an_error_the_database_answered() {
        let pg = TestPostgres::get();
        let pool = pool(&pg.fresh_database_url(), 4);
        let first = backend_pid(&pool).await.expect("query");
        assert_eq!(pool.usage(), (0, 1));
        let Err(err) = pool.rows("SELECT 1 / 0 AS x", |q| q).await else {
            panic!("a division by zero succeeded");
        };
        assert!(!is_connection_error(&err), "{err}");
        assert_eq!(backend_pid(&pool).await.expect("query"), first);
        assert_eq!(pool.usage(), (0, 1));
        assert_eq!(pool.acquires.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_cancelled_statement_drops_its_connection() {
        let pg = TestPostgres::get();
        let pool = pool(&pg.fresh_database_url(), 4);
        let first = backend_pid(&pool).await.expect("query");
        let slow = pool.rows("SELECT pg_sleep(5)", |q| q);
        assert!(
            tokio::time::timeout(Duration::from_millis(200), slow)
                .await
                .is_err(),
            "the sleep was cut short"
        );
        // The connection was mid-statement: it is not handed out again.
        assert_eq!(pool.usage(), (0, 0));
        assert_ne!(backend_pid(&pool).await.expect("query"), first);
    }

    #[tokio::test]
    async fn after_the_database_restarts_a_statement_runs_on_a_new_connection() {
        let pg = TestPostgres::dedicated();
        let pool = pool(&pg.fresh_database_url(), 4);
        // Two idle connections, both killed by the restart.
        let (a, b) = tokio::join!(
            pool.rows("SELECT pg_sleep(0.2)", |q| q),
            pool.rows("SELECT pg_sleep(0.2)", |q| q)
        );
        a.expect("query");
        b.expect("query");
        assert_eq!(pool.usage(), (0, 2));
        let pg = tokio::task::spawn_blocking(move || {
            pg.restart().expect("postgres restarts");
            pg
        })
        .await
        .expect("restart task");
        // The first connection fails; the idle list is emptied and the statement runs again on
        // a new connection, so no caller sees the restart.
        backend_pid(&pool).await.expect("query after the restart");
        assert_eq!(pool.usage(), (0, 1));
        backend_pid(&pool).await.expect("another query");
        drop(pg);
    }

    #[tokio::test]
    async fn a_connection_idle_too_long_or_open_too_long_is_replaced() {
        let pg = TestPostgres::get();
        let url = pg.fresh_database_url();
        let mut idle = pool(&url, 2);
        idle.expiry = Expiry {
            idle: Duration::from_millis(300),
            lifetime: Duration::from_secs(3600),
        };
        let first = backend_pid(&idle).await.expect("query");
        assert_eq!(backend_pid(&idle).await.expect("query"), first);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_ne!(backend_pid(&idle).await.expect("query"), first);
        assert_eq!(idle.usage(), (0, 1));

        let mut old = pool(&url, 2);
        old.expiry = Expiry {
            idle: Duration::from_secs(3600),
            lifetime: Duration::from_millis(300),
        };
        let first = backend_pid(&old).await.expect("query");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_ne!(backend_pid(&old).await.expect("query"), first);
    }

    #[tokio::test]
    async fn a_closed_pool_refuses_work() {
        let pg = TestPostgres::get();
        let pool = pool(&pg.fresh_database_url(), 2);
        backend_pid(&pool).await.expect("query");
        pool.close().await;
        assert_eq!(pool.usage(), (0, 0));
        assert!(matches!(
            backend_pid(&pool).await,
            Err(sqlx::Error::PoolClosed)
        ));
    }
}
