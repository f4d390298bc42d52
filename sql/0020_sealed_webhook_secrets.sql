-- Webhook signing secrets are sealed at rest (lib/sealed-webhook-secret.ts): a dump of this table must not let anyone
-- sign events for a tenant. SQL cannot encrypt, so the secrets already here stay as they are until a process holding
-- ENCRYPTION_KEYS seals them: the API does at every start, before it serves, and so does
-- `npm run keys -- reencrypt-webhook-secrets`. Until then a reader refuses a clear secret rather than use it.
--
-- A workspace is created without a secret (its writer may not hold the keys); the first process that needs one
-- issues it, sealed.
ALTER TABLE workspaces ALTER COLUMN webhook_secret DROP NOT NULL;

-- Every new value is sealed; NOT VALID leaves the rows from before to the sealing above instead of failing here.
ALTER TABLE workspaces
    ADD CONSTRAINT workspaces_webhook_secret_sealed
        CHECK (webhook_secret IS NULL OR starts_with(webhook_secret, 'sealed1:')) NOT VALID,
    ADD CONSTRAINT workspaces_previous_webhook_secret_sealed
        CHECK (previous_webhook_secret IS NULL OR starts_with(previous_webhook_secret, 'sealed1:')) NOT VALID;
