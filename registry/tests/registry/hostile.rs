//! Hostile input: the probes of issue 14. The server survives each one, answers it in bounded
//! time with the documented error, and keeps answering `GET /` quickly meanwhile.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use strata_registry::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{record, TestServer};

/// A second server on the same database as `s`, with changed settings.
async fn with_settings(s: &TestServer, change: impl FnOnce(&mut Settings)) -> TestServer {
    let mut settings = Settings::default();
    change(&mut settings);
    TestServer::start(s.database_url.clone(), None, settings).await
}

fn nested_proto(levels: usize) -> String {
    let mut s = String::from("syntax = \"proto3\";\npackage deep;\n");
    for i in 0..levels {
        s.push_str(&format!("message M{i} {{\n"));
    }
    s.push_str("string leaf = 1;\n");
    s.push_str(&"}\n".repeat(levels));
    s
}

fn proto_body(schema: &str) -> Value {
    json!({"schemaType": "PROTOBUF", "schema": schema})
}

/// `GET /` answers, and quickly.
async fn assert_alive(s: &TestServer, what: &str) {
    let start = Instant::now();
    let (status, _) = s.get("/").await;
    assert_eq!(status, 200, "{what}: the server is gone");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{what}: GET / took {:?}",
        start.elapsed()
    );
}

/// How long a test waits for something that must happen (a refusal, a disconnection, an
/// answer) before failing: it only bounds how long a broken server makes the test hang, so it
/// is generous; the timeouts under test are far shorter.
const LIVENESS: Duration = Duration::from_secs(30);

fn addr(s: &TestServer) -> String {
    s.base.trim_start_matches("http://").to_string()
}

