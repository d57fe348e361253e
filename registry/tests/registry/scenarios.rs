//! Storage scenarios, each run on SQLite and on PostgreSQL (see `on_both_engines!`).

use serde_json::{json, Value};
use strata_registry::Settings;

use crate::harness::{record, TestServer};

const V1: &str = r#"{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"}]}"#;
const V2_COMPATIBLE: &str = r#"{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}]}"#;
const V2_INCOMPATIBLE: &str = r#"{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"},{"name":"email","type":"string"}]}"#;

pub async fn register_then_read_by_id_and_by_version(s: &TestServer) {
    let (status, body) = s.register("users-value", V1).await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_i64().unwrap();
    assert_eq!(body["version"], 1);
    assert_eq!(body["subject"], "users-value");
    assert_eq!(body["schemaType"], "AVRO");
    assert!(
        body["guid"].as_str().is_some_and(|g| g.len() == 36),
        "{body}"
    );

    let (status, by_id) = s.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        by_id["schema"], V1,
        "the canonical text of a compact schema is itself"
    );
    assert_eq!(by_id["schemaType"], "AVRO");
    // Second read comes from the cache and must be identical.
    assert_eq!(s.get(&format!("/schemas/ids/{id}")).await.1, by_id);

    let (status, v) = s.get("/subjects/users-value/versions/1").await;
    assert_eq!(status, 200);
    assert_eq!(
        (v["subject"].clone(), v["version"].clone(), v["id"].clone()),
        (json!("users-value"), json!(1), json!(id))
    );
    assert_eq!(s.get("/subjects/users-value/versions/latest").await.1, v);
    assert_eq!(s.get("/subjects/users-value/versions/-1").await.1, v);

    let (status, raw) = s.get("/subjects/users-value/versions/1/schema").await;
    assert_eq!(status, 200);
    assert_eq!(raw, serde_json::from_str::<Value>(V1).unwrap());

    assert_eq!(s.get("/subjects/users-value/versions").await.1, json!([1]));
    assert_eq!(s.get("/subjects").await.1, json!(["users-value"]));
    assert_eq!(
        s.get(&format!("/schemas/ids/{id}/subjects")).await.1,
        json!(["users-value"])
    );
    assert_eq!(
        s.get(&format!("/schemas/ids/{id}/versions")).await.1,
        json!([{"subject": "users-value", "version": 1}])
    );
    let guid = body["guid"].as_str().unwrap();
    let (status, by_guid) = s.get(&format!("/schemas/guids/{guid}")).await;
    assert_eq!(status, 200);
    assert_eq!(by_guid["schema"], V1);
    assert_eq!(
        s.get(&format!("/schemas/guids/{guid}/ids")).await.1,
        json!([{"context": ".", "id": id}])
    );

    let (status, err) = s.get("/schemas/ids/999999").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40403)));
    assert_eq!(err["message"], "Schema 999999 not found");
    let (status, err) = s.get("/subjects/users-value/versions/7").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40402)));
    let (status, err) = s.get("/subjects/nobody/versions/1").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40401)));
    let (status, err) = s.get("/subjects/users-value/versions/0").await;
    assert_eq!((status, err["error_code"].clone()), (422, json!(42202)));
}

pub async fn registering_an_identical_schema_returns_the_existing_version(s: &TestServer) {
    let id = s.register_ok("a-value", V1).await;
    // Same schema, different whitespace: canonicalisation makes it identical.
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(V1).unwrap()).unwrap();
    let (status, body) = s.register("a-value", &pretty).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["id"].as_i64(), body["version"].as_i64()),
        (Some(id), Some(1))
    );
    assert_eq!(s.get("/subjects/a-value/versions").await.1, json!([1]));
}

