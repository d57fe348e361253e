#!/usr/bin/env bash
# The whole test suite, as the README gives it and as CI runs it (.ci/run).
#
# Installs what is missing (PostgreSQL server packages when root and TEST_DATABASE_URL is
# unset; curl and jq for the README's examples; a Python venv with confluent-kafka under
# target/ for the interop suite; kcat, and kafkajs from npm under target/interop-node), then runs `cargo test --workspace` and the interop suite
# against a real `strata serve`. What these need and why: docs/development.md.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# apt-get update and install, tried three times: a mirror that fails once does not fail CI.
apt_install() {
  local try
  for try in 1 2 3; do
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; then
      return 0
    fi
    echo "warning: apt-get install $* failed (try $try of 3)" >&2
    sleep 10
  done
  return 1
}

# 1. PostgreSQL server binaries for the throwaway test server.
if [ -z "${TEST_DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    step "installing PostgreSQL server packages"
    apt_install postgresql
  else
    echo "error: PostgreSQL server binaries are missing. Install them (apt-get install postgresql)" >&2
    echo "       or set TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB." >&2
    exit 2
  fi
fi

# 2. curl and jq: the README's examples (run by cli/tests/cli/readme.rs) use them.
if ! command -v curl >/dev/null || ! command -v jq >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    step "installing curl and jq"
    apt_install curl jq
  else
    echo "error: curl or jq is missing (the README's examples use them): apt-get install curl jq" >&2
    exit 2
  fi
fi

# 2b. kcat (librdkafka's command-line client) for the Kafka listener's interop tests
#     (tests/interop/test_kafka_clients.py skips its kcat tests, saying so, when it is missing).
if ! command -v kcat >/dev/null && ! command -v kafkacat >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    step "installing kcat"
    apt_install kcat \
      || echo "warning: kcat could not be installed; its interop tests will be skipped" >&2
  else
    echo "note: kcat is missing and this is not root; its interop tests will be skipped" >&2
  fi
fi

# 3. The Python venv for interop tests (confluent-kafka pinned; see docs/development.md).
VENV=target/interop-venv
PY_PACKAGES=(
  "confluent-kafka==2.16.1" fastavro attrs cachetools httpx certifi authlib requests
  protobuf googleapis-common-protos jsonschema referencing orjson pytest "kafka-python==3.0.12"
  openapi-spec-validator prometheus-client
)
if ! "$VENV/bin/python" -c "import confluent_kafka, fastavro, pytest, google.protobuf, jsonschema, kafka, openapi_spec_validator, prometheus_client" >/dev/null 2>&1; then
  # Debian's python3 lacks the venv module (ensurepip) until python3-venv is installed.
  if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      step "installing python3-venv"
      apt_install python3 python3-venv
    else
      echo "error: python3 with the venv module is missing: apt-get install python3-venv" >&2
      exit 2
    fi
  fi
  step "creating the interop venv in $VENV"
  mkdir -p target
  # A venv left half made by an interrupted run is made again from scratch.
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --retries 10 --timeout 60 "${PY_PACKAGES[@]}"
fi

# 3b. kafkajs (pinned) from npm into target/interop-node for the Kafka listener's interop test
#     (tests/interop/test_kafka_clients.py runs tests/interop/kafkajs/roundtrip.js with it, and
#     skips, saying so, when node or kafkajs is missing).
KAFKAJS_VERSION=2.2.4
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    step "installing nodejs and npm (for the kafkajs interop test)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null \
      || echo "WARNING: nodejs/npm could not be installed; the kafkajs interop test will be SKIPPED" >&2
  else
    echo "WARNING: node/npm are missing and this is not root; the kafkajs interop test will be SKIPPED" >&2
  fi
fi
if command -v npm >/dev/null \
  && ! grep -qs "\"version\": \"$KAFKAJS_VERSION\"" target/interop-node/node_modules/kafkajs/package.json; then
  step "installing kafkajs $KAFKAJS_VERSION into target/interop-node"
  mkdir -p target/interop-node
  npm install --prefix target/interop-node --no-audit --no-fund --silent "kafkajs@$KAFKAJS_VERSION" \
    || echo "WARNING: kafkajs could not be installed; its interop test will be SKIPPED" >&2
fi

# 4. The Rust workspace.
step "building"
cargo build --workspace --all-targets --locked
step "cargo test --workspace"
# Every test binary runs even when one fails, so a run reports all failures at once; the
# script still fails (and stops before the interop suite) if any did.
cargo test --workspace --locked --no-fail-fast

# 5. Interop: the real confluent-kafka client against the real binary.
step "interop suite (confluent-kafka for Python against strata serve)"
STRATA_BIN="$PWD/target/debug/strata" "$VENV/bin/python" -m pytest -q tests/interop
