-- A session id is the workspace's own name for an account: unique within its workspace only, so no workspace can
-- learn which ids another uses (by a create refused as taken) nor take its predictable ids first.
ALTER TABLE whatsapp_accounts DROP CONSTRAINT whatsapp_accounts_session_id_key;
ALTER TABLE whatsapp_accounts
    ADD CONSTRAINT whatsapp_accounts_workspace_session_uq UNIQUE (workspace_id, session_id);

-- What runs a session across workspaces (engine, host leases, stored logins, the simulated phone) keys it by
-- workspace_id || '.' || session_id (workflows/ids.ts sessionKey): '.' is in neither id's alphabet, so the key is
-- unique. Rows written before carry the bare session id, which was unique then.
-- A stored login is sealed with its session's name as associated data (lib/sealed-login.ts), so one sealed under a
-- bare id would never open under its key: its account shows a QR again.
DELETE FROM engine_auth WHERE position('.' IN session_id) = 0;
UPDATE session_leases t SET session_id = a.workspace_id || '.' || a.session_id
    FROM whatsapp_accounts a WHERE t.session_id = a.session_id;
UPDATE session_clients t SET session_id = a.workspace_id || '.' || a.session_id
    FROM whatsapp_accounts a WHERE t.session_id = a.session_id;
UPDATE simulator_actions t SET session_id = a.workspace_id || '.' || a.session_id
    FROM whatsapp_accounts a WHERE t.session_id = a.session_id;

COMMENT ON COLUMN engine_auth.session_id IS 'session key: workspace_id.session_id';
COMMENT ON COLUMN session_leases.session_id IS 'session key: workspace_id.session_id';
COMMENT ON COLUMN session_clients.session_id IS 'session key: workspace_id.session_id';
COMMENT ON COLUMN simulator_actions.session_id IS 'session key: workspace_id.session_id';