pub async fn an_identical_live_schema_is_returned_even_when_the_history_would_refuse_it(
    s: &TestServer,
) {
    // Confluent returns the existing version before any compatibility check. Checked by this
    // server (schemas cached) and by a fresh one on the same database (nothing cached).
    assert_eq!(
        s.put("/config/h-value", json!({"compatibility": "NONE"}))
            .await
            .0,
        200
    );
    let id = s.register_ok("h-value", V2_INCOMPATIBLE).await;
    s.register_ok("h-value", V1).await;
    assert_eq!(
        s.put("/config/h-value", json!({"compatibility": "FULL"}))
            .await
            .0,
        200
    );
    let fresh = TestServer::start(s.database_url.clone(), None, Settings::default()).await;
    for server in [s, &fresh] {
        let (status, body) = server.register("h-value", V2_INCOMPATIBLE).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["id"].as_i64(), body["version"].as_i64()),
            (Some(id), Some(1))
        );
    }
    assert_eq!(s.get("/subjects/h-value/versions").await.1, json!([1, 2]));
    fresh.stop().await;
}

pub async fn the_same_schema_under_another_subject_reuses_its_id(s: &TestServer) {
    let a = s.register_ok("a-value", V1).await;
    let b = s.register_ok("b-value", V1).await;
    assert_eq!(a, b);
    let other = s
        .register_ok("c-value", &record("Other", &[("x", "int", None)]))
        .await;
    assert_ne!(a, other);
    assert_eq!(
        s.get(&format!("/schemas/ids/{a}/subjects")).await.1,
        json!(["a-value", "b-value"])
    );
}

pub async fn an_incompatible_schema_answers_409_with_confluent_details(s: &TestServer) {
    s.register_ok("users-value", V1).await;
    let (status, err) = s.register("users-value", V2_INCOMPATIBLE).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error_code"], 409);
    let msg = err["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Schema being registered is incompatible with an earlier schema for subject \"users-value\", details: ["),
        "{msg}"
    );
    assert!(msg.contains("READER_FIELD_MISSING_DEFAULT_VALUE"), "{msg}");
    assert!(msg.contains("email"), "{msg}");
    // Nothing was registered.
    assert_eq!(s.get("/subjects/users-value/versions").await.1, json!([1]));
    // A compatible evolution is accepted as version 2.
    let (status, body) = s.register("users-value", V2_COMPATIBLE).await;
    assert_eq!((status, body["version"].clone()), (200, json!(2)));

    // 40901 when configured (Confluent 8.2+).
    let strict = TestServer::start(
        s.database_url.clone(),
        None,
        Settings {
            incompatible_code_40901: true,
            ..Settings::default()
        },
    )
    .await;
    let (status, err) = strict.register("users-value", V2_INCOMPATIBLE).await;
    assert_eq!((status, err["error_code"].clone()), (409, json!(40901)));
    strict.stop().await;
}

pub async fn force_registers_an_incompatible_schema(s: &TestServer) {
    s.register_ok("f-value", V1).await;
    let (status, body) = s
        .post(
            "/subjects/f-value/versions?force=true",
            json!({"schema": V2_INCOMPATIBLE}),
        )
        .await;
    assert_eq!((status, body["version"].clone()), (200, json!(2)), "{body}");
}

pub async fn soft_deleted_versions_are_hidden_but_their_ids_still_resolve(s: &TestServer) {
    let id1 = s.register_ok("s-value", V1).await;
    let id2 = s.register_ok("s-value", V2_COMPATIBLE).await;
    let (status, body) = s.delete("/subjects/s-value/versions/2").await;
    assert_eq!((status, body), (200, json!(2)));
    let (_, latest) = s.get("/subjects/s-value/versions/latest").await;
    assert_eq!(latest["version"], 1);
    assert_eq!(s.get("/subjects/s-value/versions").await.1, json!([1]));
    assert_eq!(
        s.get("/subjects/s-value/versions?deleted=true").await.1,
        json!([1, 2])
    );
    assert_eq!(
        s.get("/subjects/s-value/versions?deletedOnly=true").await.1,
        json!([2])
    );
    assert_eq!(
        s.get(&format!("/schemas/ids/{id2}")).await.0,
        200,
        "ids of soft-deleted versions resolve"
    );
    let (status, err) = s.get("/subjects/s-value/versions/2").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40402)));
    let (status, v2) = s.get("/subjects/s-value/versions/2?deleted=true").await;
    assert_eq!((status, v2["id"].as_i64()), (200, Some(id2)));
    // Soft-deleting twice: 40406.
    let (status, err) = s.delete("/subjects/s-value/versions/2").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40406)));
    // Deleting the subject soft-deletes the rest; a second time answers 40404.
    assert_eq!(s.delete("/subjects/s-value").await, (200, json!([1])));
    let (status, err) = s.delete("/subjects/s-value").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40404)));
    assert_eq!(s.get("/subjects").await.1, json!([]));
    assert_eq!(s.get("/subjects?deleted=true").await.1, json!(["s-value"]));
    assert_eq!(s.get(&format!("/schemas/ids/{id1}")).await.0, 200);
    // With no live versions, a compatibility check at any level passes.
    let (status, body) = s.register("s-value", V2_INCOMPATIBLE).await;
    assert_eq!((status, body["version"].clone()), (200, json!(3)), "{body}");
}

