-- How many times a session's saved login changed: the first save happens at `ready`, before the browser has written
-- everything to disk, and follow-up saves complete it. Operators (and tests) can see that it did.
ALTER TABLE engine_auth
    ADD COLUMN saved_count integer NOT NULL DEFAULT 1,
    ADD COLUMN content_sha256 text;
