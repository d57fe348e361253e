"""Fixtures: a real `strata serve` process on a free loopback port with a fresh SQLite file."""

import tempfile

import pytest
from strata_process import strata_serve


@pytest.fixture()
def registry_url():
    with tempfile.TemporaryDirectory() as tmp:
        with strata_serve(tmp) as port:
            yield f"http://127.0.0.1:{port}"