pub async fn permanent_delete_requires_a_soft_delete_first(s: &TestServer) {
    let id = s.register_ok("p-value", V1).await;
    s.put("/config/p-value", json!({"compatibility": "FULL"}))
        .await;
    let (status, err) = s
        .delete("/subjects/p-value/versions/1?permanent=true")
        .await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40407)));
    let (status, err) = s.delete("/subjects/p-value?permanent=true").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40405)));
    assert_eq!(s.delete("/subjects/p-value").await, (200, json!([1])));
    assert_eq!(
        s.delete("/subjects/p-value?permanent=true").await,
        (200, json!([1]))
    );
    let (status, err) = s.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (404, json!(40403)),
        "a permanently deleted schema is gone"
    );
    let (status, err) = s.get("/subjects/p-value/versions").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40401)));
    // Its subject-level config went with it.
    let (status, err) = s.get("/config/p-value").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40408)));
    // Ids are never reused.
    let next = s.register_ok("p-value", V2_COMPATIBLE).await;
    assert!(next > id, "new id {next} must be above the deleted {id}");
}

pub async fn reregistering_a_soft_deleted_schema_creates_a_new_version_with_the_same_id(
    s: &TestServer,
) {
    let id = s.register_ok("r-value", V1).await;
    s.register_ok("r-value", V2_COMPATIBLE).await;
    s.delete("/subjects/r-value/versions/1").await;
    let (status, body) = s.register("r-value", V1).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["id"].as_i64(), body["version"].as_i64()),
        (Some(id), Some(3))
    );
}

pub async fn references_resolve_and_referenced_versions_cannot_be_deleted(s: &TestServer) {
    let address = r#"{"type":"record","name":"Address","namespace":"com.example","fields":[{"name":"street","type":"string"}]}"#;
    let address_id = s.register_ok("address", address).await;
    let person = r#"{"type":"record","name":"Person","namespace":"com.example","fields":[{"name":"home","type":"com.example.Address"}]}"#;
    let (status, body) = s
        .post(
            "/subjects/person-value/versions",
            json!({"schema": person, "references": [{"name": "com.example.Address", "subject": "address", "version": 1}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let person_id = body["id"].as_i64().unwrap();
    assert_eq!(
        body["references"],
        json!([{"name": "com.example.Address", "subject": "address", "version": 1}])
    );
    assert_ne!(person_id, address_id);
    let (_, by_id) = s.get(&format!("/schemas/ids/{person_id}")).await;
    assert_eq!(by_id["references"][0]["subject"], "address");
    assert_eq!(
        s.get("/subjects/address/versions/1/referencedby").await.1,
        json!([person_id])
    );

    let (status, err) = s.delete("/subjects/address/versions/1").await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42206)),
        "{err}"
    );
    let (status, err) = s.delete("/subjects/address").await;
    assert_eq!((status, err["error_code"].clone()), (422, json!(42206)));

    // A reference to nothing is an invalid schema.
    let (status, err) = s
        .post(
            "/subjects/broken-value/versions",
            json!({"schema": person, "references": [{"name": "com.example.Address", "subject": "address", "version": 9}]}),
        )
        .await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42201)),
        "{err}"
    );
    // Without the reference the type is unknown.
    let (status, err) = s.register("broken-value", person).await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42201)),
        "{err}"
    );

    // Once the referencing schema is gone, the referenced one can go.
    s.delete("/subjects/person-value").await;
    s.delete("/subjects/person-value?permanent=true").await;
    assert_eq!(s.delete("/subjects/address/versions/1").await.0, 200);
}

