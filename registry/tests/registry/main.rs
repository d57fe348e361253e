//! Integration tests of the registry over real HTTP on loopback, on real SQLite files and a
//! real PostgreSQL server. Every storage scenario runs on both engines.

mod auth;
mod formats;
mod harness;
mod health;
mod http_conventions;
mod metrics;
mod oidc;
mod openapi;
mod scenarios;
mod tls;

// (the database_restarts module is at the end of this file)

/// Expand each scenario into a test per engine.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = crate::harness::TestServer::sqlite().await;
                    crate::$name(&server).await;
                    server.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = crate::harness::TestServer::postgres().await;
                    crate::$name(&server).await;
                    server.stop().await;
                }
            )*
        }
    };
}

mod confluent_parity;

use confluent_parity::*;
use formats::*;
use fuzz::*;
use hostile::*;
use replicas::*;
use scenarios::*;

/// Issue 13: where Confluent 8.x answers differently from what a new user would guess.
mod parity {
    on_both_engines!(
        compatibility_against_a_missing_numbered_version_answers_40402,
        wildcard_accept_headers_answer_with_the_v1_media_type,
        a_lookup_without_a_schema_answers_40403,
        protobuf_custom_options_defined_nowhere_are_kept_and_ignored,
        protobuf_types_resolve_across_references_whatever_the_import_names,
        new_avro_schemas_follow_avro_1_12_1,
    );
}
// Declared after the macro, which they use for their own scenarios.
mod fuzz;
mod hostile;
mod replicas;

on_both_engines!(
    protobuf_schemas_register_with_references_and_check_compatibility,
    protobuf_normalize_gives_one_id_to_reformatted_schemas,
    json_schemas_register_with_references_and_check_compatibility,
    a_changed_schema_type_is_incompatible,
    register_then_read_by_id_and_by_version,
    registering_an_identical_schema_returns_the_existing_version,
    an_identical_live_schema_is_returned_even_when_the_history_would_refuse_it,
    the_same_schema_under_another_subject_reuses_its_id,
    an_incompatible_schema_answers_409_with_confluent_details,
    force_registers_an_incompatible_schema,
    soft_deleted_versions_are_hidden_but_their_ids_still_resolve,
    permanent_delete_requires_a_soft_delete_first,
    reregistering_a_soft_deleted_schema_creates_a_new_version_with_the_same_id,
    references_resolve_and_referenced_versions_cannot_be_deleted,
    lookup_finds_registered_schemas_and_misses_with_40403,
    invalid_schemas_answer_42201_and_change_nothing,
    metadata_and_rule_set_are_stored_and_returned_faithfully,
    the_latest_version_with_metadata_is_found_by_its_properties,
    config_put_merges_and_subject_config_falls_back_to_global,
    mode_readonly_refuses_writes_and_import_keeps_explicit_ids,
    compatibility_endpoint_checks_latest_and_all_versions,
    transitive_levels_check_every_live_version,
    listings_filter_deleted_subjects_and_versions,
    concurrent_registrations_never_duplicate_versions_or_ids,
    data_survives_a_restart_of_the_registry,
);

mod database_restarts {
    use serde_json::json;
    use strata_registry::Settings;

    use crate::harness::{record, TestServer};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_registry_keeps_serving_after_postgres_restarts() {
        let pg = strata_e2e::postgres::TestPostgres::dedicated();
        let s = TestServer::start(pg.fresh_database_url(), None, Settings::default()).await;
        let id = s
            .register_ok("restart-value", &record("R", &[("a", "int", None)]))
            .await;
        assert_eq!(s.get(&format!("/schemas/ids/{id}")).await.0, 200);

        tokio::task::spawn_blocking(move || {
            pg.restart().expect("postgres restarts");
            pg
        })
        .await
        .expect("restart task");

        // Cached reads never needed the database; uncached ones and writes reconnect.
        assert_eq!(s.get(&format!("/schemas/ids/{id}")).await.0, 200);
        assert_eq!(
            s.get("/subjects/restart-value/versions").await.1,
            json!([1])
        );
        let id2 = s
            .register_ok(
                "restart-value",
                &record("R", &[("a", "int", None), ("b", "int", Some(json!(1)))]),
            )
            .await;
        assert!(id2 > id);
        assert_eq!(
            s.get("/subjects/restart-value/versions").await.1,
            json!([1, 2])
        );
        s.stop().await;
    }
}
