-- A registration in one round trip (PostgreSQL). Paired with
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