pub async fn lookup_finds_registered_schemas_and_misses_with_40403(s: &TestServer) {
    let id = s.register_ok("l-value", V1).await;
    let (status, found) = s.post("/subjects/l-value", json!({"schema": V1})).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        (found["id"].as_i64(), found["version"].as_i64()),
        (Some(id), Some(1))
    );
    assert_eq!(found["subject"], "l-value");
    assert_eq!(found["schema"], V1);
    let (status, err) = s
        .post("/subjects/l-value", json!({"schema": V2_COMPATIBLE}))
        .await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40403)));
    assert_eq!(err["message"], "Schema not found");
    let (status, err) = s.post("/subjects/nobody", json!({"schema": V1})).await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40401)));
    // Soft-deleted versions are found only with deleted=true.
    s.delete("/subjects/l-value/versions/1").await;
    assert_eq!(
        s.post("/subjects/l-value", json!({"schema": V1})).await.0,
        404
    );
    assert_eq!(
        s.post("/subjects/l-value?deleted=true", json!({"schema": V1}))
            .await
            .0,
        200
    );
}

pub async fn invalid_schemas_answer_42201_and_change_nothing(s: &TestServer) {
    let cases = [
        ("not JSON", "{not json"),
        (
            "unknown type",
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Nope"}]}"#,
        ),
        (
            "default of the wrong type",
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}"#,
        ),
        ("record without fields", r#"{"type":"record","name":"R"}"#),
        ("empty schema", ""),
    ];
    for (what, schema) in cases {
        let (status, err) = s.register("bad-value", schema).await;
        assert_eq!(
            (status, err["error_code"].clone()),
            (422, json!(42201)),
            "{what}: {err}"
        );
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
    let (status, err) = s
        .post(
            "/subjects/bad-value/versions",
            json!({"schema": V1, "schemaType": "XML"}),
        )
        .await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42201)),
        "{err}"
    );
    assert_eq!(s.get("/subjects").await.1, json!([]));
}

pub async fn metadata_and_rule_set_are_stored_and_returned_faithfully(s: &TestServer) {
    let metadata = json!({"properties": {"owner": "team-a", "confluent:version": "1"}, "tags": {"email": ["PII"]}});
    let rule_set = json!({"domainRules": [{"name": "checkEmail", "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": "message.email != ''"}]});
    let (status, body) = s
        .post(
            "/subjects/m-value/versions",
            json!({"schema": V1, "metadata": metadata, "ruleSet": rule_set}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_i64().unwrap();
    let (_, by_id) = s.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!(by_id["metadata"], metadata);
    assert_eq!(by_id["ruleSet"], rule_set);
    let (_, v) = s.get("/subjects/m-value/versions/1").await;
    assert_eq!(
        (v["metadata"].clone(), v["ruleSet"].clone()),
        (metadata.clone(), rule_set.clone())
    );
    // The same text without metadata is a different schema with another id... unless the
    // metadata is inherited from the latest version, as Confluent does.
    let (status, again) = s.register("m-value", V1).await;
    assert_eq!((status, again["id"].as_i64()), (200, Some(id)), "{again}");
    let other = s.register_ok("m2-value", V1).await;
    assert_ne!(other, id, "metadata is part of a schema's identity");
    // Duplicate rule names are refused (42210).
    let dup = json!({"domainRules": [{"name": "r", "kind": "CONDITION", "mode": "WRITE"}, {"name": "r", "kind": "CONDITION", "mode": "WRITE"}]});
    let (status, err) = s
        .post(
            "/subjects/m3-value/versions",
            json!({"schema": V1, "ruleSet": dup}),
        )
        .await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42210)),
        "{err}"
    );
}

