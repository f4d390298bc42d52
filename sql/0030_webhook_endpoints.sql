-- Webhook endpoints: where a workspace's events go. A workspace holds several (each with the event types it wants, its
-- own signing secret, enabled or not), and an account may hold its own. The single-URL settings are endpoints too:
-- the workspace's webhook URL (`setting = 'workspace_webhook'`) and an account's own URL (`setting =
-- 'account_webhook'`, which replaces the workspace's for that account, as it always did); both sign with the
-- workspace's secret (`secret` null).
CREATE TABLE webhook_endpoints (
    id                text        PRIMARY KEY CHECK (id ~ '^we_[0-9a-f]{24}$'),
    workspace_id      text        NOT NULL REFERENCES workspaces (id),
    account_id        bigint      REFERENCES whatsapp_accounts (id) ON DELETE CASCADE,
    setting           text        CHECK (setting IN ('workspace_webhook', 'account_webhook')),
    url               text        NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
    -- Null: every event type sent as a webhook.
    event_types       text[]      CHECK (cardinality(event_types) BETWEEN 1 AND 50),
    description       text        NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    enabled           boolean     NOT NULL DEFAULT true,
    disabled_at       timestamptz,
    -- 'failing': the service disabled it after every attempt failed for the disabling stretch; 'api': a user did.
    disabled_reason   text        CHECK (disabled_reason IN ('failing', 'api')),
    -- Since when every attempt has failed (null after any success): what the automatic disabling measures.
    failing_since     timestamptz,
    secret            text        CHECK (secret IS NULL OR starts_with(secret, 'sealed1:')),
    previous_secret   text        CHECK (previous_secret IS NULL OR starts_with(previous_secret, 'sealed1:')),
    secret_rotated_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (setting IS DISTINCT FROM 'account_webhook' OR account_id IS NOT NULL),
    CHECK (setting IS DISTINCT FROM 'workspace_webhook' OR account_id IS NULL),
    CHECK (setting IS NULL OR (secret IS NULL AND event_types IS NULL)),
    CHECK (enabled = (disabled_at IS NULL) AND enabled = (disabled_reason IS NULL))
);
CREATE INDEX webhook_endpoints_workspace_idx ON webhook_endpoints (workspace_id, created_at, id);
CREATE UNIQUE INDEX webhook_endpoints_workspace_setting_uq ON webhook_endpoints (workspace_id)
    WHERE setting = 'workspace_webhook';
CREATE UNIQUE INDEX webhook_endpoints_account_setting_uq ON webhook_endpoints (account_id)
    WHERE setting = 'account_webhook';

INSERT INTO webhook_endpoints (id, workspace_id, setting, url)
SELECT 'we_' || substr(md5(random()::text || id), 1, 24), id, 'workspace_webhook', webhook_url
FROM workspaces WHERE webhook_url IS NOT NULL;
INSERT INTO webhook_endpoints (id, workspace_id, account_id, setting, url)
SELECT 'we_' || substr(md5(random()::text || id::text), 1, 24), workspace_id, id, 'account_webhook', webhook_url
FROM whatsapp_accounts WHERE webhook_url IS NOT NULL;
ALTER TABLE workspaces DROP COLUMN webhook_url;
ALTER TABLE whatsapp_accounts DROP COLUMN webhook_url;

-- A delivery is one event sent to one endpoint (a workflow: its id is the delivery's), in one or more attempts; a
-- redelivery or a replay is a delivery of its own, of the same event, marked as such.
ALTER TABLE webhook_deliveries
    ADD COLUMN endpoint_id text,
    ADD COLUMN delivery_id text,
    ADD COLUMN kind        text NOT NULL DEFAULT 'delivery' CHECK (kind IN ('delivery', 'redelivery', 'replay')),
    ADD COLUMN event_type  text;
UPDATE webhook_deliveries d SET delivery_id = 'webhook-' || d.event_id, event_type = e.type
FROM account_events e WHERE e.id = d.event_id;
ALTER TABLE webhook_deliveries
    ALTER COLUMN delivery_id SET NOT NULL,
    ALTER COLUMN event_type SET NOT NULL,
    DROP CONSTRAINT webhook_deliveries_event_id_attempt_key,
    DROP CONSTRAINT webhook_deliveries_attempt_check,
    -- Attempt 0: not sent, the endpoint being disabled for failing; a resend of the failed ones covers it.
    ADD CONSTRAINT webhook_deliveries_attempt_check CHECK (attempt >= 0),
    ADD CONSTRAINT webhook_deliveries_delivery_attempt_uq UNIQUE (delivery_id, attempt);
CREATE INDEX webhook_deliveries_workspace_idx ON webhook_deliveries (workspace_id, id DESC);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, event_id) WHERE endpoint_id IS NOT NULL;

-- The worker reads endpoints (their secrets only sealed: it signs) and records how they fare; it cannot point one
-- anywhere else.
GRANT SELECT ON webhook_endpoints TO wa_connect_worker;
GRANT UPDATE (enabled, disabled_at, disabled_reason, failing_since) ON webhook_endpoints TO wa_connect_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO wa_connect_api;

-- An event's outbox row names the task queue of the process that wrote it (each process's connections say theirs,
-- db/pool.ts): the dispatchers of that queue start its deliveries, on it. A row that names none (written by hand, or
-- by a tool) is any dispatcher's.
ALTER TABLE webhook_outbox ADD COLUMN task_queue text DEFAULT NULLIF(current_setting('wa.task_queue', true), '');

-- The service itself acts too: it disables an endpoint that kept failing, and says so in the audit log.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_kind_check,
    ADD CONSTRAINT audit_log_actor_kind_check
        CHECK (actor_kind IN ('key', 'operator_session', 'legacy_keyless', 'metrics_token', 'anonymous', 'service'));
GRANT INSERT ON audit_log TO wa_connect_worker;
