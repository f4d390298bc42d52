#!/bin/sh
# Runs once, when the PostgreSQL volume is created: Temporal gets a role of its own, which creates and owns its two
# databases (persistence and visibility) and nothing else; it never uses the service's owner role.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
SQL