pub async fn protobuf_nested_800_deep_is_refused_on_every_endpoint_and_the_server_survives(
    s: &TestServer,
) {
    // The issue's probe: 800 nested messages in about 11 KB aborted the whole server.
    let deep = nested_proto(800);
    assert!(deep.len() < 16 * 1024);
    s.register_ok("shallow-value", &record("R", &[("a", "int", None)]))
        .await;
    for (what, path) in [
        ("register", "/subjects/deep-value/versions"),
        ("lookup", "/subjects/shallow-value"),
        (
            "compatibility",
            "/compatibility/subjects/shallow-value/versions/latest",
        ),
    ] {
        let (status, body) = s.post(path, proto_body(&deep)).await;
        assert_eq!(status, 422, "{what}: {body}");
        assert_eq!(body["error_code"], 42201, "{what}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("max_nesting_depth"), "{what}: {message}");
        // Confluent's wording quotes the schema twice (the provider's message wrapped by the
        // registry's); each quote is a short prefix.
        assert!(
            message.len() < 2048,
            "{what}: the message quotes a short prefix only ({} bytes)",
            message.len()
        );
        assert_alive(s, what).await;
    }
}

pub async fn deeply_nested_avro_json_schema_and_json_bodies_are_refused_and_the_server_survives(
    s: &TestServer,
) {
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for schema_type in ["AVRO", "JSON"] {
        let (status, body) = s
            .post(
                "/subjects/deep-json/versions",
                json!({"schemaType": schema_type, "schema": deep_json}),
            )
            .await;
        assert_eq!((status, body["error_code"].clone()), (422, json!(42201)));
        assert_alive(s, schema_type).await;
    }
    // A request body nested 100,000 deep (inside metadata): serde_json stops at 128 levels.
    let body = format!(
        r#"{{"schema":"\"string\"","metadata":{{"properties":{}{}}}}}"#,
        "{\"a\":".repeat(100_000),
        "}".repeat(100_000)
    );
    let resp = s
        .client
        .post(format!("{}/subjects/deep-body/versions", s.base))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error_code"], 400, "{body}");
    assert_alive(s, "deep body").await;
}

pub async fn nesting_beyond_the_default_runs_on_large_stacks_when_the_limit_is_raised(
    s: &TestServer,
) {
    // 1,500 levels overflow a 2 MiB async worker inside protox; the schema work pool's threads
    // have 64 MiB, so raising the limit is safe. The request timeout is lifted: on a loaded
    // machine this slow (debug) work passed the default 60 s and answered 50002.
    let raised = with_settings(s, |st| {
        st.limits.max_nesting_depth = 2_000;
        st.limits.request_timeout = LIVENESS * 20;
    })
    .await;
    let deep = nested_proto(1_500);
    let (status, body) = raised
        .post("/subjects/very-deep/versions", proto_body(&deep))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = raised
        .post(
            "/compatibility/subjects/very-deep/versions/latest",
            proto_body(&deep),
        )
        .await;
    assert_eq!((status, body), (200, json!({"is_compatible": true})));
    assert_alive(&raised, "very deep").await;
    raised.stop().await;
}

pub async fn a_body_over_the_limit_answers_413_with_a_confluent_body(s: &TestServer) {
    let small = with_settings(s, |st| st.max_schema_bytes = 1024).await;
    let limit = 2 * 1024 + 64 * 1024;
    let big = json!({"schema": "x".repeat(limit * 2)}).to_string();
    // With a Content-Length …
    let resp = small
        .client
        .post(format!("{}/subjects/big/versions", small.base))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error_code"], 413, "{body}");
    assert!(body["message"].as_str().unwrap().contains("max_body_bytes"));
    // … and chunked, without one.
    let mut conn = TcpStream::connect(addr(&small)).await.unwrap();
    conn.write_all(b"POST /subjects/big/versions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    for chunk in big.as_bytes().chunks(8192) {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        if conn.write_all(&frame).await.is_err() {
            break; // the server answered and closed
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(LIVENESS, conn.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("\"error_code\":413"), "{text}");
    assert_alive(&small, "413").await;
    small.stop().await;
}

pub async fn extractor_rejections_answer_with_confluent_bodies(s: &TestServer) {
    // A path segment that is not UTF-8 once percent-decoded.
    for path in [
        "/subjects/%FF/versions",
        "/subjects/%FF%FE/versions/1",
        "/schemas/ids/%FF",
        "/config/%C3%28",
    ] {
        let resp = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let body: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"));
        assert!(body["error_code"].is_u64(), "{path}: {body}");
        assert!(body["message"].is_string(), "{path}: {body}");
        assert!((400..500).contains(&status), "{path}: {status}");
    }
    // Malformed query values and bodies.
    let (status, body) = s.get("/subjects?offset=abc").await;
    assert_eq!((status, body["error_code"].clone()), (400, json!(400)));
    let (status, body) = s
        .call(
            reqwest::Method::POST,
            "/subjects/s/versions",
            Some(Value::String("not an object".into())),
        )
        .await;
    assert_eq!((status, body["error_code"].clone()), (400, json!(400)));
}

pub async fn an_invalid_schema_error_quotes_only_a_short_prefix(s: &TestServer) {
    let huge_invalid = format!(
        r#"{{"type":"record","name":"R","fields":[{}]}}"#,
        (0..5_000)
            .map(|i| format!(r#"{{"name":"f{i}","type":"no.such.Type"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert!(huge_invalid.len() > 100_000);
    let (status, body) = s.register("invalid-big", &huge_invalid).await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42201)));
    let message = body["message"].as_str().unwrap();
    assert!(message.len() < 2_048, "{} bytes", message.len());
    assert!(message.contains("bytes in all"), "{message}");
}

pub async fn a_client_sending_half_its_headers_is_disconnected(s: &TestServer) {
    // The idle timeout is long: the half-sent request is closed by header_read_timeout alone.
    let quick = with_settings(s, |st| {
        st.limits.header_read_timeout = Duration::from_millis(300);
        st.limits.idle_timeout = Duration::from_secs(600);
    })
    .await;
    let mut slow = TcpStream::connect(addr(&quick)).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // Meanwhile other clients are served.
    assert_alive(&quick, "slowloris").await;
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(LIVENESS, slow.read_to_end(&mut buf)).await;
    assert!(
        closed.is_ok(),
        "the half-sent request was still open after {LIVENESS:?}"
    );
    // Sending a byte every 50 ms does not extend it: the headers' time counts from their first
    // byte, so the connection is closed long before the 100 bytes (5 s) are sent.
    let mut trickle = TcpStream::connect(addr(&quick)).await.unwrap();
    let started = Instant::now();
    let mut closed_after = None;
    let head = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: {}", "a".repeat(67));
    assert_eq!(head.len(), 100);
    for byte in head.bytes() {
        if trickle.write_all(&[byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if closed_after.is_none() {
        let closed = tokio::time::timeout(LIVENESS, trickle.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "the trickling request was still open");
        closed_after = Some(started.elapsed());
    }
    let closed_after = closed_after.unwrap();
    assert!(
        closed_after < Duration::from_secs(4),
        "closed after {closed_after:?}: the trickle reset the header read timeout"
    );
    quick.stop().await;
}

/// Send `GET /` on `conn` and read the whole response (keep-alive: the connection stays open).
async fn get_root_on(conn: &mut TcpStream) -> String {
    conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(LIVENESS, conn.read(&mut buf))
            .await
            .expect("a response in time")
            .expect("the connection is open");
        assert!(n > 0, "the connection was closed before the response ended");
        response.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&response);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length: usize = text[..head_end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .expect("a Content-Length");
            if response.len() >= head_end + 4 + length {
                return text.into_owned();
            }
        }
    }
}

pub async fn an_idle_keep_alive_connection_is_closed_after_idle_timeout_and_an_active_one_is_not(
    s: &TestServer,
) {
    // idle_timeout is separate from header_read_timeout (here far longer, so only the idle
    // timeout can close the idle connection).
    let idle = Duration::from_millis(400);
    let quick = with_settings(s, |st| {
        st.limits.idle_timeout = idle;
        st.limits.header_read_timeout = Duration::from_secs(600);
    })
    .await;
    let mut idle_conn = TcpStream::connect(addr(&quick)).await.unwrap();
    let mut active = TcpStream::connect(addr(&quick)).await.unwrap();
    assert!(get_root_on(&mut idle_conn)
        .await
        .starts_with("HTTP/1.1 200"));
    let idle_since = Instant::now();
    // The active connection sends a request every 100 ms for over three idle timeouts: every
    // one is answered on the same connection.
    let active_until = Instant::now() + idle * 3 + Duration::from_millis(200);
    let mut answered = 0;
    while Instant::now() < active_until {
        let response = get_root_on(&mut active).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        answered += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered >= 10, "{answered} requests");
    // The idle one was closed meanwhile (the server's end: a read sees the end of the stream),
    // and not before the idle timeout.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(LIVENESS, idle_conn.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the idle connection was still open after {LIVENESS:?}"
    );
    assert!(buf.is_empty(), "{}", String::from_utf8_lossy(&buf));
    assert!(idle_since.elapsed() >= idle);
    // A connection that never sends anything is idle too.
    let mut silent = TcpStream::connect(addr(&quick)).await.unwrap();
    let opened = Instant::now();
    let read = tokio::time::timeout(LIVENESS, silent.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the silent connection was still open after {LIVENESS:?}"
    );
    assert!(
        opened.elapsed() >= idle - Duration::from_millis(50),
        "{:?}",
        opened.elapsed()
    );
    // After the active connection pauses past the timeout, it is closed too.
    tokio::time::sleep(idle + Duration::from_millis(300)).await;
    let read = tokio::time::timeout(LIVENESS, active.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the paused connection was still open");
    quick.stop().await;
}

pub async fn an_idle_connection_outlives_header_read_timeout_when_idle_timeout_is_longer(
    s: &TestServer,
) {
    let quick = with_settings(s, |st| {
        st.limits.header_read_timeout = Duration::from_millis(200);
        st.limits.idle_timeout = Duration::from_secs(600);
    })
    .await;
    let mut conn = TcpStream::connect(addr(&quick)).await.unwrap();
    assert!(get_root_on(&mut conn).await.starts_with("HTTP/1.1 200"));
    // Five header read timeouts of idleness: still open, and it answers the next request.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert!(get_root_on(&mut conn).await.starts_with("HTTP/1.1 200"));
    quick.stop().await;
}

pub async fn a_body_that_never_arrives_answers_408(s: &TestServer) {
    let quick = with_settings(s, |st| {
        st.limits.body_read_timeout = Duration::from_millis(300)
    })
    .await;
    let mut slow = TcpStream::connect(addr(&quick)).await.unwrap();
    slow.write_all(
        b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"sch",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(LIVENESS, slow.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"error_code\":408"), "{text}");
    assert!(text.contains("body_read_timeout"), "{text}");
    quick.stop().await;
}

pub async fn slow_work_answers_50002_after_the_request_timeout(s: &TestServer) {
    // Work that takes seconds against a 200 ms request timeout, so the timeout wins whatever
    // the machine's load: parsing the issue's two 425 KB nested anyOf schemas (cold caches)
    // and comparing them up to 50,000 pairs. (A timeout of zero raced the registration itself,
    // which is one database round trip and can finish before the timer's first tick.)
    let (mut ta, mut tb) = (0, 100_000);
    let v1 = nested_any_of(8, &mut ta).to_string();
    let v2 = nested_any_of(8, &mut tb).to_string();
    let body = |schema: &str| json!({"schemaType": "JSON", "schema": schema});
    let (status, registered) = s.post("/subjects/slow-work/versions", body(&v1)).await;
    assert_eq!(status, 200, "{registered}");
    let hasty = with_settings(s, |st| {
        st.limits.request_timeout = Duration::from_millis(200);
        st.limits.max_compared_pairs = 50_000;
    })
    .await;
    let (status, body) = hasty
        .post(
            "/compatibility/subjects/slow-work/versions/latest",
            body(&v2),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (500, json!(50002)),
        "{body}"
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("request_timeout"));
    assert_alive(&hasty, "after a timed-out request").await;
    hasty.stop().await;
}

pub async fn requests_beyond_the_concurrency_limit_answer_429(s: &TestServer) {
    let narrow = with_settings(s, |st| {
        st.limits.max_concurrent_requests = 1;
        st.limits.body_read_timeout = Duration::from_secs(10);
    })
    .await;
    // One request holds the only slot while its body trickles in.
    let hold = || async {
        let mut holder = TcpStream::connect(addr(&narrow)).await.unwrap();
        holder
            .write_all(b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            .await
            .unwrap();
        holder
    };
    let mut holder = hold().await;
    let deadline = Instant::now() + LIVENESS;
    loop {
        let (status, body) = narrow.get("/").await;
        // A `GET /` in flight when the holder's request came took the slot first and the
        // holder was refused (it has an answer to read): hold the slot again.
        let mut byte = [0u8; 1];
        if status != 429
            && tokio::time::timeout(Duration::from_millis(10), holder.peek(&mut byte))
                .await
                .is_ok()
        {
            holder = hold().await;
        }
        if status == 429 {
            assert_eq!(body["error_code"], 429, "{body}");
            assert!(body["message"]
                .as_str()
                .unwrap()
                .contains("max_concurrent_requests"));
            break;
        }
        assert!(Instant::now() < deadline, "never refused: {status} {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(holder);
    let deadline = Instant::now() + LIVENESS;
    while narrow.get("/").await.0 != 200 {
        assert!(Instant::now() < deadline, "the slot was never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    narrow.stop().await;
}

pub async fn get_root_stays_fast_while_heavy_registrations_run(s: &TestServer) {
    let fields: Vec<(String, &str, Option<Value>)> = (0..5_000)
        .map(|i| (format!("f{i}"), "string", None))
        .collect();
    let mut heavy = Vec::new();
    for n in 0..4 {
        let fields: Vec<(&str, &str, Option<Value>)> = fields
            .iter()
            .map(|(a, b, c)| (a.as_str(), *b, c.clone()))
            .collect();
        let schema = record(&format!("Wide{n}"), &fields);
        let client = s.client.clone();
        let url = format!("{}/subjects/wide-{n}/versions", s.base);
        heavy.push(tokio::spawn(async move {
            client
                .post(url)
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .body(json!({ "schema": schema }).to_string())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for _ in 0..10 {
        assert_alive(s, "during heavy registrations").await;
    }
    for h in heavy {
        assert_eq!(h.await.unwrap(), 200);
    }
}

pub async fn references_that_double_per_level_expand_linearly_and_are_refused_at_max_references(
    s: &TestServer,
) {
    // Level k has two schemas, each referencing both of level k-1: expanded as a tree, the
    // work doubles per level (the issue's 18 levels took 20 s). Confluent resolves each
    // reference name once per request, so level k expands its 2k distinct names, each
    // subject version fetched once; past max_references the request is refused, naming the
    // limit.
    let narrow = with_settings(s, |st| st.limits.max_references = 30).await;
    let leaf = |name: &str| json!({"type": "record", "name": name, "fields": [{"name": "x", "type": "int"}]});
    for side in ["a", "b"] {
        let body = json!({"schema": leaf(&format!("{}0", side.to_uppercase())).to_string()});
        assert_eq!(
            narrow
                .post(&format!("/subjects/{side}-0/versions"), body)
                .await
                .0,
            200
        );
    }
    let mut refused_at = None;
    for level in 1..=18 {
        let mut statuses = Vec::new();
        for side in ["a", "b"] {
            let name = format!("{}{level}", side.to_uppercase());
            let schema = json!({"type": "record", "name": name, "fields": [
                {"name": "a", "type": format!("A{}", level - 1)},
                {"name": "b", "type": format!("B{}", level - 1)},
            ]});
            let refs = json!([
                {"name": format!("A{}", level - 1), "subject": format!("a-{}", level - 1), "version": 1},
                {"name": format!("B{}", level - 1), "subject": format!("b-{}", level - 1), "version": 1},
            ]);
            let (status, body) = narrow
                .post(
                    &format!("/subjects/{side}-{level}/versions"),
                    json!({"schema": schema.to_string(), "references": refs}),
                )
                .await;
            if status != 200 {
                assert_eq!(body["error_code"], 42201, "level {level}: {body}");
                assert!(
                    body["message"].as_str().unwrap().contains("max_references"),
                    "{body}"
                );
            }
            statuses.push(status);
        }
        if statuses.iter().any(|s| *s != 200) {
            refused_at = Some(level);
            break;
        }
    }
    // Level k expands 2k names (A0..A(k-1), B0..B(k-1)): 30 at level 15, 32 at level 16. A
    // tree expansion (2 + 4 + … + 2^k) would have passed 30 at level 4.
    assert_eq!(refused_at, Some(16));
    assert_alive(&narrow, "references").await;
    narrow.stop().await;
}

pub async fn duplicate_reference_entries_collapse_into_the_first_as_confluent_resolves_them(
    s: &TestServer,
) {
    // Confluent resolves each reference name once per request, across the whole reference
    // graph: a repeated entry is skipped (after its version was looked up). A list of 50 copies
    // costs one expansion, not 50, and the stored list keeps the entries as given.
    let narrow = with_settings(s, |st| st.limits.max_references = 2).await;
    let leaf = json!({"type": "record", "name": "Leaf", "fields": [{"name": "x", "type": "int"}]});
    let (status, body) = narrow
        .post(
            "/subjects/dup-leaf/versions",
            json!({"schema": leaf.to_string()}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let entry = json!({"name": "Leaf", "subject": "dup-leaf", "version": 1});
    let refs: Vec<Value> = (0..50).map(|_| entry.clone()).collect();
    let schema =
        json!({"type": "record", "name": "Holder", "fields": [{"name": "l", "type": "Leaf"}]});
    let (status, body) = narrow
        .post(
            "/subjects/dup-holder/versions",
            json!({"schema": schema.to_string(), "references": refs}),
        )
        .await;
    assert_eq!(status, 200, "50 copies of one reference are one: {body}");
    let (status, version) = narrow.get("/subjects/dup-holder/versions/1").await;
    assert_eq!(status, 200, "{version}");
    assert_eq!(version["references"].as_array().map(Vec::len), Some(50));

    // The same entry deeper in the graph collapses too: Outer references Leaf and Mid, which
    // references Leaf again; Leaf is expanded once (2 expansions, within max_references = 2;
    // as a tree it would be 3).
    let mid = json!({"type": "record", "name": "Mid", "fields": [{"name": "l", "type": "Leaf"}]});
    let (status, body) = narrow
        .post(
            "/subjects/dup-mid/versions",
            json!({"schema": mid.to_string(), "references": [entry]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let outer = json!({"type": "record", "name": "Outer", "fields": [
        {"name": "l", "type": "Leaf"}, {"name": "m", "type": "Mid"}]});
    let refs = json!([entry, {"name": "Mid", "subject": "dup-mid", "version": 1}, entry]);
    let (status, body) = narrow
        .post(
            "/subjects/dup-outer/versions",
            json!({"schema": outer.to_string(), "references": refs}),
        )
        .await;
    assert_eq!(
        status, 200,
        "Leaf under Mid is the Leaf already resolved: {body}"
    );
    let (status, body) = narrow
        .post(
            "/subjects/dup-outer",
            json!({"schema": outer.to_string(), "references": refs}),
        )
        .await;
    assert_eq!(
        status, 200,
        "the lookup resolves the graph the same way: {body}"
    );
    assert_eq!(body["version"], 1, "{body}");
    // A third distinct name is past the limit.
    let (status, body) = narrow
        .post(
            "/subjects/dup-outer2/versions",
            json!({"schema": outer.to_string(), "references": [entry,
                {"name": "Mid", "subject": "dup-mid", "version": 1},
                {"name": "Other", "subject": "dup-mid", "version": 1}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("max_references"),
        "{body}"
    );

    // A repeated name whose version does not exist is still refused, as Confluent looks it up.
    let refs = json!([entry, {"name": "Leaf", "subject": "dup-missing", "version": 1}]);
    let (status, body) = narrow
        .post(
            "/subjects/dup-holder2/versions",
            json!({"schema": schema.to_string(), "references": refs}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error_code"], 42201, "{body}");
    narrow.stop().await;
}

fn nested_any_of(depth: usize, tag: &mut usize) -> Value {
    if depth == 0 {
        *tag += 1;
        return json!({"type": "object", "properties": {format!("p{tag}"): {"type": "string"}}});
    }
    let branches: Vec<Value> = (0..3).map(|_| nested_any_of(depth - 1, tag)).collect();
    json!({ "anyOf": branches })
}

pub async fn nested_combined_json_schemas_are_refused_at_max_compared_pairs(s: &TestServer) {
    // The issue's probe compared two depth-8 nested anyOf schemas for 52 s; here depth 6 with
    // a lowered limit keeps the test quick, the mechanism is the same.
    let bounded = with_settings(s, |st| st.limits.max_compared_pairs = 20_000).await;
    let (mut ta, mut tb) = (0, 10_000);
    let v1 = nested_any_of(6, &mut ta).to_string();
    let v2 = nested_any_of(6, &mut tb).to_string();
    let body = |schema: &str| json!({"schemaType": "JSON", "schema": schema});
    assert_eq!(
        bounded
            .post("/subjects/combined/versions", body(&v1))
            .await
            .0,
        200
    );
    let heavy = {
        let (client, base, v2) = (bounded.client.clone(), bounded.base.clone(), v2.clone());
        tokio::spawn(async move {
            let resp = client
                .post(format!("{base}/subjects/combined/versions"))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .body(json!({"schemaType": "JSON", "schema": v2}).to_string())
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        })
    };
    assert_alive(&bounded, "during a combined comparison").await;
    let (status, body_v2) = heavy.await.unwrap();
    assert_eq!(
        (status, body_v2["error_code"].clone()),
        (422, json!(42201)),
        "{body_v2}"
    );
    assert!(
        body_v2["message"]
            .as_str()
            .unwrap()
            .contains("max_compared_pairs"),
        "{body_v2}"
    );
    let (status, body_c) = bounded
        .post(
            "/compatibility/subjects/combined/versions/latest",
            body(&v2),
        )
        .await;
    assert_eq!(
        (status, body_c["error_code"].clone()),
        (422, json!(42201)),
        "{body_c}"
    );
    // Nothing was registered.
    assert_eq!(
        bounded.get("/subjects/combined/versions").await.1,
        json!([1])
    );
    bounded.stop().await;
}

pub async fn caches_stay_within_cache_max_bytes_and_evicted_entries_are_read_again(s: &TestServer) {
    let budget = 8 * 1024 * 1024;
    let mut settings = Settings::default();
    settings.limits.cache_max_bytes = budget;
    let app = strata_registry::Application::build(strata_registry::ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: s.database_url.clone(),
        settings,
    })
    .await
    .unwrap();
    let registry = app.registry();
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for n in 0..30 {
        // About 50 KB of Protobuf each: parsed forms alone would take about 12 MB.
        let fields: String = (1..=2_000)
            .map(|i| format!("  string field_{n}_{i} = {i};\n"))
            .collect();
        let schema = format!("syntax = \"proto3\";\nmessage Wide{n} {{\n{fields}}}\n");
        let resp = client
            .post(format!("{base}/subjects/wide-{n}/versions"))
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .body(json!({"schemaType": "PROTOBUF", "schema": schema}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        ids.push(resp.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
        let (_, bytes) = registry.cache_usage();
        assert!(bytes <= budget, "{bytes} bytes cached after {n} schemas");
    }
    // Everything still reads, from the cache or again from the database.
    for (n, id) in ids.iter().enumerate() {
        let by_id = client
            .get(format!("{base}/schemas/ids/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(by_id.status().as_u16(), 200);
        let text = by_id.json::<Value>().await.unwrap()["schema"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(text.contains(&format!("Wide{n}")));
        let version = client
            .get(format!("{base}/subjects/wide-{n}/versions/1"))
            .send()
            .await
            .unwrap();
        assert_eq!(version.status().as_u16(), 200);
    }
    let (entries, bytes) = registry.cache_usage();
    assert!(bytes <= budget, "{bytes} bytes cached");
    assert!(entries < 90, "nothing was evicted: {entries} entries");
    let _ = tx.send(());
    task.await.unwrap().unwrap();
}

pub async fn the_issues_450_kb_nested_any_of_probe_registers_and_its_comparison_is_refused_at_max_compared_pairs(
    s: &TestServer,
) {
    // Three branches per level, depth 8: about 425 KB. Registration took 11 GB of RSS and a
    // comparison of two such schemas 52 s; now the first registers and the comparison of the
    // second stops at max_compared_pairs. The budget is lowered so the refusal comes after a
    // fixed amount of work, whatever the machine's load: with the default budget a debug build
    // took 15 s alone and passed the 60 s request timeout (50002) under load. How long the
    // default budget takes is measured by `cargo bench -p strata-schema --bench hostile_sizes`
    // (group combined_default_budget). Without the budget the check runs to an answer.
    let probe = with_settings(s, |st| {
        st.limits.max_compared_pairs = 20_000;
        st.limits.request_timeout = LIVENESS * 20;
    })
    .await;
    let (mut ta, mut tb) = (0, 100_000);
    let v1 = nested_any_of(8, &mut ta).to_string();
    let v2 = nested_any_of(8, &mut tb).to_string();
    assert!(v1.len() > 400_000);
    let body = |schema: &str| json!({"schemaType": "JSON", "schema": schema});
    let (status, registered) = probe.post("/subjects/probe-450/versions", body(&v1)).await;
    assert_eq!(status, 200, "{registered}");
    let (status, refused) = probe
        .post(
            "/compatibility/subjects/probe-450/versions/latest",
            body(&v2),
        )
        .await;
    assert_eq!(
        (status, refused["error_code"].clone()),
        (422, json!(42201)),
        "{refused}"
    );
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("more than 20000 pairs of subschemas (max_compared_pairs)"),
        "{refused}"
    );
    assert_alive(&probe, "after the probe").await;
    probe.stop().await;
}

pub async fn nul_characters_are_refused_or_not_found_never_a_store_error(s: &TestServer) {
    // PostgreSQL text cannot hold NUL; found by the property test (a 500 on PostgreSQL).
    let (status, body) = s.get("/schemas/guids/%00").await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (404, json!(40403)),
        "{body}"
    );
    let (status, body) = s.get("/schemas/guids/a%00b/ids").await;
    assert!(status < 500, "{status} {body}");
    s.register_ok("nul-ref", &record("Ref", &[("a", "int", None)]))
        .await;
    for refs in [
        json!([{"name": "Ref\u{0}", "subject": "nul-ref", "version": 1}]),
        json!([{"name": "Ref", "subject": "nul-ref\u{0}", "version": 1}]),
    ] {
        let body = json!({"schema": record("Uses", &[("r", "Ref", None)]), "references": refs});
        let (status, answer) = s.post("/subjects/nul-user/versions", body).await;
        assert!((400..500).contains(&status), "{status} {answer}");
        assert!(answer["error_code"].is_u64(), "{answer}");
    }
    let proto =
        "syntax = \"proto3\";\n// a comment with \u{0} inside\nmessage M { string a = 1; }\n";
    let (status, answer) = s
        .post("/subjects/nul-proto/versions", proto_body(proto))
        .await;
    assert!(status < 500, "{status} {answer}");
    assert_alive(s, "NUL").await;
}

pub async fn a_schema_with_more_nodes_than_max_schema_nodes_is_refused_naming_the_limit(
    s: &TestServer,
) {
    let small = with_settings(s, |st| st.limits.max_schema_nodes = 1_000).await;
    let fields = |n: usize| -> String {
        let fields: Vec<Value> = (0..n)
            .map(|i| json!({"name": format!("f{i}"), "type": "int"}))
            .collect();
        json!({"type": "record", "name": "R", "fields": fields}).to_string()
    };
    let (status, body) = small.register("nodes", &fields(2_000)).await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42201)));
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("max_schema_nodes"),
        "{body}"
    );
    assert_eq!(small.register("nodes", &fields(500)).await.0, 200);
    small.stop().await;
}

on_both_engines!(
    a_schema_with_more_nodes_than_max_schema_nodes_is_refused_naming_the_limit,
    nul_characters_are_refused_or_not_found_never_a_store_error,
    the_issues_450_kb_nested_any_of_probe_registers_and_its_comparison_is_refused_at_max_compared_pairs,
    caches_stay_within_cache_max_bytes_and_evicted_entries_are_read_again,
    nested_combined_json_schemas_are_refused_at_max_compared_pairs,
    references_that_double_per_level_expand_linearly_and_are_refused_at_max_references,
    duplicate_reference_entries_collapse_into_the_first_as_confluent_resolves_them,
    protobuf_nested_800_deep_is_refused_on_every_endpoint_and_the_server_survives,
    deeply_nested_avro_json_schema_and_json_bodies_are_refused_and_the_server_survives,
    nesting_beyond_the_default_runs_on_large_stacks_when_the_limit_is_raised,
    a_body_over_the_limit_answers_413_with_a_confluent_body,
    extractor_rejections_answer_with_confluent_bodies,
    an_invalid_schema_error_quotes_only_a_short_prefix,
    a_client_sending_half_its_headers_is_disconnected,
    an_idle_keep_alive_connection_is_closed_after_idle_timeout_and_an_active_one_is_not,
    an_idle_connection_outlives_header_read_timeout_when_idle_timeout_is_longer,
    a_body_that_never_arrives_answers_408,
    slow_work_answers_50002_after_the_request_timeout,
    requests_beyond_the_concurrency_limit_answer_429,
    get_root_stays_fast_while_heavy_registrations_run,
);
