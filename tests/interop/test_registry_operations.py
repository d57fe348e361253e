"""The operations endpoints of a real `strata serve`, read by the reference tools: the OpenAPI
document checked by `openapi-spec-validator`, and `/metrics` parsed by the Prometheus Python
client's strict OpenMetrics parser, with counters checked to move after requests. Both are
served without credentials, also when a users file requires them for the API."""

import json
import os
import tempfile
import urllib.error
import urllib.request

from openapi_spec_validator import validate
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from strata_process import free_port, strata_serve

ORDER = json.dumps(
    {"type": "record", "name": "Order", "fields": [{"name": "id", "type": "long"}]}
)


def _get(url: str):
    try:
        with urllib.request.urlopen(url) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def _post(url: str, body: dict):
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def _samples(text: str) -> dict:
    """Every sample as (name, sorted labels) -> value, parsed strictly."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_the_openapi_document_is_valid_openapi(registry_url):
    status, content_type, body = _get(f"{registry_url}/openapi.json")
    assert status == 200 and content_type.startswith("application/json")
    document = json.loads(body)
    validate(document)
    assert "/subjects/{subject}/versions" in document["paths"]
    assert "post" in document["paths"]["/subjects/{subject}/versions"]


def test_metrics_parse_as_openmetrics_and_count_requests(registry_url):
    key = (
        "strata_http_requests_total",
        (("method", "GET"), ("route", "/schemas/ids/{id}"), ("status", "200")),
    )
    status, content_type, before = _get(f"{registry_url}/metrics")
    assert status == 200 and content_type.startswith("application/openmetrics-text")
    schema_id = _post(f"{registry_url}/subjects/orders-value/versions", {"schema": ORDER})["id"]
    for _ in range(2):
        assert _get(f"{registry_url}/schemas/ids/{schema_id}")[0] == 200
    after = _samples(_get(f"{registry_url}/metrics")[2])
    assert after[key] - _samples(before).get(key, 0) == 2
    assert after[("strata_registrations_total", ())] == 1
    assert after[("strata_subjects", ())] == 1
    build = [(labels, v) for (name, labels), v in after.items() if name == "strata_build_info"]
    assert len(build) == 1 and build[0][1] == 1 and dict(build[0][0])["version"]


def test_metrics_and_openapi_need_no_credentials_when_the_api_does():
    with tempfile.TemporaryDirectory() as tmp:
        users = os.path.join(tmp, "users.json")
        with open(users, "w") as f:
            json.dump({"users": [], "permissions": []}, f)
        metrics_port = free_port()
        with strata_serve(
            tmp, "--auth-file", users, "--metrics-listen", f"127.0.0.1:{metrics_port}"
        ) as port:
            assert _get(f"http://127.0.0.1:{port}/subjects")[0] == 401
            assert _get(f"http://127.0.0.1:{port}/openapi.json")[0] == 200
            # --metrics-listen: served there, not on the API's port (where an unknown path
            # needs credentials like any other).
            assert _get(f"http://127.0.0.1:{port}/metrics")[0] == 401
            status, _, text = _get(f"http://127.0.0.1:{metrics_port}/metrics")
            assert status == 200
            samples = _samples(text)
            assert samples[
                (
                    "strata_http_requests_total",
                    (("method", "GET"), ("route", "/subjects"), ("status", "401")),
                )
            ] == 1
