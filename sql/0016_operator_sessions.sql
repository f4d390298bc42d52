-- An operator's browser session for the consoles the API serves behind an admin login (the Temporal Web UI): the
-- browser holds a random token in an HttpOnly cookie, the database only its hash. A session lives no longer than
-- its admin key: revoking the key ends it.
CREATE TABLE operator_sessions (
    token_hash text        PRIMARY KEY,
    api_key_id bigint      NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX operator_sessions_expires_at_idx ON operator_sessions (expires_at);
