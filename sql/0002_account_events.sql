-- Append-only log of everything that happened to an account: status changes, QR codes, failures.
-- Its id is the event id clients resume from; dedupe_key makes an activity retry write nothing twice.

CREATE TABLE account_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint      NOT NULL REFERENCES whatsapp_accounts (id),
    workspace_id text        NOT NULL,
    session_id   text        NOT NULL,
    type         text        NOT NULL CHECK (type ~ '^[a-z_]{1,64}$'),
    status       text        CHECK (status IN ('qr_scanning', 'authenticated', 'connected', 'disconnected', 'failed')),
    data         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    dedupe_key   text        UNIQUE,
    occurred_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX account_events_account_idx ON account_events (account_id, id);
CREATE INDEX account_events_workspace_idx ON account_events (workspace_id, id);

CREATE FUNCTION account_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'account_events is append-only (% refused)', TG_OP;
END;
$$;

CREATE TRIGGER account_events_append_only
    BEFORE UPDATE OR DELETE ON account_events
    FOR EACH ROW EXECUTE FUNCTION account_events_are_append_only();
