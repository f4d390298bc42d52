-- What the session's host last saw of its client, written by the host's periodic check (engine/session-upkeep.ts):
-- `last_seen_at`, when WhatsApp Web last answered that it is connected (a row can say `connected` while its session
-- is dead; this says since when nobody has seen it alive); `web_version`, the WhatsApp Web build it runs;
-- `engine_memory_bytes`, what its browser holds. `web_version_pin`: the build this account's client must load
-- (null: the service's own pin, or WhatsApp's current build).
ALTER TABLE whatsapp_accounts
    ADD COLUMN last_seen_at timestamptz,
    ADD COLUMN web_version text CHECK (length(web_version) <= 100),
    ADD COLUMN engine_memory_bytes bigint CHECK (engine_memory_bytes >= 0),
    ADD COLUMN web_version_pin text CHECK (web_version_pin ~ '^[0-9][0-9A-Za-z.-]{0,63}$');

-- A sighting is not a change of the account: `updated_at` stays what the account itself last did.
CREATE FUNCTION touch_account_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - 'last_seen_at' - 'web_version' - 'engine_memory_bytes' - 'updated_at')
       IS DISTINCT FROM (to_jsonb(OLD) - 'last_seen_at' - 'web_version' - 'engine_memory_bytes' - 'updated_at') THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;
DROP TRIGGER whatsapp_accounts_touch_updated_at ON whatsapp_accounts;
CREATE TRIGGER whatsapp_accounts_touch_updated_at
    BEFORE UPDATE ON whatsapp_accounts
    FOR EACH ROW EXECUTE FUNCTION touch_account_updated_at();

-- Turning `connected` is being seen: the session just answered. Leaving it, the client's figures are stale.
CREATE OR REPLACE FUNCTION account_status_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.status_changed_at := now();
        NEW.wait := NULL;
        IF NEW.status = 'connected' THEN
            NEW.last_seen_at := now();
        ELSIF OLD.status = 'connected' THEN
            NEW.engine_memory_bytes := NULL;
        END IF;
    ELSIF NEW.last_qr IS DISTINCT FROM OLD.last_qr AND NEW.last_qr IS NOT NULL
       OR NEW.pairing_code IS DISTINCT FROM OLD.pairing_code AND NEW.pairing_code IS NOT NULL THEN
        NEW.wait := NULL;
    END IF;
    RETURN NEW;
END;
$$;

-- The simulator also plays the browser a session runs in: its page hangs, or it holds more memory.
ALTER TABLE simulator_actions DROP CONSTRAINT simulator_actions_action_check;
ALTER TABLE simulator_actions ADD CONSTRAINT simulator_actions_action_check
    CHECK (action IN ('scan', 'enter_code', 'drop', 'unlink', 'conflict', 'ban', 'hang', 'grow_memory'));
