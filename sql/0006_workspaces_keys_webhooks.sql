-- Workspaces own API keys and the webhook defaults; deliveries record every webhook attempt.

CREATE TABLE workspaces (
    id             text        PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    webhook_url    text        CHECK (webhook_url ~ '^https?://'),
    -- The HMAC secret webhooks are signed with; it never appears in a payload or a log.
    webhook_secret text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER workspaces_touch_updated_at
    BEFORE UPDATE ON workspaces
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Keys are random 256-bit strings, so a fast hash is the right one; only the hash and a prefix are stored.
CREATE TABLE api_keys (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_prefix   text        NOT NULL UNIQUE,
    key_hash     text        NOT NULL,
    -- NULL: an operator's admin key, good for every workspace.
    workspace_id text        REFERENCES workspaces (id),
    name         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

ALTER TABLE whatsapp_accounts
    ADD COLUMN webhook_url text CHECK (webhook_url ~ '^https?://');

CREATE TABLE webhook_deliveries (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     bigint      NOT NULL REFERENCES account_events (id),
    workspace_id text        NOT NULL,
    session_id   text        NOT NULL,
    url          text        NOT NULL,
    attempt      integer     NOT NULL CHECK (attempt >= 1),
    delivered    boolean     NOT NULL,
    status_code  integer,
    latency_ms   integer,
    error        text,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, attempt)
);

CREATE INDEX webhook_deliveries_session_idx ON webhook_deliveries (session_id, id);

-- Every API process LISTENs here and pushes new events to its WebSocket subscribers.
CREATE FUNCTION notify_account_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wa_account_events', json_build_object('id', NEW.id, 'workspaceId', NEW.workspace_id)::text);
    RETURN NEW;
END;
$$;

CREATE TRIGGER account_events_notify
    AFTER INSERT ON account_events
    FOR EACH ROW EXECUTE FUNCTION notify_account_event();
