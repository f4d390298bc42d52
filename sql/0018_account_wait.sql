-- What an account that is not connected waits for (a free seat on a host, a start of WhatsApp Web, the next attempt
-- after a failure), as its workflow last recorded it; the API words it for people (domain/account-wait.ts). A wait
-- ends when the status changes or the account shows a new login code: that is what it waits for next.
-- `status_changed_at`: since when the account is in its status, for the question "which accounts are stuck?".
ALTER TABLE whatsapp_accounts
    ADD COLUMN wait jsonb CHECK (wait IS NULL OR jsonb_typeof(wait) = 'object'),
    ADD COLUMN status_changed_at timestamptz;
UPDATE whatsapp_accounts SET status_changed_at = updated_at;
ALTER TABLE whatsapp_accounts
    ALTER COLUMN status_changed_at SET NOT NULL,
    ALTER COLUMN status_changed_at SET DEFAULT now();

CREATE FUNCTION account_status_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.status_changed_at := now();
        NEW.wait := NULL;
    ELSIF NEW.last_qr IS DISTINCT FROM OLD.last_qr AND NEW.last_qr IS NOT NULL
       OR NEW.pairing_code IS DISTINCT FROM OLD.pairing_code AND NEW.pairing_code IS NOT NULL THEN
        NEW.wait := NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER whatsapp_accounts_status_changes
    BEFORE UPDATE ON whatsapp_accounts
    FOR EACH ROW EXECUTE FUNCTION account_status_changes();

-- The accounts that may be stuck: live, in a status that is not an end, oldest change first.
CREATE INDEX whatsapp_accounts_unsettled_idx
    ON whatsapp_accounts (status_changed_at)
    WHERE deleted_at IS NULL AND status IN ('qr_scanning', 'authenticated', 'disconnected');
