-- The webhook outbox: an event that goes out as a webhook is queued here in the transaction that writes it
-- (db/account-events.ts), and leaves when a worker's dispatcher (workers/webhook-dispatcher.ts), woken by the event's
-- notification, has started its delivery. A dispatcher claims queued events with FOR UPDATE SKIP LOCKED (each by one
-- host) and removes them in the same transaction as the starts, so a host that dies mid-round leaves them queued.
-- The event log itself stays append-only.
CREATE TABLE webhook_outbox (
    event_id  bigint      PRIMARY KEY REFERENCES account_events (id),
    queued_at timestamptz NOT NULL DEFAULT now()
);

-- FOR UPDATE, the claim, needs UPDATE; no row is ever updated.
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_outbox TO wa_connect_worker;
GRANT INSERT ON webhook_outbox TO wa_connect_api;
