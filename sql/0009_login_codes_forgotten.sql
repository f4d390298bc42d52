-- A QR or a pairing code is a login while it is shown: once the account no longer waits for one, the event log
-- forgets the code itself (it keeps that a code was shown, and when). That removal is the one change the log takes;
-- every other UPDATE, and every DELETE, is still refused.

CREATE OR REPLACE FUNCTION account_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.type IN ('qr', 'pairing_code')
       AND NEW.data = OLD.data - 'qr' - 'code'
       AND (NEW.id, NEW.account_id, NEW.workspace_id, NEW.session_id, NEW.type, NEW.status, NEW.dedupe_key, NEW.occurred_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.account_id, OLD.workspace_id, OLD.session_id, OLD.type, OLD.status, OLD.dedupe_key, OLD.occurred_at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'account_events is append-only (% refused)', TG_OP;
END;
$$;
