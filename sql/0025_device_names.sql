-- The name the phone shows for a linked device ("Linked devices": the device and the browser a client announces),
-- per account, with a workspace default. Read when a session starts (db/account-start-settings.ts): a change applies
-- from the next start, or at once with a restart from the saved login.
ALTER TABLE whatsapp_accounts
    ADD COLUMN device_name  text CHECK (device_name ~ '^[^[:cntrl:]]{1,50}$'),
    ADD COLUMN browser_name text CHECK (browser_name ~ '^[^[:cntrl:]]{1,50}$');
ALTER TABLE workspaces
    ADD COLUMN device_name  text CHECK (device_name ~ '^[^[:cntrl:]]{1,50}$'),
    ADD COLUMN browser_name text CHECK (browser_name ~ '^[^[:cntrl:]]{1,50}$');
