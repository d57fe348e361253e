#!/usr/bin/env bash
# Registry benchmark (issue: read path and PostgreSQL registrations).
#
#  1. `strata serve` (release) on SQLite; registers 1,000 Avro schemas; then, in the same run,
#     wrk drives GET /schemas/ids/{id} over random ids and GET / (the HTTP floor of the same
#     server). Prints both rates, p99 latencies and their ratio (target: ratio >= 0.7, p99 < 5 ms
#     at 32 connections).
#     Then, in the same run, a second server (same binary, same database) with --auth-file: the
#     same GET /schemas/ids/{id} load with Basic credentials (argon2id; verified credentials are
#     cached), for a user with Read on `.*` and one with Read on `Subject:bench-.*` (whose
#     reads check the subjects holding each id). Runs alternate, no auth then auth, for
#     BENCH_ROUNDS rounds, and each pair's ratio is printed (the machine's load drifts; a pair
#     runs back to back). Target: both users within 10% of no auth (ratio >= 0.9).
#  2. `strata serve` on a throwaway PostgreSQL; wrk with 16 connections registers new schemas
#     (each request a new subject and a new schema). In the same run and on the same server, the
#     baseline: pgbench with as many clients, each transaction one single-row INSERT into a
#     scratch table (`pgbench -n -f insert.sql -c 16 -j 2 -T N`), run before and after the
#     registrations (the ratio is to their mean). Prints the rates, their ratio
#     (targets: >= 0.25x pgbench and >= 2,000 registrations/s) and the database transactions
#     per registration (pg_stat_database.xact_commit).
#
# Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (32), BENCH_WRITERS (16),
# BENCH_ROUNDS (3: pairs of no-auth and auth runs per user), BENCH_ONLY=postgres (part 2 alone),
# BENCH_ONLY=read (part 1 alone), STRATA_BIN (a `strata` binary to use instead of building
# one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-32}
WRITERS=${BENCH_WRITERS:-16}

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else echo "error: wrk is missing; install it (apt-get install wrk)" >&2; exit 2; fi
fi
if [ -n "${STRATA_BIN:-}" ]; then
  BIN=$STRATA_BIN
else
  cargo build --release -p strata-cli --locked
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/strata
fi
ONLY=${BENCH_ONLY:-all}
WORK=$(mktemp -d /tmp/strata-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${PGDATA_DIR:-}" ]; then
    runas "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 200); do curl -sf "$1/" >/dev/null && return 0; sleep 0.05; done; echo "server at $1 did not start" >&2; exit 1; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
runas() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "$ONLY" != postgres ]; then
echo "== 1. read path on SQLite =="
PORT=$(free_port)
"$BIN" serve --listen 127.0.0.1:$PORT --database-url "sqlite://$WORK/registry.db" --log-format json 2>"$WORK/serve.log" &
PIDS+=($!)
URL=http://127.0.0.1:$PORT
wait_up "$URL"
python3 - "$URL" <<'PY'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port)
for i in range(1000):
    schema = {"type": "record", "name": f"Rec{i}", "namespace": "bench",
              "fields": [{"name": "id", "type": "long"}, {"name": f"f{i}", "type": "string"}]}
    c.request("POST", f"/subjects/bench-{i}-value/versions", json.dumps({"schema": json.dumps(schema)}),
              {"Content-Type": "application/json"})
    r = c.getresponse(); body = r.read()
    assert r.status == 200, body
print("registered 1000 schemas")
PY
# Warm the cache (first reads load from the database), then measure.
BENCH_IDS=1000 wrk -t2 -c8 -d2s -s scripts/bench/get_ids.lua "$URL" >/dev/null
IDS=$(BENCH_IDS=1000 wrk -t2 -c$CONNS -d${SECS}s --latency -s scripts/bench/get_ids.lua "$URL" | grep RESULT)
ROOTR=$(wrk -t2 -c$CONNS -d${SECS}s --latency -s scripts/bench/root.lua "$URL/" | grep RESULT)
echo "GET /schemas/ids/{id}: $IDS"
echo "GET / (HTTP floor):    $ROOTR"
RATIO=$(python3 -c "print(f'{$(field rps "$IDS")/$(field rps "$ROOTR"):.2f}')")
echo "ratio ids/floor = $RATIO (target >= 0.7); p99 ids = $(field p99_ms "$IDS") ms (target < 5 ms)"

echo
echo "== 1b. the same read path with --auth-file, alternating with no auth =="
python3 - "$BIN" "$WORK/users.json" <<'PY'
import json, subprocess, sys
entry = lambda u, p: json.loads(subprocess.run([sys.argv[1], "auth", "mkpasswd", "-u", u, p],
                                                capture_output=True, text=True, check=True).stdout)
json.dump({"users": [entry("admin", "admin-pw"), entry("team", "team-pw")],
           "permissions": [{"username": "admin", "operation": "Read", "resource": ".*"},
                           {"username": "team", "operation": "Read", "resource": "Subject:bench-.*"}]},
          open(sys.argv[2], "w"))
