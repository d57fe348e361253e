//! Authentication and authorization over real HTTP: Karapace's users file and rules.

use std::path::Path;

use pretty_assertions::assert_eq;
use reqwest::Method;
use serde_json::{json, Value};
use strata_registry::auth::password::{self, Algorithm};

use crate::harness::{record, TestServer};

const ADMIN: (&str, &str) = ("admin", "admin-pw");
const READER: (&str, &str) = ("reader", "reader-pw");
const TEAM: (&str, &str) = ("team", "team-pw");
const TEAM_READER: (&str, &str) = ("teamreader", "teamreader-pw");

/// A users-file entry hashed now (argon2id, or PBKDF2 with few rounds to keep tests fast).
fn user(name: &str, pw: &str, algorithm: Algorithm) -> Value {
    let salt = password::random_salt(algorithm);
    let mut entry = json!({
        "username": name, "algorithm": algorithm.as_str(), "salt": salt,
        "password_hash": password::hash(algorithm, &salt, pw, 1000).unwrap(),
    });
    if algorithm != Algorithm::Argon2id && algorithm != Algorithm::Scrypt {
        entry["iterations"] = 1000.into();
    }
    entry
}

fn users_file() -> Value {
    json!({
        "users": [
            user(ADMIN.0, ADMIN.1, Algorithm::Argon2id),
            user(READER.0, READER.1, Algorithm::Sha512),
            user(TEAM.0, TEAM.1, Algorithm::Sha256),
            user(TEAM_READER.0, TEAM_READER.1, Algorithm::Sha1),
        ],
        "permissions": [
            {"username": "admin", "operation": "Write", "resource": ".*"},
            {"username": "reader", "operation": "Read", "resource": "Subject:.*"},
            {"username": "reader", "operation": "Read", "resource": "Config:"},
            {"username": "team", "operation": "Write", "resource": "Subject:team-.*"},
            {"username": "teamreader", "operation": "Read", "resource": "Subject:team-.*"},
        ]
    })
}

fn write_file(dir: &Path, value: &Value) -> std::path::PathBuf {
    let path = dir.join("users.json");
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path
}

struct Answer {
    status: u16,
    body: Value,
}

async fn call(
    s: &TestServer,
    who: Option<(&str, &str)>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let mut req = s.client.request(method, format!("{}{}", s.base, path));
    if let Some((u, p)) = who {
        req = req.basic_auth(u, Some(p));
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .body(b.to_string());
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body read");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer { status, body }
}

async fn get(s: &TestServer, who: (&str, &str), path: &str) -> (u16, Value) {
    let a = call(s, Some(who), Method::GET, path, None).await;
    (a.status, a.body)
}

async fn register(s: &TestServer, who: (&str, &str), subject: &str, schema: &str) -> (u16, Value) {
    let a = call(
        s,
        Some(who),
        Method::POST,
        &format!("/subjects/{subject}/versions"),
        Some(json!({ "schema": schema })),
    )
    .await;
    (a.status, a.body)
}

async fn server() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), &users_file());
    (TestServer::sqlite_with_auth(&path).await, dir)
}

