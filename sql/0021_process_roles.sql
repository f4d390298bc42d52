-- The worker and the API get roles of their own, each with what its code does and nothing more (README: Security
-- model). The worker runs Chromium, whose pages are code from the network: it may not touch API keys or operator
-- sessions. It signs webhook deliveries, so it reads the workspaces' signing secrets, sealed (sql/0020), and may issue
-- a workspace's first one. The API may not read or write saved logins (it only removes them when an account ends),
-- nor session leases. New tables get no grants by default any more: a migration that adds one grants it here.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wa_connect_worker') THEN
        CREATE ROLE wa_connect_worker NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wa_connect_api') THEN
        CREATE ROLE wa_connect_api NOLOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO wa_connect_worker, wa_connect_api', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO wa_connect_worker, wa_connect_api;
-- Identity columns' sequences: nextval on a table's sequence is of no use without INSERT on the table.
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO wa_connect_worker, wa_connect_api;
-- Both refuse to start ahead of the schema.
GRANT SELECT ON schema_migrations TO wa_connect_worker, wa_connect_api;

-- The worker: activities (accounts, events, webhooks), the engines (saved logins, leases), the simulator's inbox.
GRANT SELECT, UPDATE ON whatsapp_accounts TO wa_connect_worker;
GRANT SELECT, INSERT, UPDATE ON account_events TO wa_connect_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON engine_auth TO wa_connect_worker;
GRANT SELECT, INSERT, UPDATE ON session_leases, session_clients TO wa_connect_worker;
GRANT SELECT, INSERT ON webhook_deliveries TO wa_connect_worker;
GRANT SELECT, UPDATE ON simulator_actions TO wa_connect_worker;
GRANT SELECT ON workspaces TO wa_connect_worker;
GRANT UPDATE (webhook_secret) ON workspaces TO wa_connect_worker;

-- The API: accounts and their events, workspaces, keys, operator sessions, delivery records, the simulator's controls.
GRANT SELECT, INSERT, UPDATE, DELETE ON whatsapp_accounts TO wa_connect_api;
GRANT SELECT, INSERT, UPDATE ON account_events TO wa_connect_api;
GRANT SELECT, INSERT, UPDATE ON workspaces, api_keys TO wa_connect_api;
GRANT SELECT, INSERT, DELETE ON operator_sessions TO wa_connect_api;
GRANT SELECT ON webhook_deliveries TO wa_connect_api;
GRANT SELECT, INSERT, UPDATE ON simulator_actions TO wa_connect_api;
-- Deleting an account whose workflow is gone removes its saved login; the sealed login itself stays out of reach.
GRANT SELECT (session_id) ON engine_auth TO wa_connect_api;
GRANT DELETE ON engine_auth TO wa_connect_api;

-- The one role both processes shared (sql/0014) keeps nothing of its own. A login made before this split still works
-- as a member of both until it is replaced by a login per process (npm run migrate with WORKER_DB_* and API_DB_*).
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM wa_connect_service;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM wa_connect_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM wa_connect_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM wa_connect_service;
GRANT wa_connect_worker, wa_connect_api TO wa_connect_service;
