-- The accounts a rollback restarts on the current build, kept with the decision: a judge whose activity is retried
-- after the decision committed finds the canary decided and still restarts every account the candidate failed.
ALTER TABLE web_build_canaries ADD COLUMN restart_session_keys text[] NOT NULL DEFAULT '{}';
