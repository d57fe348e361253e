-- Strata registry schema (SQLite). Paired with migrations/postgres/0001_init.sql.
-- Schema ids come from AUTOINCREMENT (never reused); each schema text is stored once and
-- shared by every subject version that registers it.
CREATE TABLE schemas (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    schema_type TEXT    NOT NULL,
    guid        TEXT    NOT NULL,
    schema_text TEXT    NOT NULL,
    refs        TEXT    NOT NULL,  -- JSON array of {name, subject, version}
    metadata    TEXT,              -- JSON object, stored verbatim
    rule_set    TEXT,              -- JSON object, stored verbatim
    created_ms  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX schemas_content ON schemas (schema_type, guid);
CREATE INDEX schemas_guid ON schemas (guid);

CREATE TABLE schema_references (
    schema_id   BIGINT NOT NULL REFERENCES schemas (id) ON DELETE CASCADE,
    ordinal     BIGINT NOT NULL,
    name        TEXT   NOT NULL,
    ref_subject TEXT   NOT NULL,
    ref_version BIGINT NOT NULL,
    PRIMARY KEY (schema_id, ordinal)
);
CREATE INDEX schema_references_target ON schema_references (ref_subject, ref_version);

CREATE TABLE subject_versions (
    subject    TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    schema_id  BIGINT  NOT NULL REFERENCES schemas (id),
    deleted    BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms BIGINT  NOT NULL,
    PRIMARY KEY (subject, version)
);
-- One live version per (subject, schema): concurrent identical registrations cannot both win.
CREATE UNIQUE INDEX subject_versions_live_schema ON subject_versions (subject, schema_id) WHERE NOT deleted;
CREATE INDEX subject_versions_schema ON subject_versions (schema_id);

CREATE TABLE configs (
    scope TEXT PRIMARY KEY,  -- '' is the global scope
    body  TEXT NOT NULL      -- JSON object in Confluent's Config shape
);

CREATE TABLE modes (
    scope TEXT PRIMARY KEY,  -- '' is the global scope
    mode  TEXT NOT NULL
);
