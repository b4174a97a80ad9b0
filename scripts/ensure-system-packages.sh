#!/usr/bin/env bash
# mysqlclient builds against the MariaDB/MySQL client headers; install them
# from the system's packages when they are missing and we may.
set -euo pipefail
if pkg-config --exists mysqlclient 2>/dev/null || pkg-config --exists libmariadb 2>/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing MariaDB client headers (libmariadb-dev, pkg-config) for mysqlclient"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config >/dev/null
  exit 0
fi
echo "error: mysqlclient needs the MariaDB or MySQL client headers and pkg-config;" >&2
echo "       install libmariadb-dev (Debian/Ubuntu) or mariadb-connector-c-devel (Fedora)." >&2
exit 1
