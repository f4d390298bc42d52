-- The service's processes read and write rows and nothing more: no DDL, no roles, no other database. They log in
-- as a member of wa_connect_service (README: Security model); the schema's owner runs migrations.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wa_connect_service') THEN
        CREATE ROLE wa_connect_service NOLOGIN;
    END IF;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO wa_connect_service', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO wa_connect_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO wa_connect_service;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO wa_connect_service;
-- The service may see which migrations ran (it refuses to start ahead of them), never record one.
REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM wa_connect_service;
-- Tables and sequences later migrations create get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO wa_connect_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO wa_connect_service;
