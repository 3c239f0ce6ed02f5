#!/usr/bin/env bash
# The part of the official postgres image's entrypoint that compose files rely
# on: initialise an empty data directory from POSTGRES_USER, POSTGRES_PASSWORD
# and POSTGRES_DB, then run the server as the postgres user, listening on all
# of the container's interfaces with password authentication.
set -euo pipefail

if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (this stand-in has no trust mode)}"
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  echo "stand-in postgres: initialising $PGDATA for user $user, database $db ($(postgres --version))"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.auto.conf"
  if [[ "$db" != postgres ]]; then
    # Single-user mode: no socket is open, so nothing sees a half-made server.
    # The name is quoted as an identifier ("" doubles a quote).
    echo "CREATE DATABASE \"${db//\"/\"\"}\"" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
fi

exec "$@"
