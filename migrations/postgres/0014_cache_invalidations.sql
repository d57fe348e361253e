-- Cache coherence between registry instances sharing this database. Paired with
-- migrations/sqlite/0014_cache_invalidations.sql.
-- Every soft or permanent delete writes one row in its own transaction (and, on PostgreSQL,
-- NOTIFY strata_invalidations); every instance reads the rows after the last one it applied
-- and drops what it cached for them. Rows older than a day are removed as new ones are written.
CREATE TABLE cache_invalidations (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject    TEXT   NOT NULL,
    versions   TEXT   NOT NULL,
    schema_ids TEXT   NOT NULL,
    created_ms BIGINT NOT NULL
);
