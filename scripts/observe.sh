#!/usr/bin/env bash
# What `make observe` does, beside a running `make run`: Prometheus on
# http://127.0.0.1:9090 scraping every process make run started (the same
# ports: manage.py worker_procfile), with the alert rules of deploy/prometheus,
# plus redis_exporter and mysqld_exporter when they are installed and
# REDIS_URL / a mysql:// DATABASE_URL point at a server. Ctrl-C stops them.
set -euo pipefail
mkdir -p var/prometheus
port="${PROMETHEUS_PORT:-9090}"
exporters=()
{
  echo "prometheus: prometheus --config.file=var/prometheus/prometheus.yml --storage.tsdb.path=var/prometheus/data --web.listen-address=127.0.0.1:${port}"
  if [ -n "${REDIS_URL:-}" ] && command -v prometheus-redis-exporter >/dev/null; then
    echo "redis-exporter: prometheus-redis-exporter -redis.addr ${REDIS_URL} -web.listen-address 127.0.0.1:9121"
    exporters+=(--exporter redis-exporter=9121)
  fi
  if [[ "${DATABASE_URL:-}" == mysql://* ]] && command -v prometheus-mysqld-exporter >/dev/null; then
    # mysql://user:pass@host:port/db -> the Go driver's user:pass@(host:port)/
    dsn="$(python - "${DATABASE_URL}" <<'PY'
import sys
from urllib.parse import unquote, urlsplit

url = urlsplit(sys.argv[1])
password = ":" + unquote(url.password) if url.password else ""
print(f"{unquote(url.username or 'root')}{password}@({url.hostname}:{url.port or 3306})/")
PY
)"
    echo "mysql-exporter: env DATA_SOURCE_NAME='${dsn}' prometheus-mysqld-exporter --web.listen-address=127.0.0.1:9207"
    exporters+=(--exporter mysql-exporter=9207)
  fi
} > var/prometheus/Procfile
python manage.py prometheus_config "${exporters[@]}" > var/prometheus/prometheus.yml
echo "Prometheus: http://127.0.0.1:${port}/  (alerts: /alerts; dashboards: import deploy/grafana/*.json into Grafana)"
exec honcho -f var/prometheus/Procfile -d . start
