"""confluent-kafka for Python (pinned) against `strata serve --auth-file --tls-cert --tls-key`:
HTTPS trusted through `ssl.ca.location`, Basic credentials through `basic.auth.user.info`, and
Karapace's permission rules as a client sees them. The certificate is generated here (openssl),
the users file by `strata auth mkpasswd`."""

import json
import os
import subprocess
import tempfile

import pytest
from strata_process import strata_binary, strata_serve
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

ORDER = json.dumps(
    {"type": "record", "name": "Order", "fields": [{"name": "id", "type": "long"}]}
)


def _mkpasswd(binary: str, user: str, password: str) -> dict:
    out = subprocess.run(
        [binary, "auth", "mkpasswd", "-u", user],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture()
def secure_registry():
    binary = strata_binary()
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-keyout", key, "-out", cert, "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
        users = {
            "users": [_mkpasswd(binary, "admin", "admin-pw"), _mkpasswd(binary, "team", "team-pw")],
            "permissions": [
                {"username": "admin", "operation": "Write", "resource": ".*"},
                {"username": "team", "operation": "Write", "resource": "Subject:team-.*"},
            ],
        }
        users_file = os.path.join(tmp, "users.json")
        with open(users_file, "w") as f:
            json.dump(users, f)
        with strata_serve(
            tmp, "--auth-file", users_file, "--tls-cert", cert, "--tls-key", key
        ) as port:
            yield f"https://127.0.0.1:{port}", cert


def _client(url: str, ca: str, userinfo: str) -> SchemaRegistryClient:
    return SchemaRegistryClient(
        {"url": url, "ssl.ca.location": ca, "basic.auth.user.info": userinfo}
    )


def test_client_registers_and_reads_over_https_with_basic_auth(secure_registry):
    url, ca = secure_registry
    admin = _client(url, ca, "admin:admin-pw")
    schema_id = admin.register_schema("orders-value", Schema(ORDER, "AVRO"))
    assert admin.get_schema(schema_id).schema_type == "AVRO"
    assert admin.get_latest_version("orders-value").version == 1
    assert admin.get_subjects() == ["orders-value"]


def test_wrong_credentials_answer_401(secure_registry):
    url, ca = secure_registry
    with pytest.raises(SchemaRegistryError) as err:
        _client(url, ca, "admin:wrong").get_subjects()
    assert err.value.http_status_code == 401


def test_a_forbidden_subject_looks_missing_and_listings_are_filtered(secure_registry):
    url, ca = secure_registry
    admin = _client(url, ca, "admin:admin-pw")
    secret_id = admin.register_schema("orders-value", Schema(ORDER, "AVRO"))
    team = _client(url, ca, "team:team-pw")
    team.register_schema("team-value", Schema(ORDER, "AVRO"))
    assert team.get_subjects() == ["team-value"]
    with pytest.raises(SchemaRegistryError) as err:
        team.get_latest_version("orders-value")
    assert (err.value.http_status_code, err.value.error_code) == (404, 40401)
    with pytest.raises(SchemaRegistryError) as err:
        team.register_schema("orders-value", Schema(ORDER, "AVRO"))
    assert (err.value.http_status_code, err.value.error_code) == (404, 40401)
    # The id is shared with team-value, so it is readable; its subjects show only team-value.
    assert team.get_schema(secret_id).schema_type == "AVRO"
    with pytest.raises(SchemaRegistryError) as err:
        team.set_compatibility(level="NONE")
    assert err.value.http_status_code == 403


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture()
def mtls_registry():
    """strata serve requiring client certificates from a CA made here; the CN names the user."""
    with tempfile.TemporaryDirectory() as tmp:
        p = lambda name: os.path.join(tmp, name)  # noqa: E731
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                 "-keyout", p("server.key"), "-out", p("server.pem"), "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                 "-keyout", p("ca.key"), "-out", p("ca.pem"), "-subj", "/CN=strata test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", p("client.key"),
                 "-out", p("client.csr"), "-subj", "/CN=team")
        with open(p("client.ext"), "w") as f:
            f.write("extendedKeyUsage=clientAuth\n")
        _openssl("x509", "-req", "-in", p("client.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                 "-CAcreateserial", "-days", "1", "-out", p("client.pem"), "-extfile", p("client.ext"))
        with open(p("users.json"), "w") as f:
            json.dump({"users": [], "permissions": [
                {"username": "team", "operation": "Write", "resource": "Subject:team-.*"}]}, f)
        with strata_serve(
            tmp, "--auth-file", p("users.json"), "--tls-cert", p("server.pem"),
            "--tls-key", p("server.key"), "--tls-client-ca", p("ca.pem"),
        ) as port:
            yield f"https://127.0.0.1:{port}", p("server.pem"), p("client.pem"), p("client.key")


def test_client_certificates_authenticate_and_their_cn_names_the_user(mtls_registry):
    url, ca, cert, key = mtls_registry
    team = SchemaRegistryClient(
        {"url": url, "ssl.ca.location": ca, "ssl.certificate.location": cert,
         "ssl.key.location": key}
    )
    team.register_schema("team-value", Schema(ORDER, "AVRO"))
    assert team.get_subjects() == ["team-value"]
    with pytest.raises(SchemaRegistryError) as err:
        team.register_schema("orders-value", Schema(ORDER, "AVRO"))
    assert (err.value.http_status_code, err.value.error_code) == (404, 40401)
    # Without a client certificate the TLS handshake fails.
    anonymous = SchemaRegistryClient({"url": url, "ssl.ca.location": ca})
    with pytest.raises(Exception) as err:
        anonymous.get_subjects()
    assert not isinstance(err.value, SchemaRegistryError), "no HTTP answer at all"
