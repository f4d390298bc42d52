-- The simulated engine's "phone side": what a person or a test does on the phone (scan the QR, unlink the
-- device, ...). The API inserts an action; the worker process that holds the session hears of it through
-- NOTIFY, claims it, applies it and writes the outcome, which the API waits for.

CREATE TABLE simulator_actions (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  text        NOT NULL,
    action      text        NOT NULL CHECK (action IN ('scan', 'enter_code', 'drop', 'unlink', 'conflict', 'ban')),
    params      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    state       text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'applied', 'rejected')),
    result      jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    handled_at  timestamptz
);

CREATE INDEX simulator_actions_pending_idx ON simulator_actions (session_id) WHERE state = 'pending';

CREATE FUNCTION notify_simulator_action() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wa_simulator_actions', NEW.id::text);
    RETURN NEW;
END;
$$;

CREATE TRIGGER simulator_actions_notify
    AFTER INSERT ON simulator_actions
    FOR EACH ROW EXECUTE FUNCTION notify_simulator_action();