fn schema(name: &str) -> String {
    record(name, &[("a", "int", None)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_credentials_answer_401_with_a_basic_challenge() {
    let (s, _dir) = server().await;
    type Credentials<'a> = Option<(&'a str, &'a str)>;
    let cases: Vec<(&str, Credentials<'_>, Option<&str>)> = vec![
        ("no credentials", None, None),
        ("a wrong password", Some(("admin", "nope")), None),
        ("an unknown user", Some(("mallory", "admin-pw")), None),
        (
            "another user's password",
            Some(("reader", "admin-pw")),
            None,
        ),
        ("a malformed header", None, Some("Basic !!!")),
        ("a bearer token", None, Some("Bearer abc.def.ghi")),
    ];
    for (what, who, raw) in cases {
        for path in [
            "/subjects",
            "/config",
            "/schemas/ids/1",
            "/subjects/x/versions",
            "/no-such-route",
        ] {
            let mut req = s.client.get(format!("{}{path}", s.base));
            if let Some((u, p)) = who {
                req = req.basic_auth(u, Some(p));
            }
            if let Some(raw) = raw {
                req = req.header("Authorization", raw);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 401, "{what} on {path}");
            assert_eq!(
                resp.headers()["www-authenticate"],
                "Basic realm=\"strata\"",
                "{what} on {path}"
            );
            let body: Value = resp.json().await.unwrap();
            assert_eq!(
                body,
                json!({"error_code": 401, "message": "Unauthorized"}),
                "{what}"
            );
        }
    }
    // A mutation without credentials changes nothing.
    let a = call(
        &s,
        None,
        Method::PUT,
        "/mode",
        Some(json!({"mode": "IMPORT"})),
    )
    .await;
    assert_eq!(a.status, 401);
    assert_eq!(
        get(&s, ADMIN, "/mode").await,
        (200, json!({"mode": "READWRITE"}))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_schema_types_and_health_need_no_credentials() {
    let (s, _dir) = server().await;
    for path in ["/", "/schemas/types", "/health/live", "/health/ready"] {
        let a = call(&s, None, Method::GET, path, None).await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
    }
    // Every other route asks for credentials, metadata included.
    for path in ["/v1/metadata/id", "/contexts", "/schemas", "/mode"] {
        assert_eq!(
            call(&s, None, Method::GET, path, None).await.status,
            401,
            "{path}"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_implies_read_and_read_alone_cannot_change_a_subject() {
    let (s, _dir) = server().await;
    // team: Write on team-.*, so it registers, reads, checks, deletes its own subjects.
    assert_eq!(register(&s, TEAM, "team-a", &schema("A")).await.0, 200);
    assert_eq!(
        get(&s, TEAM, "/subjects/team-a/versions").await,
        (200, json!([1]))
    );
    let compat = call(
        &s,
        Some(TEAM),
        Method::POST,
        "/compatibility/subjects/team-a/versions/latest",
        Some(json!({"schema": schema("A")})),
    )
    .await;
    assert_eq!(compat.status, 200, "{}", compat.body);
    let cfg = call(
        &s,
        Some(TEAM),
        Method::PUT,
        "/config/team-a",
        Some(json!({"compatibility": "NONE"})),
    )
    .await;
    assert_eq!(cfg.status, 200, "{}", cfg.body);
    let mode = call(
        &s,
        Some(TEAM),
        Method::PUT,
        "/mode/team-a",
        Some(json!({"mode": "READONLY"})),
    )
    .await;
    assert_eq!(mode.status, 200, "{}", mode.body);
    let mode = call(&s, Some(TEAM), Method::DELETE, "/mode/team-a", None).await;
    assert_eq!(mode.status, 200, "{}", mode.body);

    // Readers read (lookup and compatibility tests are reads) and every mutation is 403.
    for who in [READER, TEAM_READER] {
        assert_eq!(get(&s, who, "/subjects/team-a/versions/1").await.0, 200);
        let lookup = call(
            &s,
            Some(who),
            Method::POST,
            "/subjects/team-a",
            Some(json!({"schema": schema("A")})),
        )
        .await;
        assert_eq!(lookup.status, 200, "{}", lookup.body);
        let compat = call(
            &s,
            Some(who),
            Method::POST,
            "/compatibility/subjects/team-a/versions",
            Some(json!({"schema": schema("A")})),
        )
        .await;
        assert_eq!(compat.status, 200, "{}", compat.body);
        let mutations = [
            (
                Method::POST,
                "/subjects/team-a/versions",
                Some(json!({"schema": schema("B")})),
            ),
            (Method::DELETE, "/subjects/team-a", None),
            (Method::DELETE, "/subjects/team-a/versions/1", None),
            (
                Method::PUT,
                "/config/team-a",
                Some(json!({"compatibility": "FULL"})),
            ),
            (Method::DELETE, "/config/team-a", None),
            (Method::PUT, "/mode/team-a", Some(json!({"mode": "IMPORT"}))),
            (Method::DELETE, "/mode/team-a", None),
        ];
        for (method, path, body) in mutations {
            let a = call(&s, Some(who), method.clone(), path, body).await;
            assert_eq!(a.status, 403, "{} {method} {path}: {}", who.0, a.body);
            assert_eq!(
                a.body,
                json!({"error_code": 40301, "message": format!("User '{}' is denied operation Write on Subject:team-a", who.0)}),
            );
        }
    }
    // Nothing changed.
    assert_eq!(
        get(&s, ADMIN, "/subjects/team-a/versions").await,
        (200, json!([1]))
    );
    assert_eq!(
        get(&s, ADMIN, "/config/team-a").await.1["compatibilityLevel"],
        "NONE"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_config_and_mode_need_the_config_permission() {
    let (s, _dir) = server().await;
    for path in ["/config", "/mode"] {
        // team has no Config: permission at all: 403 even to read.
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let body = (method == Method::PUT).then(|| {
                if path == "/config" {
                    json!({"compatibility": "NONE"})
                } else {
                    json!({"mode": "IMPORT"})
                }
            });
            let a = call(&s, Some(TEAM), method.clone(), path, body.clone()).await;
            assert_eq!(a.status, 403, "team {method} {path}");
            assert_eq!(a.body["error_code"], 40301);
            // reader: Read on Config: reads but does not change.
            let a = call(&s, Some(READER), method.clone(), path, body).await;
            let expected = if method == Method::GET { 200 } else { 403 };
            assert_eq!(a.status, expected, "reader {method} {path}: {}", a.body);
        }
    }
    let a = call(
        &s,
        Some(ADMIN),
        Method::PUT,
        "/config",
        Some(json!({"compatibility": "NONE"})),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        get(&s, READER, "/config").await.1["compatibilityLevel"],
        "NONE"
    );
    assert_eq!(
        get(&s, READER, "/mode").await.1,
        json!({"mode": "READWRITE"})
    );
    s.stop().await;
}

/// Every path naming a subject, with what it sends.
fn subject_paths(subject: &str) -> Vec<(Method, String, Option<Value>)> {
    let body = Some(json!({"schema": schema("S")}));
    vec![
        (Method::GET, format!("/subjects/{subject}/versions"), None),
        (Method::GET, format!("/subjects/{subject}/versions/1"), None),
        (
            Method::GET,
            format!("/subjects/{subject}/versions/latest/schema"),
            None,
        ),
        (
            Method::GET,
            format!("/subjects/{subject}/versions/1/referencedby"),
            None,
        ),
        (
            Method::GET,
            format!("/subjects/{subject}/metadata?key=k&value=v"),
            None,
        ),
        (Method::POST, format!("/subjects/{subject}"), body.clone()),
        (
            Method::POST,
            format!("/subjects/{subject}/versions"),
            body.clone(),
        ),
        (Method::DELETE, format!("/subjects/{subject}"), None),
        (
            Method::DELETE,
            format!("/subjects/{subject}/versions/1"),
            None,
        ),
        (
            Method::POST,
            format!("/compatibility/subjects/{subject}/versions"),
            body.clone(),
        ),
        (
            Method::POST,
            format!("/compatibility/subjects/{subject}/versions/1"),
            body.clone(),
        ),
        (Method::GET, format!("/config/{subject}"), None),
        (
            Method::PUT,
            format!("/config/{subject}"),
            Some(json!({"compatibility": "NONE"})),
        ),
        (Method::DELETE, format!("/config/{subject}"), None),
        (Method::GET, format!("/mode/{subject}"), None),
        (
            Method::PUT,
            format!("/mode/{subject}"),
            Some(json!({"mode": "IMPORT"})),
        ),
        (Method::DELETE, format!("/mode/{subject}"), None),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_subject_is_indistinguishable_from_a_missing_one_on_every_path() {
    let (s, _dir) = server().await;
    assert_eq!(
        register(&s, ADMIN, "secret-value", &schema("S")).await.0,
        200
    );
    let cfg = call(
        &s,
        Some(ADMIN),
        Method::PUT,
        "/config/secret-value",
        Some(json!({"compatibility": "FULL"})),
    )
    .await;
    assert_eq!(cfg.status, 200);
    for who in [TEAM, TEAM_READER] {
        for subject in ["secret-value", "never-registered"] {
            for (method, path, body) in subject_paths(subject) {
                let a = call(&s, Some(who), method.clone(), &path, body).await;
                assert_eq!(
                    (a.status, a.body),
                    (
                        404,
                        json!({"error_code": 40401, "message": format!("Subject '{subject}' not found.")})
                    ),
                    "{} {method} {path}",
                    who.0
                );
            }
        }
    }
    // Nothing changed, and the subject is still there for those who may see it.
    assert_eq!(get(&s, ADMIN, "/subjects").await.1, json!(["secret-value"]));
    assert_eq!(
        get(&s, ADMIN, "/subjects/secret-value/versions").await.1,
        json!([1])
    );
    assert_eq!(
        get(&s, READER, "/config/secret-value").await.1["compatibilityLevel"],
        "FULL"
    );
    assert_eq!(
        get(&s, ADMIN, "/mode/secret-value").await.1["error_code"],
        40409
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_held_only_by_forbidden_subjects_answer_as_missing_ids() {
    let (s, _dir) = server().await;
    let secret = register(&s, ADMIN, "secret-value", &schema("Secret"))
        .await
        .1["id"]
        .as_i64()
        .unwrap();
    let shared = register(&s, ADMIN, "secret-other", &schema("Shared"))
        .await
        .1["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        register(&s, ADMIN, "team-shared", &schema("Shared"))
            .await
            .1["id"],
        shared
    );
    let missing = 9999;
    for who in [TEAM, TEAM_READER] {
        for (id_path, code_message) in [
            ("", None),
            ("/schema", None),
            ("/subjects", Some("Schema not found")),
            ("/versions", Some("Schema not found")),
        ] {
            let forbidden = get(&s, who, &format!("/schemas/ids/{secret}{id_path}")).await;
            let absent = get(&s, who, &format!("/schemas/ids/{missing}{id_path}")).await;
            assert_eq!(forbidden.0, 404, "{id_path}");
            assert_eq!(forbidden.1["error_code"], 40403, "{id_path}");
            let message =
                |id: i64| code_message.map_or(format!("Schema {id} not found"), str::to_string);
            assert_eq!(forbidden.1["message"], message(secret), "{id_path}");
            assert_eq!(absent.1["message"], message(missing), "{id_path}");
        }
        // An id also held by a permitted subject is readable; its listings show only that one.
        assert_eq!(get(&s, who, &format!("/schemas/ids/{shared}")).await.0, 200);
        assert_eq!(
            get(&s, who, &format!("/schemas/ids/{shared}/subjects"))
                .await
                .1,
            json!(["team-shared"])
        );
        assert_eq!(
            get(&s, who, &format!("/schemas/ids/{shared}/versions"))
                .await
                .1,
            json!([{"subject": "team-shared", "version": 1}])
        );
        // By GUID too.
        let guid = get(&s, ADMIN, &format!("/schemas/ids/{secret}")).await.1["guid"].clone();
        let guid = guid.as_str().expect("a guid");
        let a = get(&s, who, &format!("/schemas/guids/{guid}")).await;
        assert_eq!(
            a.1,
            json!({"error_code": 40403, "message": format!("Schema {guid} not found")})
        );
        assert_eq!(
            get(&s, who, &format!("/schemas/guids/{guid}/ids")).await.1,
            json!([])
        );
        assert_eq!(
            get(&s, ADMIN, &format!("/schemas/guids/{guid}/ids"))
                .await
                .1
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }
    assert_eq!(
        get(&s, ADMIN, &format!("/schemas/ids/{secret}/subjects"))
            .await
            .1,
        json!(["secret-value"])
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_show_only_the_subjects_the_user_may_read() {
    let (s, _dir) = server().await;
    for subject in ["team-a", "team-b", "secret-x", "zzz"] {
        assert_eq!(register(&s, ADMIN, subject, &schema("L")).await.0, 200);
    }
    let del = call(&s, Some(ADMIN), Method::DELETE, "/subjects/team-b", None).await;
    assert_eq!(del.status, 200);
    assert_eq!(
        get(&s, ADMIN, "/subjects").await.1,
        json!(["secret-x", "team-a", "zzz"])
    );
    assert_eq!(
        get(&s, READER, "/subjects").await.1,
        json!(["secret-x", "team-a", "zzz"])
    );
    for who in [TEAM, TEAM_READER] {
        assert_eq!(get(&s, who, "/subjects").await.1, json!(["team-a"]));
        assert_eq!(
            get(&s, who, "/subjects?deleted=true").await.1,
            json!(["team-a", "team-b"])
        );
        assert_eq!(
            get(&s, who, "/subjects?deletedOnly=true").await.1,
            json!(["team-b"])
        );
        assert_eq!(
            get(&s, who, "/subjects?subjectPrefix=secret").await.1,
            json!([])
        );
        let names = |v: Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|e| e["subject"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(names(get(&s, who, "/schemas").await.1), ["team-a"]);
        assert_eq!(
            names(get(&s, who, "/schemas?deleted=true").await.1),
            ["team-a", "team-b"]
        );
        assert_eq!(
            names(get(&s, who, "/schemas?latestOnly=true").await.1),
            ["team-a"]
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_files_written_for_karapace_verify_with_each_algorithm() {
    // password_hash values computed the way Karapace's hash_password does, with Python 3:
    //   base64.b64encode(hashlib.pbkdf2_hmac(alg, b"hunter2", b"karapace-salt", 5000))
    //   base64.b64encode(hashlib.scrypt(b"hunter2", salt=b"karapace-salt", n=16384, r=8, p=1))
    //   base64.b64encode(hashlib.pbkdf2_hmac("sha512", b"hunter2", b"karapace-salt", 210000))
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{
        "users": [
            {"username": "k-sha1", "algorithm": "sha1", "salt": "karapace-salt",
             "password_hash": "30QM19RNUt+Ih2UluGSbdNGK/jU="},
            {"username": "k-sha256", "algorithm": "sha256", "salt": "karapace-salt",
             "password_hash": "zJDQF6sEAst4kxpPh2YQ/3rhIYenknOoMC/3k8Cih5A="},
            {"username": "k-sha512", "algorithm": "sha512", "salt": "karapace-salt",
             "password_hash": "+wCOauu3hbauhEt3gY43q5RRxM5eo68/JxBHR6t/BK0TCSz599a2mZD+yt4/ArKyeGKt3zh9cb0qcSYpbG4ASg=="},
            {"username": "k-scrypt", "algorithm": "scrypt", "salt": "karapace-salt",
             "password_hash": "YOAwS0Z1uyJfJPh896GKrrNyPXccp382yb9fvyRBbnF85kCV8OCAKTESBfh4pBvWD6XQpp4CYiqprA+EHSgknQ=="},
            {"username": "k-sha512-210k", "algorithm": "sha512", "salt": "karapace-salt",
             "password_hash": "VgH8mUkrPVlTE++ued5xBOPkQ1jBMXscQqzsa4bjN82wWIHZ4Kf6xlAYJXrWxie58p7Lo7DFTO9x6Qc+npZ+og==", "iterations": 210000}
        ],
        "permissions": [
            {"username": "k-sha1", "operation": "Read", "resource": ".*"},
            {"username": "k-sha256", "operation": "Read", "resource": ".*"},
            {"username": "k-sha512", "operation": "Read", "resource": ".*"},
            {"username": "k-scrypt", "operation": "Read", "resource": ".*"},
            {"username": "k-sha512-210k", "operation": "Read", "resource": ".*"}
        ]
    }"#;
    let path = dir.path().join("karapace-auth.json");
    std::fs::write(&path, text).unwrap();
    let s = TestServer::sqlite_with_auth(&path).await;
    for user in [
        "k-sha1",
        "k-sha256",
        "k-sha512",
        "k-scrypt",
        "k-sha512-210k",
    ] {
        assert_eq!(
            get(&s, (user, "hunter2"), "/subjects").await,
            (200, json!([])),
            "{user}"
        );
        assert_eq!(
            get(&s, (user, "hunter3"), "/subjects").await.0,
            401,
            "{user}"
        );
        // Verified credentials are cached: the second request answers the same.
        assert_eq!(
            get(&s, (user, "hunter2"), "/subjects").await.0,
            200,
            "{user}"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_file_that_does_not_load_stops_the_start_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        dir.path(),
        &json!({"users": [], "permissions": [
        {"username": "u", "operation": "Admin", "resource": ".*"}]}),
    );
    let app = strata_registry::Application::build(strata_registry::ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/r.db", dir.path().display()),
        settings: Default::default(),
    })
    .await
    .unwrap();
    let err = app.with_auth_file(&path).expect_err("refused").to_string();
    assert!(
        err.contains("permissions[0] (u): operation 'Admin' is neither Read nor Write"),
        "{err}"
    );
    let err = strata_registry::auth::Authenticator::load(&dir.path().join("absent.json"))
        .expect_err("missing file")
        .to_string();
    assert!(err.contains("could not read the users file"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_file_changes_reload_the_users_file_and_a_broken_file_keeps_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), &users_file());
    let s = TestServer::sqlite_with_auth(&path).await;
    assert_eq!(get(&s, TEAM, "/subjects").await.0, 200);

    // A broken file, then SIGHUP: the previous file stays in force.
    std::fs::write(&path, "{ not json").unwrap();
    sighup().await;
    assert_eq!(get(&s, TEAM, "/subjects").await.0, 200);

    // A new password for team, then SIGHUP: the cached old credentials no longer pass.
    let mut file = users_file();
    file["users"][2] = user(TEAM.0, "new-pw", Algorithm::Argon2id);
    write_file(dir.path(), &file);
    sighup().await;
    eventually(|| async { get(&s, TEAM, "/subjects").await.0 == 401 }).await;
    assert_eq!(get(&s, (TEAM.0, "new-pw"), "/subjects").await.0, 200);

    // A change of the file alone (no signal) is picked up too.
    let mut file = users_file();
    file["users"][2] = user(TEAM.0, "newer-pw", Algorithm::Sha512);
    write_file(dir.path(), &file);
    eventually(|| async { get(&s, (TEAM.0, "newer-pw"), "/subjects").await.0 == 200 }).await;
    assert_eq!(get(&s, (TEAM.0, "new-pw"), "/subjects").await.0, 401);
    s.stop().await;
}

async fn sighup() {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}

async fn eventually<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the condition did not hold within 10 s");
}

/// `strata_cache_{hits,misses}_total{cache="id_subjects"}` from `/metrics`.
async fn id_subjects_cache(s: &TestServer) -> (f64, f64) {
    let scrape = crate::metrics::scrape(s).await;
    (
        crate::metrics::value(&scrape, "strata_cache_hits", &[("cache", "id_subjects")]),
        crate::metrics::value(&scrape, "strata_cache_misses", &[("cache", "id_subjects")]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subjects_of_an_id_are_cached_for_limited_users_and_follow_registrations_and_deletes() {
    let (s, _dir) = server().await;
    let id = register(&s, ADMIN, "secret-cached", &schema("Cached"))
        .await
        .1["id"]
        .as_i64()
        .unwrap();
    let path = format!("/schemas/ids/{id}");
    // Held only by a forbidden subject: missing, every time (a cached "no" is re-checked).
    assert_eq!(get(&s, TEAM, &path).await.1["error_code"], 40403);
    assert_eq!(get(&s, TEAM, &path).await.1["error_code"], 40403);
    // Registered under a permitted subject: readable at once, then from the cache.
    assert_eq!(
        register(&s, ADMIN, "team-cached", &schema("Cached"))
            .await
            .1["id"],
        id
    );
    assert_eq!(get(&s, TEAM, &path).await.0, 200);
    let (hits, misses) = id_subjects_cache(&s).await;
    for _ in 0..5 {
        assert_eq!(get(&s, TEAM, &path).await.0, 200);
    }
    let (hits_after, misses_after) = id_subjects_cache(&s).await;
    assert_eq!(hits_after - hits, 5.0, "read from the cache");
    assert_eq!(misses_after, misses, "no database round trip");
    // Deleted from the permitted subject for good: missing again for the team.
    let deleted = |permanent: bool| {
        format!(
            "/subjects/team-cached/versions/1{}",
            if permanent { "?permanent=true" } else { "" }
        )
    };
    assert_eq!(
        call(&s, Some(ADMIN), Method::DELETE, &deleted(false), None)
            .await
            .status,
        200
    );
    // Soft-deleted versions still resolve their id (Confluent).
    assert_eq!(get(&s, TEAM, &path).await.0, 200);
    assert_eq!(
        call(&s, Some(ADMIN), Method::DELETE, &deleted(true), None)
            .await
            .status,
        200
    );
    assert_eq!(get(&s, TEAM, &path).await.1["error_code"], 40403);
    assert_eq!(
        get(&s, ADMIN, &path).await.0,
        200,
        "still held by secret-cached"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_on_another_instance_clears_the_cached_subjects_of_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let users = write_file(dir.path(), &users_file());
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let a = TestServer::with_auth(url.clone(), None, &users).await;
    let b = TestServer::with_auth(url, None, &users).await;
    let id = register(&a, ADMIN, "secret-replica", &schema("Replica"))
        .await
        .1["id"]
        .as_i64()
        .unwrap();
    register(&a, ADMIN, "team-replica", &schema("Replica")).await;
    let path = format!("/schemas/ids/{id}");
    // B caches the subjects of the id.
    assert_eq!(get(&b, TEAM, &path).await.0, 200);
    assert_eq!(get(&b, TEAM, &path).await.0, 200);
    for suffix in ["", "?permanent=true"] {
        let delete = format!("/subjects/team-replica/versions/1{suffix}");
        assert_eq!(
            call(&a, Some(ADMIN), Method::DELETE, &delete, None)
                .await
                .status,
            200
        );
    }
    // The deadline only bounds a hang (a loaded CI machine can take seconds): how soon B
    // follows rests on its follower reading the invalidation log every
    // `coherence::POLL_INTERVAL` (500 ms, pinned by a unit test there), as in replicas.rs.
    let start = std::time::Instant::now();
    while get(&b, TEAM, &path).await.0 != 404 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "B still lets the team read an id only a forbidden subject holds"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    a.stop().await;
    b.stop().await;
}

/// `strata_db_pool_acquires_total` from `/metrics`: connections taken from the pool, one per
/// query or transaction.
async fn database_acquires(s: &TestServer) -> f64 {
    let scrape = crate::metrics::scrape(s).await;
    crate::metrics::value(&scrape, "strata_db_pool_acquires", &[])
}

/// Cached reads by a user limited to some subjects (the path that asks which subjects hold an
/// id) and by a user who reads everything take no connection from the database pool. What
/// runs besides them is bounded: the scrape's own counts and the invalidation log read every
/// half second.
async fn cached_authorised_reads_make_no_database_round_trip(s: &TestServer) {
    let id = register(s, ADMIN, "team-no-round-trip", &schema("NoRoundTrip"))
        .await
        .1["id"]
        .as_i64()
        .unwrap();
    let paths = [
        format!("/schemas/ids/{id}"),
        "/subjects/team-no-round-trip/versions/1".to_string(),
    ];
    // The first reads fill the caches (the schema, the version, the subjects of the id).
    for who in [TEAM, TEAM_READER, ADMIN] {
        for path in &paths {
            assert_eq!(get(s, who, path).await.0, 200, "{} reads {path}", who.0);
        }
    }
    let reads = 50;
    let before = database_acquires(s).await;
    let start = std::time::Instant::now();
    for who in [TEAM, TEAM_READER, ADMIN] {
        for _ in 0..reads {
            for path in &paths {
                assert_eq!(get(s, who, path).await.0, 200, "{} reads {path}", who.0);
            }
        }
    }
    let elapsed = start.elapsed();
    let taken = database_acquires(s).await - before;
    let coherence_polls = (elapsed.as_millis() / 500 + 2) as f64;
    let scrape_counts = 2.0;
    assert!(
        taken <= coherence_polls + scrape_counts,
        "{taken} connections taken for {} cached reads in {elapsed:?} (at most {} expected \
         from the invalidation log and the scrape)",
        3 * reads * paths.len(),
        coherence_polls + scrape_counts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_authorised_reads_make_no_database_round_trip_on_sqlite() {
    let (s, _dir) = server().await;
    cached_authorised_reads_make_no_database_round_trip(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_authorised_reads_make_no_database_round_trip_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let users = write_file(dir.path(), &users_file());
    let url = strata_e2e::postgres::TestPostgres::get().fresh_database_url();
    let s = TestServer::with_auth(url, None, &users).await;
    cached_authorised_reads_make_no_database_round_trip(&s).await;
    s.stop().await;
}
