-- The event rows are the webhook outbox: a periodic relay starts the delivery of any recent event that has a webhook
-- target and no recorded attempt (an API process that died between its commit and the delivery's start). Events are
-- appended in time order, so a BRIN index finds the recent ones at almost no cost to inserts.
CREATE INDEX account_events_occurred_brin ON account_events USING brin (occurred_at);
