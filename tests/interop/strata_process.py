"""One way to run a real `strata serve` for the interop fixtures: a free loopback port, a fresh
SQLite file in the caller's temporary directory, a wait until the port accepts connections, and
a clean SIGTERM shutdown checked at the end."""

import contextlib
import os
import socket
import subprocess
import time

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def strata_binary() -> str:
    binary = os.environ.get("STRATA_BIN")
    if not binary or not os.path.exists(binary):
        pytest.fail("STRATA_BIN must name the built strata binary (scripts/test.sh sets it)")
    return binary


@contextlib.contextmanager
def strata_serve(tmp: str, *extra_args: str):
    """Run `strata serve` on a free port with its database in `tmp`, plus `extra_args`; yield
    the port once it accepts connections; stop it with SIGTERM and require a clean exit."""
    port = free_port()
    log = open(os.path.join(tmp, "serve.log"), "w")
    proc = subprocess.Popen(
        [
            strata_binary(),
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--database-url",
            f"sqlite://{tmp}/registry.db",
            *extra_args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail("strata serve did not start: " + open(log.name).read())
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        log.close()
        assert code == 0, "strata serve must shut down cleanly on SIGTERM: " + open(log.name).read()
