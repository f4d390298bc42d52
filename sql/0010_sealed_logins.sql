-- Saved logins are sealed (lib/sealed-login.ts): the data key, itself sealed, and the id of the key that sealed it.
-- A row without them is from before sealing: `npm run keys -- reencrypt-logins` seals it.
ALTER TABLE engine_auth
    ADD COLUMN key_id      text,
    ADD COLUMN wrapped_key bytea;
