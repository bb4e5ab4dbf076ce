#!/usr/bin/env bash
# Start the servers the integration tests use when they are installed here but down:
# PostgreSQL (127.0.0.1:5432), MariaDB (127.0.0.1:3306) and Redis (127.0.0.1:6379, the Celery
# broker of the end-to-end pipeline test and of `make up EXECUTOR=celery`). Names on the
# command line start only those (`scripts/services.sh redis`). A machine without them can point
# the tests elsewhere with NDC_TEST_PG_URL / NDC_TEST_MYSQL_URL.
set -u

SERVICES="${*:-postgresql mariadb redis}"

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wanted() { [[ " $SERVICES " == *" $1 "* ]]; }

wait_for() {
  for _ in $(seq 1 60); do up "$2" && { echo "services: $1 is up on port $2"; return 0; }; sleep 1; done
  echo "services: $1 did not come up on port $2" >&2; return 1
}

if wanted postgresql; then
  if ! up 5432; then
    if command -v pg_ctlcluster >/dev/null; then
      echo "services: starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
  fi
  wait_for PostgreSQL 5432 || exit 1
fi

if wanted mariadb; then
  if ! up 3306; then
    if [ -x /usr/sbin/mariadbd ]; then
      echo "services: starting MariaDB"
      start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
    fi
  fi
  wait_for MariaDB 3306 || exit 1
fi

if wanted redis; then
  if ! up 6379; then
    if ! command -v redis-server >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      echo "services: installing Redis (Debian's redis-server)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null; } \
        || true
    fi
    if command -v redis-server >/dev/null; then
      echo "services: starting Redis"
      mkdir -p /var/lib/redis /var/log/redis
      redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    fi
  fi
  wait_for Redis 6379 || exit 1
fi
