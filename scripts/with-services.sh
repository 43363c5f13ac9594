#!/usr/bin/env bash
# Runs a command with PostgreSQL and Redis reachable on 127.0.0.1. Servers already listening are used
# (DATABASE_URL / REDIS_URL, default 127.0.0.1:5432 and :6379); otherwise this starts its own, on 127.0.0.1
# only, from the Debian packages (postgresql, redis-server), and stops exactly those when the command ends.
# Exports DATABASE_URL and REDIS_URL for the command.
set -euo pipefail
usage="usage: scripts/with-services.sh COMMAND [ARGS…]: runs COMMAND with PostgreSQL and Redis on 127.0.0.1 (DATABASE_URL, REDIS_URL)"
case "${1:-}" in
  "") echo "with-services.sh: no command given ($usage)" >&2; exit 2 ;;
  --help | -h) echo "$usage"; exit 0 ;;
esac
# A command asked for its --help needs no servers.
for arg in "$@"; do case "$arg" in --help | -h) exec "$@" ;; --) break ;; esac; done
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.services"
own_pg_port=54329
own_redis_port=63799
started_pg=""
started_redis=""

stop_started() {
  if [ -n "$started_pg" ]; then as_pg_user "$started_pg/pg_ctl" -D "$state/pg" -m fast -w stop >/dev/null || true; fi
  if [ -n "$started_redis" ] && [ -f "$state/redis.pid" ]; then kill "$(cat "$state/redis.pid")" 2>/dev/null || true; fi
}
trap stop_started EXIT

as_pg_user() {
  # initdb and postgres refuse to run as root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

export DATABASE_URL=${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
mkdir -p "$state"

pg_host_port=$(node -e 'const u=new URL(process.env.DATABASE_URL);console.log(u.hostname+" "+(u.port||5432))')
if ! pg_isready -q -h ${pg_host_port% *} -p ${pg_host_port#* } 2>/dev/null; then
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] || { echo "PostgreSQL is not running and not installed (apt-get install postgresql)" >&2; exit 1; }
  if [ ! -f "$state/pg/PG_VERSION" ]; then
    rm -rf "$state/pg" && mkdir -p "$state/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$state" "$state/pg"
    as_pg_user "$bin/initdb" -D "$state/pg" -U postgres --auth=trust >/dev/null
  fi
  [ "$(id -u)" = 0 ] && chown -R postgres "$state/pg"
  as_pg_user "$bin/pg_ctl" -D "$state/pg" -l "$state/pg.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $own_pg_port -k $state/pg" start >/dev/null
  started_pg=$bin
  export DATABASE_URL="postgres://postgres:postgres@127.0.0.1:$own_pg_port/postgres"
  echo "with-services: started PostgreSQL on 127.0.0.1:$own_pg_port"
fi

redis_host_port=$(node -e 'const u=new URL(process.env.REDIS_URL);console.log(u.hostname+" "+(u.port||6379))')
if ! redis-cli -h ${redis_host_port% *} -p ${redis_host_port#* } ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || { echo "Redis is not running and not installed (apt-get install redis-server)" >&2; exit 1; }
  redis-server --bind 127.0.0.1 --port $own_redis_port --save "" --appendonly no --daemonize yes \
    --pidfile "$state/redis.pid" --logfile "$state/redis.log" --dir "$state"
  for _ in $(seq 50); do redis-cli -p $own_redis_port ping >/dev/null 2>&1 && break; sleep 0.1; done
  started_redis=yes
  export REDIS_URL="redis://127.0.0.1:$own_redis_port"
  echo "with-services: started Redis on 127.0.0.1:$own_redis_port"
fi

"$@"
