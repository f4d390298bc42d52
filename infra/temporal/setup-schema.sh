#!/bin/sh
# Creates Temporal's two databases when missing and brings their schemas to the version the server needs, with
# Temporal's own SQL tool and schema files. Idempotent: run before every start of the server (npm start's production
# topology does; so does docker-compose's temporal-schema one-shot). An upgrade of Temporal is: new binaries and
# schema files, then this script, then the new server.
set -eu
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD}"
SQL_TOOL="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"
SCHEMA_DIR="${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"
export SQL_PASSWORD="$TEMPORAL_DB_PASSWORD"

tool() {
  "$SQL_TOOL" --plugin postgres12 --endpoint "${TEMPORAL_DB_HOST:-127.0.0.1}" --port "${TEMPORAL_DB_PORT:-5432}" \
    --user "${TEMPORAL_DB_USER:-temporal}" "$@"
}

# Safe to try again after a step failed half-way: without --overwrite, setup-schema --version 0.0 creates only the
# version tables that are missing (CREATE TABLE IF NOT EXISTS) and leaves a version already recorded as it is (the
# tool reads it first and writes 0.0 only over none); update-schema applies only the versions after the recorded one.
bring_up() {
  database="$1" schema="$2"
  if ! tool --database "$database" update-schema --schema-dir "$SCHEMA_DIR/$schema/versioned" >/dev/null 2>&1; then
    tool --database "$database" create-database 2>/dev/null || true
    tool --database "$database" setup-schema --version 0.0 || return 1
  fi
  tool --database "$database" update-schema --schema-dir "$SCHEMA_DIR/$schema/versioned"
}

# PostgreSQL may still be starting (docker-compose starts this beside it, and after a stop a container engine may
# report it healthy from its last run): each database is tried again for up to two minutes.
for target in "${TEMPORAL_DB:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}:visibility"; do
  database="${target%%:*}"
  schema="${target##*:}"
  tries=0
  until bring_up "$database" "$schema"; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || { echo "temporal schema: $database could not be brought up" >&2; exit 1; }
    sleep 2
  done
  echo "temporal schema ready: $database ($schema)"
done