pub async fn the_latest_version_with_metadata_is_found_by_its_properties(s: &TestServer) {
    let post = |schema: &'static str, props: Value| {
        s.post(
            "/subjects/md-value/versions",
            json!({"schema": schema, "metadata": {"properties": props}}),
        )
    };
    let (status, v1) = post(V1, json!({"app": "billing", "env": "prod"})).await;
    assert_eq!(status, 200, "{v1}");
    let (status, v2) = post(V2_COMPATIBLE, json!({"app": "billing", "env": "dev"})).await;
    assert_eq!(status, 200, "{v2}");
    // The latest version whose properties hold every pair.
    let (status, found) = s
        .get("/subjects/md-value/metadata?key=app&value=billing&key=env&value=prod")
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        (
            found["version"].clone(),
            found["id"].clone(),
            found["schema"].clone()
        ),
        (json!(1), v1["id"].clone(), json!(V1))
    );
    assert_eq!(found["metadata"]["properties"]["env"], "prod");
    let (_, found) = s
        .get("/subjects/md-value/metadata?key=app&value=billing")
        .await;
    assert_eq!(found["version"], 2, "the latest of those that match");
    // Nothing matches: 40403; an unknown subject: 40401; unpaired keys: 400.
    let (status, err) = s
        .get("/subjects/md-value/metadata?key=env&value=staging")
        .await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (404, json!(40403)),
        "{err}"
    );
    let (status, err) = s.get("/subjects/nope/metadata?key=a&value=b").await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (404, json!(40401)),
        "{err}"
    );
    let (status, err) = s.get("/subjects/md-value/metadata?key=app").await;
    assert_eq!(status, 400, "{err}");
    // A soft-deleted match is found only with deleted=true.
    assert_eq!(s.delete("/subjects/md-value/versions/1").await.0, 200);
    let (status, _) = s
        .get("/subjects/md-value/metadata?key=env&value=prod")
        .await;
    assert_eq!(status, 404);
    let (status, found) = s
        .get("/subjects/md-value/metadata?key=env&value=prod&deleted=true")
        .await;
    assert_eq!(
        (status, found["version"].clone()),
        (200, json!(1)),
        "{found}"
    );
}

pub async fn config_put_merges_and_subject_config_falls_back_to_global(s: &TestServer) {
    assert_eq!(
        s.get("/config").await.1,
        json!({"compatibilityLevel": "BACKWARD"})
    );
    assert_eq!(
        s.put("/config", json!({"compatibility": "full"})).await,
        (200, json!({"compatibility": "FULL"}))
    );
    assert_eq!(s.get("/config").await.1["compatibilityLevel"], "FULL");
    let (status, err) = s.put("/config", json!({"compatibility": "SIDEWAYS"})).await;
    assert_eq!((status, err["error_code"].clone()), (422, json!(42203)));

    let (status, err) = s.get("/config/c-value").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40408)));
    assert_eq!(
        s.get("/config/c-value?defaultToGlobal=true").await.1["compatibilityLevel"],
        "FULL"
    );
    let (status, body) = s
        .put(
            "/config/c-value",
            json!({"compatibility": "NONE", "normalize": true}),
        )
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"compatibility": "NONE", "normalize": true}))
    );
    // Merge: an absent key keeps its value, null clears it.
    let (_, body) = s.put("/config/c-value", json!({"normalize": null})).await;
    assert_eq!(body, json!({"compatibility": "NONE"}));
    assert_eq!(
        s.get("/config/c-value").await.1,
        json!({"compatibilityLevel": "NONE"})
    );
    // NONE lets anything through.
    s.register_ok("c-value", V1).await;
    s.register_ok("c-value", V2_INCOMPATIBLE).await;
    assert_eq!(
        s.delete("/config/c-value").await,
        (200, json!({"compatibilityLevel": "NONE"}))
    );
    let (status, err) = s.delete("/config/c-value").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40401)));
    assert_eq!(s.delete("/config").await.1["compatibilityLevel"], "FULL");
    assert_eq!(
        s.get("/config").await.1,
        json!({"compatibilityLevel": "BACKWARD"})
    );
}

