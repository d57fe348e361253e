-- A registration in one round trip (PostgreSQL): strata_register and strata_register_first. Paired with
-- migrations/sqlite/0015_register_function.sql, where the same steps run as a transaction of
-- statements (SQLite has no stored functions).
--
-- strata_register stores the content unless it is stored (its id comes from the identity
-- sequence; identical content keeps its id, across subjects), and then either returns the
-- subject's live version of that content (nothing written), or removes the subject's
-- unreferenced soft-deleted versions of it (Confluent tombstones them on re-registration) and
-- adds version p_version. A concurrent writer that took p_version (or registered the same
-- content in the subject first) makes it fail with a unique violation: the registry re-reads
-- and retries. Called as one statement, it is one transaction.
CREATE FUNCTION strata_register(
    p_subject     TEXT,
    p_version     BIGINT,
    p_schema_type TEXT,
    p_guid        TEXT,
    p_schema_text TEXT,
    p_refs        TEXT,
    p_metadata    TEXT,
    p_rule_set    TEXT,
    p_created_ms  BIGINT
) RETURNS TABLE (out_schema_id BIGINT, out_version BIGINT, out_existing BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    v_id       BIGINT;
    v_existing BIGINT;
BEGIN
    INSERT INTO schemas AS s (schema_type, guid, schema_text, refs, metadata, rule_set, created_ms)
    VALUES (p_schema_type, p_guid, p_schema_text, p_refs, p_metadata, p_rule_set, p_created_ms)
    ON CONFLICT (schema_type, guid) DO NOTHING
    RETURNING s.id INTO v_id;
    IF v_id IS NOT NULL THEN
        INSERT INTO schema_references (schema_id, ordinal, name, ref_subject, ref_version)
        SELECT v_id, r.ordinal - 1, r.elem->>'name', r.elem->>'subject', (r.elem->>'version')::BIGINT
        FROM jsonb_array_elements(p_refs::jsonb) WITH ORDINALITY AS r(elem, ordinal);
    ELSE
        SELECT s.id INTO v_id FROM schemas s
        WHERE s.schema_type = p_schema_type AND s.guid = p_guid;
        IF v_id IS NULL THEN
            -- Deleted between the two statements: the registry retries.
            RAISE unique_violation USING MESSAGE = 'schema content vanished during insert';
        END IF;
        SELECT sv.version INTO v_existing FROM subject_versions sv
        WHERE sv.subject = p_subject AND sv.schema_id = v_id AND NOT sv.deleted;
        IF v_existing IS NOT NULL THEN
            RETURN QUERY SELECT v_id, v_existing, 1::BIGINT;
            RETURN;
        END IF;
        DELETE FROM subject_versions sv
        WHERE sv.subject = p_subject AND sv.schema_id = v_id AND sv.deleted
          AND NOT EXISTS (SELECT 1 FROM schema_references r
                          WHERE r.ref_subject = sv.subject AND r.ref_version = sv.version);
    END IF;
    INSERT INTO subject_versions (subject, version, schema_id, deleted, created_ms)
    VALUES (p_subject, p_version, v_id, FALSE, p_created_ms);
    RETURN QUERY SELECT v_id, p_version, 0::BIGINT;
END
$$;

-- The first version of a subject in one round trip, without reading first. The registry parses
-- the request as for a new subject (no version to inherit from, nothing to check against) and
-- calls this. When that assumption holds (no version in the subject, mode READWRITE in the
-- subject and globally, no config asking to normalise unless the request does), the version is
-- registered through strata_register and one 'written' row returned. Otherwise nothing is
-- written and the rows are what the registry would have read first (configs, modes, versions,
-- as `subject_state` reads them), so it goes on from there without another read.
CREATE FUNCTION strata_register_first(
    p_subject     TEXT,
    p_normalize   BOOLEAN,
    p_schema_type TEXT,
    p_guid        TEXT,
    p_schema_text TEXT,
    p_refs        TEXT,
    p_metadata    TEXT,
    p_rule_set    TEXT,
    p_created_ms  BIGINT
) RETURNS TABLE (o_kind TEXT, o_scope TEXT, o_value TEXT, o_version BIGINT, o_schema_id BIGINT, o_deleted BIGINT)
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM subject_versions sv WHERE sv.subject = p_subject)
       OR EXISTS (SELECT 1 FROM modes m
                  WHERE (m.scope = '' OR m.scope = p_subject) AND m.mode <> 'READWRITE')
       OR (NOT p_normalize AND EXISTS (
              SELECT 1 FROM configs c
              WHERE (c.scope = '' OR c.scope = p_subject)
                AND (c.body::jsonb ->> 'normalize') = 'true')) THEN
        RETURN QUERY
            SELECT 'config'::TEXT, c.scope, c.body, 0::BIGINT, 0::BIGINT, 0::BIGINT
            FROM configs c WHERE c.scope = '' OR c.scope = p_subject
            UNION ALL
            SELECT 'mode'::TEXT, m.scope, m.mode, 0::BIGINT, 0::BIGINT, 0::BIGINT
            FROM modes m WHERE m.scope = '' OR m.scope = p_subject
            UNION ALL
            SELECT 'version'::TEXT, sv.subject, ''::TEXT, sv.version, sv.schema_id,
                   CASE WHEN sv.deleted THEN 1::BIGINT ELSE 0::BIGINT END
            FROM subject_versions sv WHERE sv.subject = p_subject;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT 'written'::TEXT, ''::TEXT, ''::TEXT, r.out_version, r.out_schema_id, r.out_existing
        FROM strata_register(p_subject, 1, p_schema_type, p_guid, p_schema_text, p_refs,
                             p_metadata, p_rule_set, p_created_ms) AS r;
END
$$;
