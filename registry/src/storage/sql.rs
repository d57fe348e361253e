//! The SQL implementation shared by the SQLite and PostgreSQL engines.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::error::ErrorKind;
use sqlx::{AnyConnection, AnyPool, Executor, Row};
use strata_schema::SchemaType;

use super::direct::{AnyQuery, DirectPool};
use super::{
    FirstVersion, Invalidation, NewSchema, SchemaRecord, ScopeRows, Storage, StorageError,
    StorageResult, SubjectState, SubjectVersion, VersionInsert, VersionRecord, Written,
};

/// What differs between the engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: one writer at a time, so write transactions take the write lock up front.
    Sqlite,
    /// PostgreSQL: several registry instances may share one database.
    Postgres,
}

impl Dialect {
    /// How a write transaction begins. SQLite's `BEGIN IMMEDIATE` takes the write lock at once,
    /// so a read-then-write transaction never fails to upgrade under contention.
    fn begin(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }
}

/// The registry's storage over SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlStorage {
    pool: AnyPool,
    /// PostgreSQL: the registration statements' connections, one round trip per statement
    /// (sqlx's pool adds two pings; see `direct`).
    direct: Option<Arc<DirectPool>>,
    /// Connections taken from the pool so far: one per query or transaction.
    acquires: Arc<AtomicU64>,
    dialect: Dialect,
    /// The URL, kept to open a LISTEN connection (PostgreSQL).
    url: String,
}

/// PostgreSQL connections of sqlx's pool (reads on a cache miss, deletes, settings, background
/// work) and of the registration statements' pool: at most 32 per instance, as before the
/// split.
const PG_POOL_CONNECTIONS: u32 = 16;
const PG_DIRECT_CONNECTIONS: usize = 16;

/// A per-scope setting table and its value column (`scope` '' is the global scope).
type Setting = (&'static str, &'static str);
const CONFIGS: Setting = ("configs", "body");
const MODES: Setting = ("modes", "mode");

/// The PostgreSQL channel on which deletes are announced to other instances.
pub const INVALIDATION_CHANNEL: &str = "strata_invalidations";

const SCHEMA_COLUMNS: &str = "id, schema_type, guid, schema_text, refs, metadata, rule_set";

/// The Any driver cannot decode SQLite booleans, so `deleted` is read as a BIGINT on both
/// engines.
const VERSION_COLUMNS: &str =
    "version, schema_id, CAST(CASE WHEN deleted THEN 1 ELSE 0 END AS BIGINT) AS deleted";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Hide the password of a URL before it is shown in an error or a log line.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation)
}

fn conflict_or(e: sqlx::Error) -> StorageError {
    if is_unique_violation(&e) {
        StorageError::Conflict(e.to_string())
    } else {
        StorageError::Database(e)
    }
}

fn version_from(v: i64) -> StorageResult<i32> {
    i32::try_from(v).map_err(|_| StorageError::Corrupt(format!("version {v} out of range")))
}

fn json_opt(text: Option<String>) -> StorageResult<Option<serde_json::Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| StorageError::Corrupt(e.to_string())))
        .transpose()
}

fn schema_from_row(row: &AnyRow) -> StorageResult<SchemaRecord> {
    let schema_type: String = row.try_get("schema_type")?;
    let refs: String = row.try_get("refs")?;
    Ok(SchemaRecord {
        id: row.try_get("id")?,
        schema_type: SchemaType::from_str(&schema_type)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?,
        guid: row.try_get("guid")?,
        schema: row.try_get("schema_text")?,
        references: serde_json::from_str(&refs)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?,
        metadata: json_opt(row.try_get("metadata")?)?,
        rule_set: json_opt(row.try_get("rule_set")?)?,
    })
}

fn version_from_row(row: &AnyRow) -> StorageResult<VersionRecord> {
    Ok(VersionRecord {
        version: version_from(row.try_get("version")?)?,
        schema_id: row.try_get("schema_id")?,
        deleted: row.try_get::<i64, _>("deleted")? != 0,
    })
}

fn subject_version_from_row(row: &AnyRow) -> StorageResult<SubjectVersion> {
    Ok(SubjectVersion {
        subject: row.try_get("subject")?,
        version: version_from_row(row)?,
    })
}