pub async fn mode_readonly_refuses_writes_and_import_keeps_explicit_ids(s: &TestServer) {
    assert_eq!(s.get("/mode").await.1, json!({"mode": "READWRITE"}));
    s.register_ok("x-value", V1).await;
    assert_eq!(
        s.put("/mode/x-value", json!({"mode": "READONLY"})).await,
        (200, json!({"mode": "READONLY"}))
    );
    let (status, err) = s.register("x-value", V2_COMPATIBLE).await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42205)),
        "{err}"
    );
    let (status, err) = s.delete("/subjects/x-value").await;
    assert_eq!((status, err["error_code"].clone()), (422, json!(42205)));
    assert_eq!(
        s.delete("/mode/x-value").await,
        (200, json!({"mode": "READONLY"}))
    );
    let (status, err) = s.get("/mode/x-value").await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40409)));
    assert_eq!(
        s.get("/mode/x-value?defaultToGlobal=true").await.1,
        json!({"mode": "READWRITE"})
    );
    let (status, err) = s.put("/mode", json!({"mode": "SIDEWAYS"})).await;
    assert_eq!((status, err["error_code"].clone()), (422, json!(42204)));
    let (status, err) = s.put("/mode/x-value", json!({"mode": "FORWARD"})).await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42204)),
        "FORWARD is global only"
    );

    // IMPORT needs force while subjects exist.
    let (status, err) = s.put("/mode", json!({"mode": "IMPORT"})).await;
    assert_eq!((status, err["error_code"].clone()), (422, json!(42205)));
    assert_eq!(
        s.put("/mode?force=true", json!({"mode": "IMPORT"})).await.0,
        200
    );
    // In IMPORT mode a registration must carry its id, and keeps it and its version.
    let (status, err) = s.register("imp-value", V1).await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42205)),
        "{err}"
    );
    let (status, body) = s
        .post(
            "/subjects/imp-value/versions",
            json!({"schema": V2_INCOMPATIBLE, "id": 500, "version": 7}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["id"].as_i64(), body["version"].as_i64()),
        (Some(500), Some(7))
    );
    // An id held by another schema cannot be overwritten.
    let (status, err) = s
        .post(
            "/subjects/imp2-value/versions",
            json!({"schema": V1, "id": 500}),
        )
        .await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42205)),
        "{err}"
    );
    s.put("/mode", json!({"mode": "READWRITE"})).await;
    let (status, err) = s
        .post(
            "/subjects/imp3-value/versions",
            json!({"schema": V1, "id": 900}),
        )
        .await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (422, json!(42205)),
        "explicit ids only in IMPORT: {err}"
    );
    // New ids continue above the imported ones.
    let next = s
        .register_ok("after-value", &record("After", &[("a", "int", None)]))
        .await;
    assert!(next > 500, "next id {next} must be above the imported 500");
    assert_eq!(s.get("/schemas/ids/500").await.1["schema"], V2_INCOMPATIBLE);
}

