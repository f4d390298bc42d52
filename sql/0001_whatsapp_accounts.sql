-- Account rows that backends read. The columns of the earlier Node service's table, plus what the workflow records.
-- The database itself enforces the rules the earlier service broke: status values, one live row per phone
-- in a workspace, one primary per workspace.

CREATE TABLE whatsapp_accounts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id      text        NOT NULL CHECK (workspace_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    session_id        text        NOT NULL UNIQUE CHECK (session_id ~ '^[A-Za-z0-9_-]{1,100}$'),
    -- E.164 digits without '+': what WhatsApp's own ids carry (e.g. 62811801641).
    phone_number      text        CHECK (phone_number ~ '^[1-9][0-9]{6,14}$'),
    status            text        NOT NULL DEFAULT 'qr_scanning'
        CONSTRAINT whatsapp_accounts_status_check
        CHECK (status IN ('qr_scanning', 'authenticated', 'connected', 'disconnected', 'failed')),
    is_primary        boolean     NOT NULL DEFAULT false,
    push_name         text,
    last_qr           text,
    last_qr_at        timestamptz,
    failure_reason    text,
    last_connected_at timestamptz,
    metadata          jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz,
    -- A deleted row can never stay primary: the hand-over happens in the same transaction.
    CONSTRAINT whatsapp_accounts_primary_is_live CHECK (NOT is_primary OR deleted_at IS NULL),
    -- Only a connected account carries the primary flag; a transient drop keeps it so a network blip
    -- does not hand the flag around. A logout or failure hands it over in the same transaction.
    CONSTRAINT whatsapp_accounts_primary_is_connected CHECK (NOT is_primary OR status IN ('connected', 'disconnected'))
);

-- At most one live row per (workspace, phone): the duplicate rows the earlier service wrote cannot be stored.
CREATE UNIQUE INDEX whatsapp_accounts_live_phone_uq
    ON whatsapp_accounts (workspace_id, phone_number)
    WHERE deleted_at IS NULL AND phone_number IS NOT NULL;

-- At most one primary per workspace: incident 5's "two primaries" cannot be stored.
CREATE UNIQUE INDEX whatsapp_accounts_one_primary_uq
    ON whatsapp_accounts (workspace_id)
    WHERE is_primary;

CREATE INDEX whatsapp_accounts_workspace_live_idx
    ON whatsapp_accounts (workspace_id, created_at, id)
    WHERE deleted_at IS NULL;

CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER whatsapp_accounts_touch_updated_at
    BEFORE UPDATE ON whatsapp_accounts
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