fn to_json(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

/// A `before_acquire` hook that counts the idle connections handed out.
fn count_acquires(
    acquires: Arc<AtomicU64>,
) -> impl for<'c> Fn(
    &'c mut AnyConnection,
    sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'c, Result<bool, sqlx::Error>>
       + Send
       + Sync
       + 'static {
    move |_, _| {
        acquires.fetch_add(1, Ordering::Relaxed);
        Box::pin(std::future::ready(Ok(true)))
    }
}

impl SqlStorage {
    /// Open (creating and migrating as needed) the database named by `url`.
    pub async fn open(url: &str) -> StorageResult<Self> {
        sqlx::any::install_default_drivers();
        let open_err = |source| StorageError::Open {
            url: redact(url),
            source,
        };
        let acquires = Arc::new(AtomicU64::new(0));
        // A connection is handed out either idle (`before_acquire`) or just opened
        // (`after_connect`): counting both counts every acquisition.
        let count_idle = count_acquires(acquires.clone());
        if url.starts_with("sqlite:") {
            let url = prepare_sqlite_url(url).map_err(open_err)?;
            let opened = acquires.clone();
            let pool = AnyPoolOptions::new()
                .max_connections(8)
                .before_acquire(count_idle)
                .after_connect(move |conn, _meta| {
                    opened.fetch_add(1, Ordering::Relaxed);
                    Box::pin(async move {
                        conn.execute("PRAGMA busy_timeout = 15000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await
                .map_err(open_err)?;
            // WAL lets readers proceed while one writer commits; the setting is persistent.
            pool.execute("PRAGMA journal_mode = WAL")
                .await
                .map_err(open_err)?;
            sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            Ok(SqlStorage {
                pool,
                direct: None,
                acquires,
                dialect: Dialect::Sqlite,
                url,
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opened = acquires.clone();
            let pool = AnyPoolOptions::new()
                .max_connections(PG_POOL_CONNECTIONS)
                .before_acquire(count_idle)
                .after_connect(move |_conn, _meta| {
                    opened.fetch_add(1, Ordering::Relaxed);
                    Box::pin(std::future::ready(Ok(())))
                })
                .connect(url)
                .await
                .map_err(open_err)?;
            sqlx::migrate!("../migrations/postgres").run(&pool).await?;
            let direct = Arc::new(DirectPool::new(
                url,
                PG_DIRECT_CONNECTIONS,
                acquires.clone(),
            ));
            direct.start_reaper();
            Ok(SqlStorage {
                pool,
                direct: Some(direct),
                acquires,
                dialect: Dialect::Postgres,
                url: url.to_string(),
            })
        } else {
            Err(StorageError::UnsupportedUrl(redact(url)))
        }
    }

    /// The engine.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// On PostgreSQL, a connection listening to [`INVALIDATION_CHANNEL`] (it reconnects by
    /// itself); `None` on SQLite, where other instances are found by polling alone.
    pub async fn invalidation_listener(&self) -> Option<sqlx::postgres::PgListener> {
        if self.dialect != Dialect::Postgres {
            return None;
        }
        let mut listener = match sqlx::postgres::PgListener::connect(&self.url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "could not LISTEN for cache invalidations; polling only");
                return None;
            }
        };
        match listener.listen(INVALIDATION_CHANNEL).await {
            Ok(()) => Some(listener),
            Err(e) => {
                tracing::warn!(error = %e, "could not LISTEN for cache invalidations; polling only");
                None
            }
        }
    }

    /// Connections of the pool: (in use, idle).
    pub fn pool_usage(&self) -> (u32, usize) {
        let idle = self.pool.num_idle();
        let size = self.pool.size();
        let (direct_in_use, direct_idle) = self.direct.as_ref().map_or((0, 0), |d| d.usage());
        (
            size.saturating_sub(idle as u32) + direct_in_use,
            idle + direct_idle,
        )
    }

    /// Connections taken from the pool so far: one per query or transaction, background work
    /// (the invalidation log, metrics counts) included. A cached read takes none.
    pub fn acquires(&self) -> u64 {
        self.acquires.load(Ordering::Relaxed)
    }

    /// What the registry holds (for metrics): (schemas, subjects with a live version, live
    /// versions).
    pub async fn counts(&self) -> StorageResult<(i64, i64, i64)> {
        let schemas: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schemas")
            .fetch_one(&self.pool)
            .await?;
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT subject), COUNT(*) FROM subject_versions WHERE NOT deleted",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((schemas, row.try_get(0)?, row.try_get(1)?))
    }

    /// Close the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        if let Some(direct) = &self.direct {
            direct.close().await;
        }
        self.pool.close().await;
    }

    /// The rows of the statement `sql` with `bind`'s parameters, through the direct pool
    /// (PostgreSQL: one round trip, run once more after a connection failure, so the statement
    /// must be safe to run twice) or sqlx's pool (SQLite).
    async fn direct_rows<'q>(
        &self,
        sql: &'q str,
        bind: impl Fn(AnyQuery<'q>) -> AnyQuery<'q>,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        match &self.direct {
            Some(direct) => direct.rows(sql, bind).await,
            None => bind(sqlx::query(sql)).fetch_all(&self.pool).await,
        }
    }

    async fn setting(
        &self,
        (table, column): Setting,
        scope: &str,
    ) -> StorageResult<Option<String>> {
        Ok(
            sqlx::query_scalar(&format!("SELECT {column} FROM {table} WHERE scope = $1"))
                .bind(scope)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn set_setting(
        &self,
        (table, column): Setting,
        scope: &str,
        value: &str,
    ) -> StorageResult<()> {
        sqlx::query(&format!(
            "INSERT INTO {table} (scope, {column}) VALUES ($1, $2) \
             ON CONFLICT (scope) DO UPDATE SET {column} = excluded.{column}"
        ))
        .bind(scope)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_setting(&self, (table, _): Setting, scope: &str) -> StorageResult<bool> {
        let done = sqlx::query(&format!("DELETE FROM {table} WHERE scope = $1"))
            .bind(scope)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Log a delete for other instances' caches, in the delete's transaction (PostgreSQL also
    /// notifies listeners, on commit). Rows older than a day are dropped on the way.
    async fn log_invalidation(
        &self,
        conn: &mut AnyConnection,
        subject: &str,
        versions: &[i32],
        schema_ids: &[i64],
    ) -> StorageResult<()> {
        let join = |items: Vec<String>| items.join(",");
        let now = now_ms();
        sqlx::query("DELETE FROM cache_invalidations WHERE created_ms < $1")
            .bind(now - 24 * 3600 * 1000)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO cache_invalidations (subject, versions, schema_ids, created_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(subject)
        .bind(join(versions.iter().map(i32::to_string).collect()))
        .bind(join(schema_ids.iter().map(i64::to_string).collect()))
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query(&format!("NOTIFY {INVALIDATION_CHANNEL}"))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    async fn insert_schema(
        &self,
        conn: &mut AnyConnection,
        schema: &NewSchema,
        explicit_id: Option<i64>,
    ) -> StorageResult<(i64, bool)> {
        let refs = serde_json::to_string(&schema.references)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let id = match explicit_id {
            None => {
                // One round trip in the common case; a concurrent insert of the same content
                // makes ours a no-op, and the row it committed is read below.
                let inserted: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO schemas (schema_type, guid, schema_text, refs, metadata, rule_set, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (schema_type, guid) DO NOTHING RETURNING id",
                )
                .bind(schema.schema_type.as_str())
                .bind(&schema.guid)
                .bind(&schema.schema)
                .bind(&refs)
                .bind(to_json(&schema.metadata))
                .bind(to_json(&schema.rule_set))
                .bind(now_ms())
                .fetch_optional(&mut *conn)
                .await
                .map_err(conflict_or)?;
                match inserted {
                    Some(id) => id,
                    None => return Ok((self.content_id(conn, schema).await?, false)),
                }
            }
            Some(requested) => {
                let existing: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM schemas WHERE schema_type = $1 AND guid = $2",
                )
                .bind(schema.schema_type.as_str())
                .bind(&schema.guid)
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(id) = existing {
                    return if id == requested {
                        Ok((id, false))
                    } else {
                        Err(StorageError::ContentHasOtherId {
                            existing: id,
                            requested,
                        })
                    };
                }
                let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM schemas WHERE id = $1")
                    .bind(requested)
                    .fetch_optional(&mut *conn)
                    .await?;
                if taken.is_some() {
                    return Err(StorageError::IdTaken(requested));
                }
                sqlx::query(
                    "INSERT INTO schemas (id, schema_type, guid, schema_text, refs, metadata, rule_set, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(requested)
                .bind(schema.schema_type.as_str())
                .bind(&schema.guid)
                .bind(&schema.schema)
                .bind(&refs)
                .bind(to_json(&schema.metadata))
                .bind(to_json(&schema.rule_set))
                .bind(now_ms())
                .execute(&mut *conn)
                .await
                .map_err(conflict_or)?;
                if self.dialect == Dialect::Postgres {
                    // An explicit id does not advance an identity sequence: move it past every id
                    // in use (never backwards, so deleted ids are not handed out again).
                    sqlx::query(
                        "SELECT setval(pg_get_serial_sequence('schemas', 'id'), \
                         GREATEST((SELECT MAX(id) FROM schemas), (SELECT last_value FROM schemas_id_seq)))",
                    )
                    .execute(&mut *conn)
                    .await?;
                }
                requested
            }
        };
        for (ordinal, r) in schema.references.iter().enumerate() {
            sqlx::query(
                "INSERT INTO schema_references (schema_id, ordinal, name, ref_subject, ref_version) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(ordinal as i64)
            .bind(&r.name)
            .bind(&r.subject)
            .bind(i64::from(r.version))
            .execute(&mut *conn)
            .await?;
        }
        Ok((id, true))
    }

    /// PostgreSQL, without an explicit id: the whole registration is one call of
    /// `strata_register` (migration 0015), one round trip and one implicit transaction.
    async fn register_in_one_call(&self, insert: &VersionInsert<'_>) -> StorageResult<Written> {
        let schema = insert.schema;
        let refs = serde_json::to_string(&schema.references)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let created_ms = now_ms();
        let rows = self
            .direct_rows(
                "SELECT out_schema_id, out_version, out_existing \
                 FROM strata_register($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                |q| {
                    q.bind(insert.subject)
                        .bind(i64::from(insert.version))
                        .bind(schema.schema_type.as_str())
                        .bind(&schema.guid)
                        .bind(&schema.schema)
                        .bind(refs.as_str())
                        .bind(to_json(&schema.metadata))
                        .bind(to_json(&schema.rule_set))
                        .bind(created_ms)
                },
            )
            .await
            .map_err(conflict_or)?;
        let row = rows
            .first()
            .ok_or(StorageError::Database(sqlx::Error::RowNotFound))?;
        let id: i64 = row.try_get("out_schema_id")?;
        Ok(if row.try_get::<i64, _>("out_existing")? != 0 {
            Written::Existing {
                id,
                version: version_from(row.try_get("out_version")?)?,
            }
        } else {
            Written::Added { id }
        })
    }

    async fn content_id(&self, conn: &mut AnyConnection, schema: &NewSchema) -> StorageResult<i64> {
        sqlx::query_scalar("SELECT id FROM schemas WHERE schema_type = $1 AND guid = $2")
            .bind(schema.schema_type.as_str())
            .bind(&schema.guid)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StorageError::Conflict("schema content vanished during insert".into()))
    }
}

/// PostgreSQL text cannot hold NUL; refuse it on both engines alike.
/// The first part of [`REGISTER_NEW`]: the content, stored when the subject is new.
macro_rules! new_subject_content {
    () => {
        "WITH ins AS (\
           INSERT INTO schemas (schema_type, guid, schema_text, refs, metadata, rule_set, created_ms) \
           SELECT $3, $4, $5, $6, $7, $8, $9 \
           WHERE NOT EXISTS (SELECT 1 FROM subject_versions sv WHERE sv.subject = $1) \
             AND NOT EXISTS (SELECT 1 FROM modes m \
                             WHERE m.scope IN ('', $1) AND m.mode <> 'READWRITE') \
             AND ($2 OR NOT EXISTS (SELECT 1 FROM configs c \
                                    WHERE c.scope IN ('', $1) \
                                      AND (c.body::jsonb ->> 'normalize') = 'true')) \
           ON CONFLICT (schema_type, guid) DO NOTHING \
           RETURNING id) "
    };
}

/// The last part of [`REGISTER_NEW`]: version 1, when the content was stored.
macro_rules! first_version_of_content {
    () => {
        "INSERT INTO subject_versions (subject, version, schema_id, deleted, created_ms) \
         SELECT $1, 1, ins.id, FALSE, $9 FROM ins \
         RETURNING schema_id"
    };
}

/// The first version of a new subject with new content, as one statement (PostgreSQL): the
/// content and version 1 are written only when the subject has no version, no mode other than
/// READWRITE applies (globally or to the subject) and no config asks to normalise unless the
/// request does ($2), as `strata_register_first` checks them; otherwise (or when the content is
/// stored already) nothing is written and no row is returned. A concurrent writer of the same
/// subject makes it fail with a unique violation. Parameters as `strata_register_first`'s.
const REGISTER_NEW: &str = concat!(new_subject_content!(), first_version_of_content!());

/// [`REGISTER_NEW`] for content with references: they are stored with it.
const REGISTER_NEW_WITH_REFERENCES: &str = concat!(
    new_subject_content!(),
    ", refs AS (\
       INSERT INTO schema_references (schema_id, ordinal, name, ref_subject, ref_version) \
       SELECT ins.id, r.ordinal - 1, r.elem->>'name', r.elem->>'subject', \
              (r.elem->>'version')::BIGINT \
       FROM ins, jsonb_array_elements($6::jsonb) WITH ORDINALITY AS r(elem, ordinal)) ",
    first_version_of_content!()
);

/// A statement taking `strata_register_first`'s parameters, with them bound.
fn bind_first_version<'q>(
    q: AnyQuery<'q>,
    subject: &'q str,
    normalize: bool,
    schema: &'q NewSchema,
    refs: &'q str,
    created_ms: i64,
) -> AnyQuery<'q> {
    q.bind(subject)
        .bind(normalize)
        .bind(schema.schema_type.as_str())
        .bind(&schema.guid)
        .bind(&schema.schema)
        .bind(refs)
        .bind(to_json(&schema.metadata))
        .bind(to_json(&schema.rule_set))
        .bind(created_ms)
}

fn refuse_nul(subject: &str, schema: &NewSchema) -> StorageResult<()> {
    let texts = [subject, schema.schema.as_str(), schema.guid.as_str()]
        .into_iter()
        .chain(
            schema
                .references
                .iter()
                .flat_map(|r| [r.name.as_str(), r.subject.as_str()]),
        );
    for text in texts {
        if text.contains('\0') {
            return Err(StorageError::Unstorable(
                "a NUL character (\\u0000) in a schema, subject or reference name".into(),
            ));
        }
    }
    Ok(())
}

/// The rows of a subject's state (configs, modes, versions: `kind`, `scope`, `value`,
/// `version`, `schema_id`, `deleted`), gathered.
fn state_from_rows(
    rows: impl IntoIterator<Item = (String, String, String, VersionRecord)>,
) -> SubjectState {
    let mut state = SubjectState::default();
    for (kind, scope, value, version) in rows {
        let slot = match (kind.as_str(), scope.is_empty()) {
            ("version", _) => {
                state.versions.push(version);
                continue;
            }
            ("config", true) => &mut state.scope.global_config,
            ("config", false) => &mut state.scope.subject_config,
            (_, true) => &mut state.scope.global_mode,
            (_, false) => &mut state.scope.subject_mode,
        };
        *slot = Some(value);
    }
    state.versions.sort_unstable_by_key(|v| v.version);
    state
}

/// Make sure the directory of a SQLite file exists and ask sqlx to create the file.
fn prepare_sqlite_url(url: &str) -> Result<String, sqlx::Error> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path != ":memory:" && !path.is_empty() {
        if let Some(parent) = Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
    }
    Ok(match query {
        Some(q) if q.contains("mode=") => url.to_string(),
        Some(q) => format!("sqlite://{path}?{q}&mode=rwc"),
        None => format!("sqlite://{path}?mode=rwc"),
    })
}

#[async_trait]
impl Storage for SqlStorage {
    async fn schema_by_id(&self, id: i64) -> StorageResult<Option<SchemaRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {SCHEMA_COLUMNS} FROM schemas WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(schema_from_row).transpose()
    }

    async fn schema_by_guid(&self, guid: &str) -> StorageResult<Option<SchemaRecord>> {
        if guid.contains('\0') {
            return Ok(None); // never stored (PostgreSQL text cannot hold NUL)
        }
        let row = sqlx::query(&format!(
            "SELECT {SCHEMA_COLUMNS} FROM schemas WHERE guid = $1 ORDER BY id LIMIT 1"
        ))
        .bind(guid)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(schema_from_row).transpose()
    }

    async fn schema_id_by_content(
        &self,
        schema_type: SchemaType,
        guid: &str,
    ) -> StorageResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM schemas WHERE schema_type = $1 AND guid = $2")
                .bind(schema_type.as_str())
                .bind(guid)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn versions(&self, subject: &str) -> StorageResult<Vec<VersionRecord>> {
        if subject.contains('\0') {
            return Ok(Vec::new()); // never stored (PostgreSQL text cannot hold NUL)
        }
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM subject_versions WHERE subject = $1 ORDER BY version"
        ))
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    async fn versions_of_schema(&self, id: i64) -> StorageResult<Vec<SubjectVersion>> {
        let rows = sqlx::query(&format!(
            "SELECT subject, {VERSION_COLUMNS} FROM subject_versions WHERE schema_id = $1 \
             ORDER BY subject, version"
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subject_version_from_row).collect()
    }

    async fn all_versions(&self) -> StorageResult<Vec<SubjectVersion>> {
        let rows = sqlx::query(&format!(
            "SELECT subject, {VERSION_COLUMNS} FROM subject_versions ORDER BY subject, version"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subject_version_from_row).collect()
    }

    async fn insert_version(&self, insert: VersionInsert<'_>) -> StorageResult<Written> {
        refuse_nul(insert.subject, insert.schema)?;
        if self.dialect == Dialect::Postgres && insert.explicit_id.is_none() {
            return self.register_in_one_call(&insert).await;
        }
        // SQLite (a local file: statements cost no network round trip) and IMPORT with an
        // explicit id: the same steps as strata_register, as one transaction of statements.
        let mut tx = self
            .pool
            .begin_with(self.dialect.begin())
            .await
            .map_err(conflict_or)?;
        let (id, inserted) = self
            .insert_schema(&mut tx, insert.schema, insert.explicit_id)
            .await?;
        if !inserted {
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM subject_versions \
                 WHERE subject = $1 AND schema_id = $2 AND NOT deleted",
            )
            .bind(insert.subject)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(version) = existing {
                tx.commit().await.map_err(conflict_or)?;
                return Ok(Written::Existing {
                    id,
                    version: version_from(version)?,
                });
            }
            // Confluent tombstones an older soft-deleted version of the same schema when it is
            // registered again, unless another schema references that version.
            sqlx::query(
                "DELETE FROM subject_versions WHERE subject = $1 AND schema_id = $2 AND deleted \
                 AND NOT EXISTS (SELECT 1 FROM schema_references r \
                                 WHERE r.ref_subject = subject_versions.subject \
                                   AND r.ref_version = subject_versions.version)",
            )
            .bind(insert.subject)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO subject_versions (subject, version, schema_id, deleted, created_ms) \
             VALUES ($1, $2, $3, FALSE, $4)",
        )
        .bind(insert.subject)
        .bind(i64::from(insert.version))
        .bind(id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(conflict_or)?;
        tx.commit().await.map_err(conflict_or)?;
        Ok(Written::Added { id })
    }

    async fn subject_state(&self, subject: &str) -> StorageResult<SubjectState> {
        if subject.contains('\0') {
            // Never stored (PostgreSQL text cannot hold NUL); the global scope still applies.
            return Ok(SubjectState {
                scope: self.scope("").await?,
                versions: Vec::new(),
            });
        }
        // One round trip: the scope's settings and the subject's versions as one result.
        let rows = self
            .direct_rows(
                "SELECT 'config' AS kind, scope, body AS value, \
                        CAST(0 AS BIGINT) AS version, CAST(0 AS BIGINT) AS schema_id, \
                        CAST(0 AS BIGINT) AS deleted \
                 FROM configs WHERE scope IN ('', $1) \
                 UNION ALL \
                 SELECT 'mode', scope, mode, CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
                 FROM modes WHERE scope IN ('', $1) \
                 UNION ALL \
                 SELECT 'version', subject, '', version, schema_id, \
                        CAST(CASE WHEN deleted THEN 1 ELSE 0 END AS BIGINT) \
                 FROM subject_versions WHERE subject = $1",
                |q| q.bind(subject),
            )
            .await?;
        let rows = rows
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("kind")?,
                    row.try_get("scope")?,
                    row.try_get("value")?,
                    version_from_row(row)?,
                ))
            })
            .collect::<StorageResult<Vec<_>>>()?;
        let state = state_from_rows(rows);
        Ok(state)
    }

    fn registers_first_versions_in_one_call(&self) -> bool {
        self.dialect == Dialect::Postgres
    }

    async fn register_first_version(
        &self,
        subject: &str,
        normalize: bool,
        schema: &NewSchema,
    ) -> StorageResult<FirstVersion> {
        if self.dialect != Dialect::Postgres {
            return Ok(FirstVersion::State(self.subject_state(subject).await?));
        }
        refuse_nul(subject, schema)?;
        let refs = serde_json::to_string(&schema.references)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        // The common case first: one plain statement (its plan cached on the connection), about
        // half the server's work of a call into strata_register_first's PL/pgSQL.
        let statement = if schema.references.is_empty() {
            REGISTER_NEW
        } else {
            REGISTER_NEW_WITH_REFERENCES
        };
        let created_ms = now_ms();
        let bind = |q| bind_first_version(q, subject, normalize, schema, &refs, created_ms);
        let written = self
            .direct_rows(statement, bind)
            .await
            .map_err(conflict_or)?;
        if let Some(row) = written.first() {
            return Ok(FirstVersion::Written(Written::Added {
                id: row.try_get("schema_id")?,
            }));
        }
        // Nothing written: the subject is not new, a mode or config applies, or the content is
        // stored already. The function sorts these out in one more round trip.
        let rows = self
            .direct_rows(
                "SELECT o_kind, o_scope, o_value, o_version, o_schema_id, o_deleted \
                 FROM strata_register_first($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                bind,
            )
            .await
            .map_err(conflict_or)?;
        let mut gathered = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind: String = row.try_get("o_kind")?;
            let version = VersionRecord {
                version: version_from(row.try_get("o_version")?)?,
                schema_id: row.try_get("o_schema_id")?,
                deleted: row.try_get::<i64, _>("o_deleted")? != 0,
            };
            if kind == "written" {
                // `o_deleted` carries whether the subject already held the content.
                return Ok(FirstVersion::Written(if version.deleted {
                    Written::Existing {
                        id: version.schema_id,
                        version: version.version,
                    }
                } else {
                    Written::Added {
                        id: version.schema_id,
                    }
                }));
            }
            gathered.push((
                kind,
                row.try_get("o_scope")?,
                row.try_get("o_value")?,
                version,
            ));
        }
        Ok(FirstVersion::State(state_from_rows(gathered)))
    }

