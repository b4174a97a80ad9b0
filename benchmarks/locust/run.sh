#!/usr/bin/env bash
# Run the locust suite headless, or as the master or a worker of a distributed run.
#
#   benchmarks/locust/run.sh headless [locust options]   one process, reports in var/locust/<UTC time>/
#   benchmarks/locust/run.sh master   [locust options]   waits for LOCUST_WORKERS workers, then runs headless
#   benchmarks/locust/run.sh worker   [locust options]   one worker (start one per core, on any machine)
#
# Settings (environment): LOCUST_HOST (http://127.0.0.1:8001), LOCUST_WS_URL
# (ws://127.0.0.1:8000/ws/), LOCUST_KEYS (var/load-users.json), LOCUST_MARKET
# (BTC/USDT), LOCUST_MID (50000, used when the book is empty), LOCUST_USERS (50),
# LOCUST_SPAWN_RATE (10), LOCUST_RUN_TIME (60s), LOCUST_WORKERS (2),
# LOCUST_MASTER_HOST (127.0.0.1), LOCUST_REPORTS (var/locust/<UTC time>), PYTHON.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-headless}"
shift || true
python="${PYTHON:-.venv/bin/python}"
reports="${LOCUST_REPORTS:-var/locust/$(date -u +%Y%m%dT%H%M%SZ)}"
suite=(-f benchmarks/locust/locustfile.py)
trading=(
  --host "${LOCUST_HOST:-http://127.0.0.1:8001}"
  --ws-url "${LOCUST_WS_URL:-ws://127.0.0.1:8000/ws/}"
  --keys-file "${LOCUST_KEYS:-var/load-users.json}"
  --market "${LOCUST_MARKET:-BTC/USDT}"
  --mid "${LOCUST_MID:-50000}"
)
run=(
  --headless
  --users "${LOCUST_USERS:-50}"
  --spawn-rate "${LOCUST_SPAWN_RATE:-10}"
  --run-time "${LOCUST_RUN_TIME:-60s}"
  --stop-timeout 10
  --csv "$reports/locust"
  --html "$reports/report.html"
)
case "$mode" in
  headless)
    mkdir -p "$reports"
    "$python" -m locust "${suite[@]}" "${trading[@]}" "${run[@]}" "$@"
    echo "Reports: $reports/ (report.html, locust_stats.csv, locust_stats_history.csv, locust_failures.csv)"
    ;;
  master)
    mkdir -p "$reports"
    "$python" -m locust "${suite[@]}" "${trading[@]}" "${run[@]}" \
      --master --expect-workers "${LOCUST_WORKERS:-2}" "$@"
    echo "Reports: $reports/"
    ;;
  worker)
    # The master sends the host, the users and the suite's options; the keys file must exist here too.
    exec "$python" -m locust "${suite[@]}" --worker --master-host "${LOCUST_MASTER_HOST:-127.0.0.1}" "$@"
    ;;
  *)
    echo "usage: $0 headless|master|worker [locust options]" >&2
    exit 2
    ;;
esac
