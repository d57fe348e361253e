-- Paired with migrations/postgres/0015_register_function.sql, which adds the PostgreSQL
-- function strata_register (a registration in one round trip). SQLite has no stored functions:
-- the storage runs the same steps as one BEGIN IMMEDIATE transaction on a local file, where a
-- statement costs no network round trip. Nothing changes in the SQLite schema.
SELECT 1;