    async fn scope(&self, subject: &str) -> StorageResult<ScopeRows> {
        let rows = sqlx::query(
            "SELECT 'config' AS kind, scope, body AS value FROM configs WHERE scope = '' OR scope = $1 \
             UNION ALL \
             SELECT 'mode' AS kind, scope, mode AS value FROM modes WHERE scope = '' OR scope = $1",
        )
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        let mut out = ScopeRows::default();
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            let scope: String = row.try_get("scope")?;
            let value: String = row.try_get("value")?;
            let slot = match (kind.as_str(), scope.is_empty()) {
                ("config", true) => &mut out.global_config,
                ("config", false) => &mut out.subject_config,
                (_, true) => &mut out.global_mode,
                (_, false) => &mut out.subject_mode,
            };
            *slot = Some(value);
        }
        Ok(out)
    }

    async fn soft_delete(&self, subject: &str, versions: &[i32]) -> StorageResult<()> {
        let mut tx = self.pool.begin_with(self.dialect.begin()).await?;
        for v in versions {
            sqlx::query(
                "UPDATE subject_versions SET deleted = TRUE WHERE subject = $1 AND version = $2",
            )
            .bind(subject)
            .bind(i64::from(*v))
            .execute(&mut *tx)
            .await?;
        }
        self.log_invalidation(&mut tx, subject, versions, &[])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn hard_delete(&self, subject: &str, versions: &[i32]) -> StorageResult<Vec<i64>> {
        let mut tx = self.pool.begin_with(self.dialect.begin()).await?;
        let mut candidates = Vec::new();
        for v in versions {
            let id: Option<i64> = sqlx::query_scalar(
                "DELETE FROM subject_versions WHERE subject = $1 AND version = $2 RETURNING schema_id",
            )
            .bind(subject)
            .bind(i64::from(*v))
            .fetch_optional(&mut *tx)
            .await?;
            candidates.extend(id);
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut removed = Vec::new();
        for id in candidates {
            let still_used: Option<i64> = sqlx::query_scalar(
                "SELECT schema_id FROM subject_versions WHERE schema_id = $1 LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if still_used.is_none() {
                sqlx::query("DELETE FROM schema_references WHERE schema_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM schemas WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                removed.push(id);
            }
        }
        self.log_invalidation(&mut tx, subject, versions, &removed)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn referencing_schema_ids(&self, subject: &str, version: i32) -> StorageResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT schema_id FROM schema_references WHERE ref_subject = $1 AND ref_version = $2 \
             ORDER BY schema_id",
        )
        .bind(subject)
        .bind(i64::from(version))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn config(&self, scope: &str) -> StorageResult<Option<String>> {
        self.setting(CONFIGS, scope).await
    }

    async fn set_config(&self, scope: &str, body: &str) -> StorageResult<()> {
        self.set_setting(CONFIGS, scope, body).await
    }

    async fn delete_config(&self, scope: &str) -> StorageResult<bool> {
        self.delete_setting(CONFIGS, scope).await
    }

    async fn mode(&self, scope: &str) -> StorageResult<Option<String>> {
        self.setting(MODES, scope).await
    }

    async fn set_mode(&self, scope: &str, mode: &str) -> StorageResult<()> {
        self.set_setting(MODES, scope, mode).await
    }

    async fn delete_mode(&self, scope: &str) -> StorageResult<bool> {
        self.delete_setting(MODES, scope).await
    }

    async fn mode_scopes(&self) -> StorageResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT scope FROM modes WHERE scope <> '' ORDER BY scope")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn invalidations_after(&self, after: i64) -> StorageResult<Vec<Invalidation>> {
        let rows = sqlx::query(
            "SELECT seq, subject, versions, schema_ids FROM cache_invalidations \
             WHERE seq > $1 ORDER BY seq LIMIT 10000",
        )
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let list = |column: &str| -> StorageResult<Vec<i64>> {
                    let text: String = row.try_get(column)?;
                    text.split(',')
                        .filter(|t| !t.is_empty())
                        .map(|t| {
                            t.parse::<i64>().map_err(|_| {
                                StorageError::Corrupt(format!(
                                    "cache_invalidations.{column}: {text}"
                                ))
                            })
                        })
                        .collect()
                };
                Ok(Invalidation {
                    seq: row.try_get("seq")?,
                    subject: row.try_get("subject")?,
                    versions: list("versions")?
                        .into_iter()
                        .map(version_from)
                        .collect::<StorageResult<_>>()?,
                    schema_ids: list("schema_ids")?,
                })
            })
            .collect()
    }

    async fn last_invalidation(&self) -> StorageResult<i64> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM cache_invalidations")
            .fetch_one(&self.pool)
            .await?;
        Ok(seq.unwrap_or(0))
    }

    async fn max_schema_id(&self) -> StorageResult<i64> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM schemas")
            .fetch_one(&self.pool)
            .await?;
        Ok(max.unwrap_or(0))
    }

    async fn ping(&self) -> StorageResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
