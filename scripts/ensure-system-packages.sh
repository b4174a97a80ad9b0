#!/usr/bin/env bash
# System packages the build and the suite need, installed from Debian's
# packages when they are missing and we may:
# - mysqlclient builds against the MariaDB/MySQL client headers;
# - promtool (package prometheus) unit-tests the alert rules in the suite, and
#   prometheus, redis_exporter and mysqld_exporter run in its real-Prometheus test
#   (tests/operations/test_metrics_reality.py) and in `make observe`.
# - chromium is the browser the market page's tests drive (Playwright, tests/web).
# - redis-server (and redis-cli) run the local Redis Cluster of the cluster tests (spot/local_cluster.py).
set -euo pipefail
missing=()
if ! pkg-config --exists mysqlclient 2>/dev/null && ! pkg-config --exists libmariadb 2>/dev/null; then
  missing+=(libmariadb-dev pkg-config)
fi
command -v promtool >/dev/null || missing+=(prometheus)
command -v prometheus-redis-exporter >/dev/null || missing+=(prometheus-redis-exporter)
command -v prometheus-mysqld-exporter >/dev/null || missing+=(prometheus-mysqld-exporter)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing+=(redis-server redis-tools)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} from the system's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "error: missing system packages: ${missing[*]}" >&2
echo "       mysqlclient needs the MariaDB or MySQL client headers and pkg-config (libmariadb-dev on" >&2
echo "       Debian/Ubuntu, mariadb-connector-c-devel on Fedora); the suite needs prometheus (promtool)," >&2
echo "       prometheus-redis-exporter, prometheus-mysqld-exporter, chromium and redis-server." >&2
exit 1
