"""Fixtures: a real `strata serve` process on a free loopback port with a fresh SQLite file."""

import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def registry_url():
    binary = os.environ.get("STRATA_BIN")
    if not binary or not os.path.exists(binary):
        pytest.fail("STRATA_BIN must name the built strata binary (scripts/test.sh sets it)")
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        log = open(os.path.join(tmp, "serve.log"), "w")
        proc = subprocess.Popen(
            [
                binary,
                "serve",
                "--listen",
                f"127.0.0.1:{port}",
                "--database-url",
                f"sqlite://{tmp}/registry.db",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 30
            while True:
                try:
                    urllib.request.urlopen(url + "/", timeout=1).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        log.flush()
                        pytest.fail("strata serve did not start: " + open(log.name).read())
                    time.sleep(0.05)
            yield url
        finally:
            proc.terminate()
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            log.close()
            assert code == 0, "strata serve must shut down cleanly on SIGTERM: " + open(log.name).read()
