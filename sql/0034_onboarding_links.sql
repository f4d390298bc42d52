-- Hosted onboarding links: a signed URL (lib/onboarding-token.ts) a workspace hands to its own customer, who sees
-- that one account's QR or pairing-code form and its result, and nothing else. The token itself is kept nowhere: a
-- row holds what the link is for and why it ended. A link ends when its account connects, when its account ends, or
-- when revoked; past expires_at it is dead whatever its row says.
CREATE TABLE onboarding_links (
    id             text        PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{22}$'),
    account_id     bigint      NOT NULL REFERENCES whatsapp_accounts (id) ON DELETE CASCADE,
    workspace_id   text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    -- The key that made it (its public prefix), as the audit log names it.
    created_by     text        CHECK (length(created_by) <= 100),
    ended_at       timestamptz,
    end_reason     text        CHECK (end_reason IN ('connected', 'revoked', 'account_ended')),
    opened_count   integer     NOT NULL DEFAULT 0,
    last_opened_at timestamptz,
    CHECK (expires_at > created_at AND expires_at <= created_at + interval '1 day 1 minute'),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX onboarding_links_account_idx ON onboarding_links (account_id, created_at DESC);

-- The name the onboarding page shows its visitors ("Acme asks you to link WhatsApp"); null: none shown.
ALTER TABLE workspaces ADD COLUMN display_name text CHECK (char_length(display_name) BETWEEN 1 AND 80);

GRANT SELECT, INSERT, UPDATE ON onboarding_links TO wa_connect_api;
-- The worker ends an account's links in the transaction that connects or ends it (db/onboarding-links.ts).
GRANT SELECT, UPDATE ON onboarding_links TO wa_connect_worker;
