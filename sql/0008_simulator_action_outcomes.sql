-- The API waits for the outcome of a phone action it submitted. The worker's update that applies or rejects the
-- action NOTIFYs, so the API answers as soon as the outcome is written instead of reading the row every 25 ms.

CREATE FUNCTION notify_simulator_action_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wa_simulator_action_outcomes', NEW.id::text);
    RETURN NEW;
END;
$$;

CREATE TRIGGER simulator_actions_outcome_notify
    AFTER UPDATE OF state ON simulator_actions
    FOR EACH ROW
    WHEN (NEW.state IN ('applied', 'rejected') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION notify_simulator_action_outcome();
