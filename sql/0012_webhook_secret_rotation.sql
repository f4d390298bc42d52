-- Rotating a workspace's signing secret keeps the previous one for a grace period: deliveries carry a Standard
-- Webhooks signature under each, so receivers still on the old secret accept in-flight retries meanwhile.
ALTER TABLE workspaces
    ADD COLUMN previous_webhook_secret text,
    ADD COLUMN secret_rotated_at       timestamptz;
