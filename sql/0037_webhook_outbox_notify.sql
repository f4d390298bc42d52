-- The webhook dispatchers are woken by a row in the outbox, on a channel of their own: an account event that no
-- endpoint wants queues nothing (sql/0030), and no longer wakes every worker's dispatcher for a round that finds
-- nothing. The payload is the event's id, for whoever wants to tell which row woke it; the dispatcher claims whatever
-- waits.
CREATE FUNCTION notify_webhook_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wa_webhook_outbox', NEW.event_id::text);
    RETURN NEW;
END;
$$;

CREATE TRIGGER webhook_outbox_notify
    AFTER INSERT ON webhook_outbox
    FOR EACH ROW EXECUTE FUNCTION notify_webhook_outbox();
