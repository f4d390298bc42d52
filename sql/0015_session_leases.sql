-- One host per session: a host runs a session's client only while it holds the session's lease. Taking a session
-- over raises its epoch; writes made for a session (its saved login) name the epoch they were made under, and a
-- stale one is refused. A host that cannot renew its leases stops its clients before they can expire.
CREATE TABLE session_leases (
    session_id text        PRIMARY KEY,
    host       text        NOT NULL,
    epoch      bigint      NOT NULL CHECK (epoch >= 1),
    expires_at timestamptz NOT NULL
);
CREATE INDEX session_leases_host_idx ON session_leases (host);

-- Every client a host ran, under which epoch, and until when its lease was known valid: an audit that shows no
-- session ever had two owners at once.
CREATE TABLE session_clients (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  text        NOT NULL,
    host        text        NOT NULL,
    epoch       bigint      NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    valid_until timestamptz
);
CREATE INDEX session_clients_session_idx ON session_clients (session_id, epoch);
