-- The resends and replays a workspace has started and not seen end: each runs one long delivery job on the shared
-- queue, so a workspace may run only a few at once (api/plugins/webhook-deliveries.ts), and one workspace's replays
-- cannot take the job slots every workspace's deliveries need. A row is marked ended when a start finds the
-- workspace at its bound and its workflow no longer runs.
CREATE TABLE webhook_resends (
    resend_id    text        PRIMARY KEY,
    workspace_id text        NOT NULL,
    endpoint_id  text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);
CREATE INDEX webhook_resends_running_idx ON webhook_resends (workspace_id) WHERE ended_at IS NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_resends TO wa_connect_api;
