-- Every change made through the API or the console (api/plugins/audit.ts): who (the key's prefix and name, an
-- operator's browser session, or key-less legacy access), from which address, what (the route, its target and the
-- body with secrets removed), when, and the outcome. Append-only: a row is never changed, and none younger than a day
-- can be removed, so a stolen API credential cannot erase what it just did; older ones leave by retention only.
CREATE TABLE audit_log (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    workspace_id   text,
    actor_kind     text        NOT NULL
                   CHECK (actor_kind IN ('key', 'operator_session', 'legacy_keyless', 'metrics_token', 'anonymous')),
    actor_key_prefix text,
    actor_name     text        NOT NULL,
    client_address text        NOT NULL,
    action         text        NOT NULL CHECK (length(action) <= 300),
    target         text        CHECK (length(target) <= 300),
    changes        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status_code    integer     NOT NULL,
    outcome        text        NOT NULL CHECK (outcome IN ('done', 'refused', 'failed')),
    request_id     text        NOT NULL
);
CREATE INDEX audit_log_workspace_idx ON audit_log (workspace_id, id DESC);
CREATE INDEX audit_log_occurred_brin ON audit_log USING brin (occurred_at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'the audit log is append-only';
    END IF;
    IF OLD.occurred_at > now() - interval '1 day' THEN
        RAISE EXCEPTION 'audit entries younger than a day are kept';
    END IF;
    RETURN OLD;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

GRANT SELECT, INSERT, DELETE ON audit_log TO wa_connect_api;
