-- A screenshot of a session's page on its way from the host that took it to the API request that asked for it. The
-- image is sealed for that one request (lib/sealed-for-one-reader.ts: its key lives only in the API's memory while
-- the request runs), the request deletes the row as it reads it, and a row nobody read is purged after two minutes:
-- a connected session's page shows chats, so nothing here is readable by anyone but the admin who asked.
CREATE TABLE session_screenshots (
    request_id   text        PRIMARY KEY CHECK (request_id ~ '^[0-9a-f]{32}$'),
    session_key  text        NOT NULL,
    sealed       bytea       NOT NULL CHECK (octet_length(sealed) BETWEEN 1 AND 16777216),
    content_type text        NOT NULL CHECK (content_type IN ('image/png', 'image/svg+xml')),
    taken_at     timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON session_screenshots TO wa_connect_worker;
GRANT SELECT, DELETE ON session_screenshots TO wa_connect_api;