pub async fn compatibility_endpoint_checks_latest_and_all_versions(s: &TestServer) {
    // A missing subject is compatible against `latest`, but not against a numbered version
    // (Confluent: 40402, the version is not found).
    let (status, body) = s
        .post(
            "/compatibility/subjects/none-value/versions/latest",
            json!({"schema": V1}),
        )
        .await;
    assert_eq!((status, body), (200, json!({"is_compatible": true})));
    let (status, err) = s
        .post(
            "/compatibility/subjects/none-value/versions/1",
            json!({"schema": V1}),
        )
        .await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40402)));

    s.register_ok("k-value", V1).await;
    let (_, body) = s
        .post(
            "/compatibility/subjects/k-value/versions/latest",
            json!({"schema": V2_COMPATIBLE}),
        )
        .await;
    assert_eq!(body, json!({"is_compatible": true}));
    let (_, body) = s
        .post(
            "/compatibility/subjects/k-value/versions/latest?verbose=true",
            json!({"schema": V2_INCOMPATIBLE}),
        )
        .await;
    assert_eq!(body["is_compatible"], false);
    let messages: Vec<String> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("READER_FIELD_MISSING_DEFAULT_VALUE")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m == "{oldSchemaVersion: 1}"),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.starts_with("{validateFields:")),
        "{messages:?}"
    );
    let (_, body) = s
        .post(
            "/compatibility/subjects/k-value/versions",
            json!({"schema": V2_INCOMPATIBLE}),
        )
        .await;
    assert_eq!(body, json!({"is_compatible": false}));
    // With verbose, a schema that does not parse is reported, not refused.
    let (status, body) = s
        .post(
            "/compatibility/subjects/k-value/versions/latest?verbose=true",
            json!({"schema": "{nope"}),
        )
        .await;
    assert_eq!(
        (status, body["is_compatible"].clone()),
        (200, json!(false)),
        "{body}"
    );
    let (status, err) = s
        .post(
            "/compatibility/subjects/k-value/versions/latest",
            json!({"schema": "{nope"}),
        )
        .await;
    assert_eq!((status, err["error_code"].clone()), (422, json!(42201)));
    let (status, err) = s
        .post(
            "/compatibility/subjects/k-value/versions/9",
            json!({"schema": V1}),
        )
        .await;
    assert_eq!((status, err["error_code"].clone()), (404, json!(40402)));
}

pub async fn transitive_levels_check_every_live_version(s: &TestServer) {
    // v1 has `a`; v2 drops it (backward compatible); v3 re-adds `a` as a string without a
    // default: compatible with v2 only if `a` is ignored, but v1 wrote `a` as an int.
    let v1 = record("T", &[("a", "int", None)]);
    let v2 = record("T", &[("b", "int", Some(json!(0)))]);
    let v3 = record(
        "T",
        &[
            ("a", "string", Some(json!(""))),
            ("b", "int", Some(json!(0))),
        ],
    );
    s.put("/config/t-value", json!({"compatibility": "BACKWARD"}))
        .await;
    s.register_ok("t-value", &v1).await;
    s.register_ok("t-value", &v2).await;
    let (_, body) = s
        .post(
            "/compatibility/subjects/t-value/versions",
            json!({"schema": v3}),
        )
        .await;
    assert_eq!(
        body["is_compatible"], true,
        "BACKWARD checks only the latest"
    );
    s.put(
        "/config/t-value",
        json!({"compatibility": "BACKWARD_TRANSITIVE"}),
    )
    .await;
    let (_, body) = s
        .post(
            "/compatibility/subjects/t-value/versions?verbose=true",
            json!({"schema": v3}),
        )
        .await;
    assert_eq!(body["is_compatible"], false, "{body}");
    assert!(
        body["messages"]
            .to_string()
            .contains("{oldSchemaVersion: 1}"),
        "{body}"
    );
    let (status, _) = s.register("t-value", &v3).await;
    assert_eq!(status, 409);
}

