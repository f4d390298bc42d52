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

for target in "${TEMPORAL_DB:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}:visibility"; do
  database="${target%%:*}"
  schema="${target##*:}"
  if ! tool --database "$database" update-schema --schema-dir "$SCHEMA_DIR/$schema/versioned" >/dev/null 2>&1; then
    tool --database "$database" create-database 2>/dev/null || true
    tool --database "$database" setup-schema --version 0.0
  fi
  tool --database "$database" update-schema --schema-dir "$SCHEMA_DIR/$schema/versioned"
  echo "temporal schema ready: $database ($schema)"
done
