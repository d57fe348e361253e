#!/usr/bin/env bash
# The Kafka listener's throughput, as issue 17 measures it: kcat -P sends 1,000,000 records of
# 100 bytes to a listener over a temporary log directory, kcat -C reads them back, and the
# broker library's own send_batch runs in the same process before and after as the baseline.
# Prints one line of rates. Needs kcat (apt-get install kcat).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v kcat >/dev/null || { echo "error: kcat is missing: apt-get install kcat" >&2; exit 2; }
cargo test --release -p strata-kafka --test kafka bench_kcat -- --ignored --nocapture 2>&1 \
  | grep -E '^(round [0-9]|kcat -P:)'