pub async fn listings_filter_deleted_subjects_and_versions(s: &TestServer) {
    s.register_ok("alpha-value", V1).await;
    s.register_ok("alpha-value", V2_COMPATIBLE).await;
    s.register_ok("beta-value", V1).await;
    s.register_ok("gamma-key", V1).await;
    s.delete("/subjects/beta-value").await;
    assert_eq!(
        s.get("/subjects").await.1,
        json!(["alpha-value", "gamma-key"])
    );
    assert_eq!(
        s.get("/subjects?deleted=true").await.1,
        json!(["alpha-value", "beta-value", "gamma-key"])
    );
    assert_eq!(
        s.get("/subjects?deletedOnly=true").await.1,
        json!(["beta-value"])
    );
    assert_eq!(
        s.get("/subjects?subjectPrefix=al").await.1,
        json!(["alpha-value"])
    );
    assert_eq!(
        s.get("/subjects?offset=1&limit=1").await.1,
        json!(["gamma-key"])
    );
    let (_, all) = s.get("/schemas").await;
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    let (_, latest) = s.get("/schemas?latestOnly=true").await;
    let latest: Vec<(String, i64)> = latest
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["subject"].as_str().unwrap().to_string(),
                e["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        latest,
        vec![("alpha-value".to_string(), 2), ("gamma-key".to_string(), 1)]
    );
    let (_, prefixed) = s.get("/schemas?subjectPrefix=gamma").await;
    assert_eq!(prefixed.as_array().unwrap().len(), 1);
    assert_eq!(
        s.get("/schemas?deleted=true")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

pub async fn concurrent_registrations_never_duplicate_versions_or_ids(s: &TestServer) {
    // 16 clients: each registers the same 4 schemas in one shared subject and one subject of
    // its own, all at once.
    let schemas: Vec<String> = (0..4)
        .map(|i| {
            let mut fields: Vec<(String, &str, Option<Value>)> = vec![("id".into(), "long", None)];
            for j in 0..i {
                fields.push((format!("f{j}"), "int", Some(json!(0))));
            }
            let f: Vec<(&str, &str, Option<Value>)> = fields
                .iter()
                .map(|(n, t, d)| (n.as_str(), *t, d.clone()))
                .collect();
            record("C", &f)
        })
        .collect();
    let mut tasks = Vec::new();
    for client in 0..16 {
        let base = s.base.clone();
        let schemas = schemas.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut ids = Vec::new();
            for (i, schema) in schemas.iter().enumerate() {
                for subject in ["shared-value".to_string(), format!("own-{client}-value")] {
                    let resp = http
                        .post(format!("{base}/subjects/{subject}/versions"))
                        .header("Content-Type", "application/json")
                        .body(json!({"schema": schema}).to_string())
                        .send()
                        .await
                        .expect("sent");
                    let status = resp.status().as_u16();
                    let body: Value = resp.json().await.expect("json");
                    assert_eq!(
                        status, 200,
                        "client {client} schema {i} under {subject}: {body}"
                    );
                    ids.push((i, body["id"].as_i64().unwrap()));
                }
            }
            ids
        }));
    }
    let mut id_of = std::collections::HashMap::new();
    for t in tasks {
        for (i, id) in t.await.expect("task") {
            let prev = id_of.insert(i, id);
            assert!(
                prev.is_none() || prev == Some(id),
                "schema {i} got two ids: {prev:?} and {id}"
            );
        }
    }
    // One id per distinct schema.
    let distinct: std::collections::HashSet<_> = id_of.values().collect();
    assert_eq!(distinct.len(), 4);
    // The shared subject has exactly 4 versions, one per schema, none lost or duplicated.
    assert_eq!(
        s.get("/subjects/shared-value/versions").await.1,
        json!([1, 2, 3, 4])
    );
    let mut seen = std::collections::HashSet::new();
    for v in 1..=4 {
        let (_, body) = s.get(&format!("/subjects/shared-value/versions/{v}")).await;
        assert!(
            seen.insert(body["id"].as_i64().unwrap()),
            "version {v} repeats a schema"
        );
    }
    for client in 0..16 {
        assert_eq!(
            s.get(&format!("/subjects/own-{client}-value/versions"))
                .await
                .1,
            json!([1, 2, 3, 4])
        );
    }
}

pub async fn data_survives_a_restart_of_the_registry(s: &TestServer) {
    let id = s.register_ok("d-value", V1).await;
    s.put("/config/d-value", json!({"compatibility": "FORWARD"}))
        .await;
    // A second instance over the same database (a restart, or a peer sharing PostgreSQL).
    let other = TestServer::start(s.database_url.clone(), None, Settings::default()).await;
    assert_eq!(
        other.get(&format!("/schemas/ids/{id}")).await.1["schema"],
        V1
    );
    assert_eq!(
        other.get("/config/d-value").await.1,
        json!({"compatibilityLevel": "FORWARD"})
    );
    let id2 = other.register_ok("d-value", V2_COMPATIBLE).await;
    assert!(id2 > id);
    other.stop().await;
    assert_eq!(s.get("/subjects/d-value/versions").await.1, json!([1, 2]));
}