PY
# The same binary and database; the no-auth server above stays up, so each auth run is paired
# with a no-auth run just before it.
PORT3=$(free_port)
"$BIN" serve --listen 127.0.0.1:$PORT3 --database-url "sqlite://$WORK/registry.db" --auth-file "$WORK/users.json" --log-format json 2>"$WORK/serve-auth.log" &
PIDS+=($!)
URL3=http://127.0.0.1:$PORT3
wait_up "$URL3"
ADMIN="Authorization: Basic $(printf admin:admin-pw | base64)"
TEAM="Authorization: Basic $(printf team:team-pw | base64)"
# Warm both users' caches as the no-auth server's was (verified credentials; for the limited
# user, the subjects of each id).
BENCH_IDS=1000 wrk -t2 -c8 -d2s -H "$ADMIN" -s scripts/bench/get_ids.lua "$URL3" >/dev/null
BENCH_IDS=1000 wrk -t2 -c8 -d2s -H "$TEAM" -s scripts/bench/get_ids.lua "$URL3" >/dev/null
ids_run() { BENCH_IDS=1000 wrk -t2 -c$CONNS -d${SECS}s --latency -s scripts/bench/get_ids.lua "$@" | grep RESULT; }
ROUNDS=${BENCH_ROUNDS:-3}
ADMIN_RATIOS=()
TEAM_RATIOS=()
for round in $(seq 1 "$ROUNDS"); do
  for who in admin team; do
    BASE=$(ids_run "$URL")
    if [ $who = admin ]; then RUN=$(ids_run -H "$ADMIN" "$URL3"); else RUN=$(ids_run -H "$TEAM" "$URL3"); fi
    R=$(python3 -c "print(f'{$(field rps "$RUN")/$(field rps "$BASE"):.2f}')")
    if [ $who = admin ]; then ADMIN_RATIOS+=("$R"); else TEAM_RATIOS+=("$R"); fi
    printf 'round %d  no auth:         %s\n' "$round" "$BASE"
    printf 'round %d  %-15s %s  ratio %s\n' "$round" "$([ $who = admin ] && echo 'Read .*:' || echo 'Read bench-.*:')" "$RUN" "$R"
    if [ "$(field non2xx "$RUN")" != 0 ] || [ "$(field errors "$RUN")" != 0 ]; then
      echo "error: the authenticated run had failed requests" >&2; exit 1
    fi
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "ratio auth/no auth, Read .*:              ${ADMIN_RATIOS[*]} (median $(median "${ADMIN_RATIOS[@]}"); target >= 0.9)"
echo "ratio auth/no auth, Read Subject:bench-.*: ${TEAM_RATIOS[*]} (median $(median "${TEAM_RATIOS[@]}"); target >= 0.9)"

fi
[ "$ONLY" = read ] && exit 0

echo
echo "== 2. registrations on PostgreSQL, $WRITERS concurrent clients =="
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort | tail -1)
PGDATA_DIR=$WORK/pg
mkdir -p "$PGDATA_DIR" "$WORK/sock"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$WORK"
runas "$PGBIN/initdb" -A trust -U postgres -D "$PGDATA_DIR" >/dev/null
PGPORT=$(free_port)
runas "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -o "-p $PGPORT -k $WORK/sock -c listen_addresses=127.0.0.1 -c max_connections=200" -w -l "$WORK/pg.log" start >/dev/null
PORT2=$(free_port)
"$BIN" serve --listen 127.0.0.1:$PORT2 --database-url "postgres://postgres@127.0.0.1:$PGPORT/postgres" --log-format json 2>"$WORK/serve-pg.log" &
PIDS+=($!)
URL2=http://127.0.0.1:$PORT2
wait_up "$URL2"
PGURL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
psqlq() { "$PGBIN/psql" -qAt "$PGURL" -c "$1"; }
# The baseline: single-row INSERT transactions from as many clients, on the same server.
psqlq "CREATE TABLE bench_scratch (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, created_ms BIGINT NOT NULL)"
cat >"$WORK/insert.sql" <<'SQL'
\set n random(1, 1000000000)
INSERT INTO bench_scratch (payload, created_ms) VALUES ('row ' || :n, :n);
SQL
PGB=$("$PGBIN/pgbench" -n -f "$WORK/insert.sql" -c "$WRITERS" -j 2 -T "$SECS" "$PGURL" 2>&1)
PGB_TPS=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$PGB" | head -1)
echo "pgbench baseline (single-row INSERT transactions, $WRITERS clients): tps = $PGB_TPS"
XACT_BEFORE=$(psqlq "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'postgres'")
REG=$(wrk -t2 -c$WRITERS -d${SECS}s --latency -s scripts/bench/register.lua "$URL2" | grep RESULT)
echo "POST register (new schema each): $REG"
COUNT=$(curl -sf "$URL2/subjects" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "subjects stored: $COUNT (non-2xx must be 0: $(field non2xx "$REG"))"
sleep 1 # pg_stat_database is updated when a backend reports (at most every second)
XACT_AFTER=$(psqlq "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'postgres'")
REG_RPS=$(field rps "$REG")
echo "registrations/s = $REG_RPS (target >= 2000)"
# The baseline again, after: on a shared machine the load changes within a run, so the ratio is
# taken against the mean of the runs before and after the registrations.
PGB2=$("$PGBIN/pgbench" -n -f "$WORK/insert.sql" -c "$WRITERS" -j 2 -T "$SECS" "$PGURL" 2>&1)
PGB2_TPS=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$PGB2" | head -1)
echo "pgbench baseline after the registrations: tps = $PGB2_TPS"
python3 - "$REG_RPS" "$PGB_TPS" "$PGB2_TPS" "$XACT_BEFORE" "$XACT_AFTER" "$COUNT" <<'PY'
import sys
rps, tps1, tps2, before, after, count = (float(x) for x in sys.argv[1:])
tps = (tps1 + tps2) / 2
print(f"ratio registrations/pgbench = {rps / tps:.3f} (target >= 0.25; "
      f"{rps / tps1:.3f} against the run before, {rps / tps2:.3f} against the run after)")
print(f"database transactions per registration = {(after - before) / max(count, 1):.2f} "
      "(reads and writes; includes the listing above)")
PY
