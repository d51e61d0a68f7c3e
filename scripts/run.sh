#!/bin/sh
# Run the app locally: migrate, make sure a superadmin exists, then start the web, worker
# and beat processes. `make run` invokes this through scripts/devservices.py, which
# provides DATABASE_URL and REDIS_URL.
set -eu
cd "$(dirname "$0")/.."

# Put the virtualenv first on PATH so flask, honcho and the Procfile commands resolve.
VENV="${VENV:-.venv}"
case "$VENV" in
/*) ;;
*) VENV="$PWD/$VENV" ;;
esac
PATH="$VENV/bin:$PATH"
export PATH

# One Prometheus multiprocess directory for web, worker and beat (supportapp/telemetry.py), so
# /metrics shows all of them; emptied at each start (stale files would count as live).
PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/prometheus}"
find "$PROMETHEUS_MULTIPROC_DIR" -name "*.db" -delete 2>/dev/null || true
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
export PROMETHEUS_MULTIPROC_DIR

# Outside production, a missing JWT_SECRET_KEY is read from ./var/jwt_secret: create it once.
if [ -z "${JWT_SECRET_KEY:-}" ] && [ "${APP_ENV:-development}" != "production" ]; then
  python scripts/dev_secret.py
fi
flask --app wsgi db upgrade
flask --app wsgi demo ensure-superadmin
# honcho gives the first process (web) PORT, the next ones PORT+100, PORT+200.
exec honcho start -f Procfile -p "${PORT:-5000}" web worker beat
