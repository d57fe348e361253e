//! `strata auth mkpasswd` and `strata serve --auth-file`, as users run them: entries printed
//! by mkpasswd let their user in through the CLI's `--basic-auth`, and nobody else.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::serve::free_port;

fn mkpasswd(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["auth", "mkpasswd"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strata runs");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    let out = child.wait_with_output().expect("strata ends");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn serve(dir: &std::path::Path, listen: &str, auth_file: Option<&std::path::Path>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.arg("serve")
        .env("STRATA_LISTEN", listen)
        .env(
            "STRATA_DATABASE_URL",
            format!("sqlite://{}/r.db", dir.display()),
        )
        .env("STRATA_LOG", "info")
        .env_remove("STRATA_AUTH_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(path) = auth_file {
        // Through the environment, as the README documents.
        cmd.env("STRATA_AUTH_FILE", path);
    }
    cmd.spawn().expect("strata serve starts")
}

fn wait_up(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "strata serve did not come up");
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// Wait until the server answers HTTP (not only accepts connections): by then it has logged
/// what it logs at start, and a SIGTERM reaches its shutdown handler.
fn wait_serving(port: u16) {
    use std::io::Read as _;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answered = std::net::TcpStream::connect(("127.0.0.1", port))
            .and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(5)))?;
                s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
                let mut head = [0u8; 12];
                s.read_exact(&mut head)?;
                Ok(head.starts_with(b"HTTP/1.1 200"))
            })
            .unwrap_or(false);
        if answered {
            return;
        }
        assert!(Instant::now() < deadline, "strata serve did not answer");
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// Stop the server and return what it logged.
fn stop(child: Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("serve ends");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn subjects_list(base: &str, basic_auth: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(["subjects", "list", "--registry", base, "--output", "json"])
        .env_remove("STRATA_REGISTRY_BASIC_AUTH")
        .env_remove("STRATA_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent");
    if let Some(auth) = basic_auth {
        cmd.args(["--basic-auth", auth]);
    }
    let out = cmd.output().expect("strata runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn mkpasswd_entries_let_their_user_in_and_nobody_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut users = Vec::new();
    // One entry per algorithm from the argument, one from standard input.
    for algorithm in ["argon2id", "sha512", "sha256", "sha1", "scrypt"] {
        let user = format!("u-{algorithm}");
        let (code, stdout, stderr) = mkpasswd(
            &[
                "-u",
                &user,
                "-a",
                algorithm,
                "-i",
                "1000",
                &format!("pw-{algorithm}"),
            ],
            None,
        );
        assert_eq!(code, 0, "{algorithm}: {stderr}");
        assert!(
            stdout.contains("\n    \"username\""),
            "indented by four:\n{stdout}"
        );
        let entry: Value = serde_json::from_str(&stdout).expect("an entry");
        assert_eq!(entry["username"], user.as_str());
        assert_eq!(entry["algorithm"], algorithm);
        assert!(
            !stdout.contains(&format!("pw-{algorithm}")),
            "no clear password"
        );
        users.push(entry);
    }
    let (code, stdout, stderr) = mkpasswd(&["-u", "piped"], Some("from stdin\n"));
    assert_eq!(code, 0, "{stderr}");
    let piped: Value = serde_json::from_str(&stdout).expect("an entry");
    assert_eq!(piped["algorithm"], "argon2id", "argon2id is the default");
    users.push(piped);

    let permissions: Vec<Value> = users
        .iter()
        .map(|u| json!({"username": u["username"], "operation": "Write", "resource": ".*"}))
        .collect();
    let file = dir.path().join("users.json");
    std::fs::write(
        &file,
        json!({"users": users, "permissions": permissions}).to_string(),
    )
    .expect("write users file");

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = serve(dir.path(), &format!("127.0.0.1:{port}"), Some(&file));
    wait_up(port);
    for algorithm in ["argon2id", "sha512", "sha256", "sha1", "scrypt"] {
        let good = format!("u-{algorithm}:pw-{algorithm}");
        assert_eq!(subjects_list(&base, Some(&good)).0, 0, "{algorithm}");
        let bad = format!("u-{algorithm}:pw-wrong");
        let (code, out) = subjects_list(&base, Some(&bad));
        assert_eq!(code, 1, "{algorithm}: {out}");
    }
    assert_eq!(subjects_list(&base, Some("piped:from stdin")).0, 0);
    let (code, out) = subjects_list(&base, None);
    assert_eq!(code, 1, "without credentials: {out}");
    let log = stop(child);
    assert!(log.contains("credentials required"), "{log}");
    assert!(
        log.contains("authentication failed"),
        "failed attempts are logged: {log}"
    );
    assert!(!log.contains("pw-wrong"), "never the password: {log}");
    assert!(!log.contains("without authentication"), "{log}");
}

#[test]
fn mkpasswd_refuses_unknown_algorithms_and_empty_passwords() {
    let (code, _, stderr) = mkpasswd(&["-u", "a", "-a", "md5", "pw"], None);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown hash algorithm 'md5'"), "{stderr}");
    let (code, _, stderr) = mkpasswd(&["-u", "a"], Some(""));
    assert_eq!(code, 2);
    assert!(stderr.contains("the password is empty"), "{stderr}");
}

#[test]
fn serve_refuses_a_users_file_that_does_not_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("users.json");
    std::fs::write(&file, "{\"users\": [").expect("write");
    let port = free_port();
    let child = serve(dir.path(), &format!("127.0.0.1:{port}"), Some(&file));
    let out = child.wait_with_output().expect("serve ends");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the users file is not valid"), "{stderr}");
}

#[test]
fn serve_without_a_users_file_warns_when_listening_beyond_loopback() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let child = serve(dir.path(), &format!("0.0.0.0:{port}"), None);
    wait_serving(port);
    let log = stop(child);
    assert!(
        log.contains("without authentication") && log.contains("--auth-file"),
        "{log}"
    );
    let port = free_port();
    let child = serve(dir.path(), &format!("127.0.0.1:{port}"), None);
    wait_serving(port);
    let log = stop(child);
    assert!(!log.contains("without authentication"), "{log}");
}

