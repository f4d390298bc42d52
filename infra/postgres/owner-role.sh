#!/bin/sh
# Runs once, when the PostgreSQL volume is created: the service's schema gets an owner that is not the image's
# superuser. `wa_connect` owns the database (so the public schema and everything the migrations create) and may create
# the worker's and the API's logins (CREATEROLE), nothing more; only the `migrate` job has its password. The superuser
# (POSTGRES_USER) is left to this set-up and to operators by hand.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_password="$MIGRATION_DB_PASSWORD" -v database="$POSTGRES_DB" <<'SQL'
CREATE ROLE wa_connect LOGIN NOSUPERUSER NOCREATEDB CREATEROLE PASSWORD :'owner_password';
ALTER DATABASE :"database" OWNER TO wa_connect;
SQL
