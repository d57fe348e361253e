-- One index for a schema's content instead of two: (guid, schema_type) is unique as
-- (schema_type, guid) was (ON CONFLICT (schema_type, guid) infers it, the column order does not
-- matter), and it also serves lookups by guid alone, which had an index of their own. A
-- registration updates one index fewer.
CREATE UNIQUE INDEX schemas_guid_content ON schemas (guid, schema_type);
DROP INDEX schemas_content;
DROP INDEX schemas_guid;
