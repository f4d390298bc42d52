-- An account's newest canary start, which a working page marks (db/web-build-canaries.ts, db/session-sightings.ts):
-- found by the account, whatever its starts' state, without reading every start.
CREATE INDEX web_build_canary_starts_account_idx ON web_build_canary_starts (account_id, id);
