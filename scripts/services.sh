#!/usr/bin/env bash
# Start the servers the integration tests use when they are installed here but down:
# PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306). A machine without them can point
# the tests elsewhere with NDC_TEST_PG_URL / NDC_TEST_MYSQL_URL.
set -u

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  for _ in $(seq 1 60); do up "$2" && { echo "services: $1 is up on port $2"; return 0; }; sleep 1; done
  echo "services: $1 did not come up on port $2" >&2; return 1
}

if ! up 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    echo "services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
wait_for PostgreSQL 5432 || exit 1

if ! up 3306; then
  if [ -x /usr/sbin/mariadbd ]; then
    echo "services: starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  fi
fi
wait_for MariaDB 3306 || exit 1
