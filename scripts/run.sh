#!/usr/bin/env bash
# What `make run` does once Redis is there (embedded or REDIS_URL): prepare the
# database, seed an empty one, and start every process of the Procfile plus one
# accounts worker per accounts shard and one matching worker per symbol shard.
set -euo pipefail
mkdir -p var
python manage.py migrate --no-input -v0
python manage.py collectstatic --no-input -v0
python manage.py shell --no-imports -c "from exchange.models import Market; raise SystemExit(0 if Market.objects.exists() else 1)" \
  || python manage.py seed_demo
{ cat Procfile; echo; python manage.py worker_procfile; } > var/Procfile
port="${SPOT_PORT:-8000}"
echo "Spot: market http://127.0.0.1:${port}/  admin http://127.0.0.1:${port}/admin/  metrics http://127.0.0.1:${port}/metrics  (Ctrl-C stops everything)"
if [ -f var/demo-credentials.json ]; then echo "Demo logins (admin, traders alice and bob) and API keys: var/demo-credentials.json"; fi
exec honcho -f var/Procfile -d . start