#[tokio::test]
async fn every_mutation_is_one_audit_line_on_its_own_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut users = Vec::new();
    for (user, pw) in [("admin", "admin-pw"), ("reader", "reader-pw")] {
        let (code, stdout, stderr) =
            mkpasswd(&["-u", user, "-a", "sha256", "-i", "1000", pw], None);
        assert_eq!(code, 0, "{stderr}");
        users.push(serde_json::from_str::<Value>(&stdout).expect("entry"));
    }
    let file = dir.path().join("users.json");
    let text = json!({"users": users, "permissions": [
        {"username": "admin", "operation": "Write", "resource": ".*"},
        {"username": "reader", "operation": "Read", "resource": ".*"},
    ]});
    std::fs::write(&file, text.to_string()).expect("write");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    let child = cmd
        .args(["serve", "--log-format", "json", "--auth-file"])
        .arg(&file)
        .env("STRATA_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "STRATA_DATABASE_URL",
            format!("sqlite://{}/r.db", dir.path().display()),
        )
        // Only the audit target: what an operator routing it separately would set.
        .env("STRATA_LOG", "off,audit=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    wait_up(port);
    let client = reqwest::Client::new();
    let schema = json!({"schema": json!({"type": "record", "name": "O", "fields": [{"name": "a", "type": "int"}]}).to_string()});
    let send = |method: reqwest::Method, path: &str, who: (&str, &str), body: Option<&Value>| {
        let mut req = client
            .request(method, format!("{base}{path}"))
            .basic_auth(who.0, Some(who.1));
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        req.send()
    };
    let admin = ("admin", "admin-pw");
    let reader = ("reader", "reader-pw");
    use reqwest::Method;
    let r = send(
        Method::POST,
        "/subjects/orders-value/versions",
        admin,
        Some(&schema),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    // Reads, lookups and compatibility tests are not audited.
    send(Method::GET, "/subjects", admin, None).await.unwrap();
    send(Method::POST, "/subjects/orders-value", admin, Some(&schema))
        .await
        .unwrap();
    let r = send(
        Method::POST,
        "/subjects/orders-value/versions",
        reader,
        Some(&schema),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let r = send(
        Method::PUT,
        "/config",
        admin,
        Some(&json!({"compatibility": "NONE"})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = send(Method::DELETE, "/subjects/orders-value", admin, None)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .put(format!("{base}/mode"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let log = stop(child);
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    assert!(lines.iter().all(|l| l["target"] == "audit"), "{log}");
    let seen: Vec<Value> = lines
        .iter()
        .map(|l| {
            let f = &l["fields"];
            json!([
                f["user"],
                f["method"],
                f["route"],
                f["subject"],
                f["version"],
                f["outcome"],
                f["status"]
            ])
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            json!([
                "admin",
                "POST",
                "/subjects/{subject}/versions",
                "orders-value",
                "1",
                "ok",
                200
            ]),
            json!([
                "reader",
                "POST",
                "/subjects/{subject}/versions",
                "orders-value",
                "",
                "refused",
                403
            ]),
            json!(["admin", "PUT", "/config", "", "", "ok", 200]),
            json!([
                "admin",
                "DELETE",
                "/subjects/{subject}",
                "orders-value",
                "1",
                "ok",
                200
            ]),
            json!(["", "PUT", "/mode", "", "", "refused", 401]),
        ],
        "{log}"
    );
    assert_eq!(lines[0]["fields"]["id"], "1");
    assert!(lines[0]["fields"]["remote"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
}

#[test]
fn serve_speaks_https_to_the_cli_trusting_a_private_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("certificate");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write cert");
    std::fs::write(&key_path, key_pair.serialize_pem()).expect("write key");
    let (code, entry, stderr) = mkpasswd(&["-u", "admin", "admin-pw"], None);
    assert_eq!(code, 0, "{stderr}");
    let entry: Value = serde_json::from_str(&entry).expect("entry");
    let file = dir.path().join("users.json");
    let users = json!({"users": [entry], "permissions": [
        {"username": "admin", "operation": "Write", "resource": ".*"}]});
    std::fs::write(&file, users.to_string()).expect("write users");

    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("serve")
        .arg("--auth-file")
        .arg(&file)
        .env("STRATA_TLS_CERT", &cert_path)
        .env("STRATA_TLS_KEY", &key_path)
        .env("STRATA_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "STRATA_DATABASE_URL",
            format!("sqlite://{}/r.db", dir.path().display()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    wait_up(port);
    let base = format!("https://127.0.0.1:{port}");
    let ca = cert_path.display().to_string();
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["subjects", "list", "--registry", &base, "--output", "json"])
            .args(extra)
            .env_remove("STRATA_REGISTRY_BASIC_AUTH")
            .env_remove("STRATA_REGISTRY_CA_CERT")
            .env_remove("STRATA_CONFIG")
            .env("XDG_CONFIG_HOME", dir.path().join("no-config"))
            .output()
            .expect("strata runs");
        (
            out.status.code().expect("exit code"),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, out) = run(&["--ca-cert", &ca, "--basic-auth", "admin:admin-pw"]);
    assert_eq!((code, out.trim()), (0, "[]"), "{out}");
    let (code, out) = run(&["--ca-cert", &ca, "--basic-auth", "admin:wrong"]);
    assert_eq!(code, 1, "wrong password: {out}");
    let (code, out) = run(&["--basic-auth", "admin:admin-pw"]);
    assert_ne!(code, 0, "a CA the CLI does not trust: {out}");
    let log = stop(child);
    assert!(
        log.contains("tls=true") || log.contains("tls: true"),
        "{log}"
    );
}

/// A CA, a server certificate for 127.0.0.1 it issued, and a client certificate for `cn` it
/// issued: (CA PEM, server cert PEM, server key PEM, client cert PEM, client key PEM).
fn mtls_certificates(cn: &str) -> (String, String, String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "strata test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client = params.signed_by(&client_key, &ca, &ca_key).unwrap();
    (
        ca.pem(),
        server.pem(),
        server_key.serialize_pem(),
        client.pem(),
        client_key.serialize_pem(),
    )
}

#[test]
fn the_cli_presents_a_client_certificate_from_flags_or_the_config_file_to_an_mtls_registry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let (ca, server_cert, server_key, client_cert, client_key) = mtls_certificates("team");
    let (_, _, _, _, other_key) = mtls_certificates("other");
    for (name, text) in [
        ("ca.pem", &ca),
        ("server.pem", &server_cert),
        ("server-key.pem", &server_key),
        ("client.pem", &client_cert),
        ("client-key.pem", &client_key),
        ("other-key.pem", &other_key),
    ] {
        std::fs::write(d.join(name), text).expect("write");
    }
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("serve")
        .arg("--tls-cert")
        .arg(d.join("server.pem"))
        .arg("--tls-key")
        .arg(d.join("server-key.pem"))
        .arg("--tls-client-ca")
        .arg(d.join("ca.pem"))
        .env("STRATA_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "STRATA_DATABASE_URL",
            format!("sqlite://{}/r.db", d.display()),
        )
        .env_remove("STRATA_AUTH_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    wait_up(port);
    let base = format!("https://127.0.0.1:{port}");
    let path = |name: &str| d.join(name).display().to_string();
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["subjects", "list", "--registry", &base, "--output", "json"])
            .args(extra)
            .env_remove("STRATA_REGISTRY_CA_CERT")
            .env_remove("STRATA_REGISTRY_CLIENT_CERT")
            .env_remove("STRATA_REGISTRY_CLIENT_KEY")
            .env_remove("STRATA_CONFIG")
            .env("XDG_CONFIG_HOME", d.join("no-config"))
            .output()
            .expect("strata runs");
        (
            out.status.code().expect("exit code"),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let ca_flag = path("ca.pem");
    let (code, out) = run(&[
        "--ca-cert",
        &ca_flag,
        "--client-cert",
        &path("client.pem"),
        "--client-key",
        &path("client-key.pem"),
    ]);
    assert_eq!((code, out.trim()), (0, "[]"), "flags: {out}");

    // The same from the config file.
    let config = d.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[registry]\nca_cert = {:?}\nclient_cert = {:?}\nclient_key = {:?}\n",
            path("ca.pem"),
            path("client.pem"),
            path("client-key.pem")
        ),
    )
    .unwrap();
    let config_flag = config.display().to_string();
    let (code, out) = run(&["--config", &config_flag]);
    assert_eq!((code, out.trim()), (0, "[]"), "config file: {out}");

    // No certificate: the registry refuses the handshake.
    let (code, out) = run(&["--ca-cert", &ca_flag]);
    assert_ne!(code, 0, "no client certificate: {out}");

    // A certificate without its key, a key of another certificate, a key file that holds no
    // key: clear errors naming the problem, before any request.
    let (code, out) = run(&["--ca-cert", &ca_flag, "--client-cert", &path("client.pem")]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("needs its private key"), "{out}");
    let (code, out) = run(&[
        "--ca-cert",
        &ca_flag,
        "--client-cert",
        &path("client.pem"),
        "--client-key",
        &path("other-key.pem"),
    ]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("does the key belong to the certificate?"),
        "{out}"
    );
    let (code, out) = run(&[
        "--ca-cert",
        &ca_flag,
        "--client-cert",
        &path("client.pem"),
        "--client-key",
        &path("client.pem"),
    ]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("holds no PEM private key"), "{out}");
    let (code, out) = run(&[
        "--ca-cert",
        &ca_flag,
        "--client-cert",
        &path("client.pem"),
        "--client-key",
        &path("missing-key.pem"),
    ]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("cannot read the client key"), "{out}");
    stop(child);
}
