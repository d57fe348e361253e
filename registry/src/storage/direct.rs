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
//! - A connection failure (I/O, protocol, SQLSTATE class 08 or 57P, any FATAL error: see
//!   [`is_connection_error`]) empties the idle list, since a restart has killed every
//!   connection in it, and the operation runs once more on a new connection. Connections
//!   still on loan then are not taken back either: each connection carries the pool's
//!   generation, which a failure advances. Only statements that may run
//!   twice are given to [`DirectPool::rows`]: a registration that committed before its answer
//!   was lost finds its content registered and answers it as Confluent answers a repeated
//!   registration.
//!
//! Bounded like sqlx's pool: at most `max` connections, opened on demand, and a caller waits at
//! most [`ACQUIRE_TIMEOUT`] for one; like sqlx's defaults, a connection idle for
//! [`IDLE_TIMEOUT`] or open for [`MAX_LIFETIME`] is closed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::postgres::{PgDatabaseError, PgSeverity};
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
    born: Born,
    since: Instant,
}

/// What a connection on loan carries back.
#[derive(Debug, Clone, Copy)]
struct Born {
    opened: Instant,
    /// The pool's generation when it was opened.
    generation: u64,
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
            || now.duration_since(entry.born.opened) >= self.lifetime
    }
}

/// Connections opened on demand, handed out without a ping.
pub struct DirectPool {
    url: String,
    /// Most recently used last: a connection is taken from the end.
    idle: Mutex<Vec<Idle>>,
    permits: Semaphore,
    max: usize,
    expiry: Expiry,
    /// Advanced by every connection failure: a connection opened before is not reused.
    generation: AtomicU64,
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
/// refusing one statement on a healthy connection): an I/O, TLS or protocol failure, SQLSTATE
/// class 08 (connection exception) or 57P (the server shut down, restarted, or ended an idle
/// session), or any error the server sent as FATAL or PANIC, after which it closes the
/// connection.
pub fn is_connection_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let fatal = db
                .try_downcast_ref::<PgDatabaseError>()
                .is_some_and(|pg| matches!(pg.severity(), PgSeverity::Fatal | PgSeverity::Panic));
            fatal
                || db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
        }
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
            generation: AtomicU64::new(0),
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
        let idle = {
            let mut idle = self.idle.lock();
            self.permits.close();
            std::mem::take(&mut *idle)
        };
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
                    // `lease` drops the connection; the idle ones and those on loan are
                    // suspect too.
                    let suspect = {
                        let mut idle = self.idle.lock();
                        self.generation.fetch_add(1, Ordering::AcqRel);
                        std::mem::take(&mut *idle)
                    };
                    drop(suspect);
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

    /// A connection, waiting at most [`ACQUIRE_TIMEOUT`] for a free one and for a new one to
    /// open.
    async fn acquire(&self) -> Result<Lease<'_>, sqlx::Error> {
        match tokio::time::timeout(ACQUIRE_TIMEOUT, self.acquire_unbounded()).await {
            Ok(lease) => lease,
            Err(_elapsed) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    async fn acquire_unbounded(&self) -> Result<Lease<'_>, sqlx::Error> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_closed| sqlx::Error::PoolClosed)?;
        if self.permits.is_closed() {
            return Err(sqlx::Error::PoolClosed);
        }
        let idle = self.idle.lock().pop();
        let (conn, born) = match idle {
            Some(entry) if !self.expiry.expired(&entry, Instant::now()) => (entry.conn, entry.born),
            expired => {
                if let Some(entry) = expired {
                    close_later(entry.conn);
                }
                let born = Born {
                    opened: Instant::now(),
                    generation: self.generation.load(Ordering::Acquire),
                };
                (AnyConnection::connect(&self.url).await?, born)
            }
        };
        self.acquires.fetch_add(1, Ordering::Relaxed);
        Ok(Lease {
            pool: self,
            conn: Some(conn),
            born,
            clean: false,
            _permit: permit,
        })
    }

    /// Close the idle connections that expired (see [`Expiry`]).
    fn prune(&self, now: Instant) {
        let expired: Vec<AnyConnection> = {
            let mut idle = self.idle.lock();
            let (keep, expired): (Vec<Idle>, Vec<Idle>) = std::mem::take(&mut *idle)
                .into_iter()
                .partition(|entry| !self.expiry.expired(entry, now));
            *idle = keep;
            expired.into_iter().map(|entry| entry.conn).collect()
        };
        for conn in expired {
            close_later(conn);
        }
    }

    /// Close expired idle connections also while the pool is not used: a task that looks every
    /// half idle timeout (at most every minute) and ends with the pool.
    pub fn start_reaper(self: &Arc<Self>) {
        let period = (self.expiry.idle / 2).min(Duration::from_secs(60));
        let pool = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                match pool.upgrade() {
                    Some(pool) if !pool.permits.is_closed() => pool.prune(Instant::now()),
                    _ => break,
                }
            }
        });
    }
}

/// A connection on loan; back to the idle list on drop only when `clean`.
struct Lease<'p> {
    pool: &'p DirectPool,
    conn: Option<AnyConnection>,
    born: Born,
    clean: bool,
    _permit: SemaphorePermit<'p>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !self.clean {
            // Mid-statement or failed: dropping the connection closes its socket.
            return;
        }
        let pool = self.pool;
        let mut idle = pool.idle.lock();
        // Checked under the lock that `close` and a failure take to empty the list.
        if pool.permits.is_closed()
            || self.born.generation != pool.generation.load(Ordering::Acquire)
        {
            return;
        }
        idle.push(Idle {
            conn,
            born: self.born,
            since: Instant::now(),
        });
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
    async fn idle_connections_expire_while_the_pool_is_not_used() {
        let pg = TestPostgres::get();
        let mut pool = pool(&pg.fresh_database_url(), 2);
        pool.expiry = Expiry {
            idle: Duration::from_millis(200),
            lifetime: Duration::from_secs(3600),
        };
        let pool = Arc::new(pool);
        pool.start_reaper();
        backend_pid(&pool).await.expect("query");
        assert_eq!(pool.usage(), (0, 1));
        let deadline = Instant::now() + Duration::from_secs(10);
        while pool.usage() != (0, 0) {
            assert!(
                Instant::now() < deadline,
                "the idle connection was never closed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn a_connection_the_server_ended_is_replaced_without_the_caller_seeing_it() {
        let pg = TestPostgres::get();
        let url = pg.fresh_database_url();
        let pool = pool(&url, 2);
        let first = backend_pid(&pool).await.expect("query");
        let mut admin = AnyConnection::connect(&url).await.expect("connect");
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(first)
            .execute(&mut admin)
            .await
            .expect("terminate");
        // The idle connection got a FATAL and was closed by the server.
        let second = backend_pid(&pool)
            .await
            .expect("query after the termination");
        assert_ne!(second, first);
        assert_eq!(pool.generation.load(Ordering::Acquire), 1);
    }

    #[test]
    fn fatal_errors_and_connection_classes_are_connection_errors() {
        assert!(is_connection_error(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset
        ))));
        assert!(is_connection_error(&sqlx::Error::Protocol("eof".into())));
        assert!(!is_connection_error(&sqlx::Error::RowNotFound));
        assert!(!is_connection_error(&sqlx::Error::PoolTimedOut));
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
