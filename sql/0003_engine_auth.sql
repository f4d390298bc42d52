-- Saved WhatsApp auth per session, so a session restarts on any worker host without a new scan.
-- Only a real logout or a delete removes a row; a transient drop or a conflict never does.

CREATE TABLE engine_auth (
    session_id  text        PRIMARY KEY,
    engine      text        NOT NULL CHECK (engine IN ('real', 'simulated')),
    data        bytea       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
