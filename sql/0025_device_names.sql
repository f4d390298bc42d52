-- The name the phone shows for a linked device ("Linked devices": the device and the browser a client announces),
-- per account, with a workspace default. Read when a session starts (db/account-start-settings.ts): a change applies
-- from the next start, or at once with a restart from the saved login.
-- Printable: no C0 or C1 control character and no line or paragraph separator (the API's schema says the same).
ALTER TABLE whatsapp_accounts
    ADD COLUMN device_name  text CHECK (device_name ~ '^[^\u0001-\u001f\u007f-\u009f\u2028\u2029]{1,50}$'),
    ADD COLUMN browser_name text CHECK (browser_name ~ '^[^\u0001-\u001f\u007f-\u009f\u2028\u2029]{1,50}$');
ALTER TABLE workspaces
    ADD COLUMN device_name  text CHECK (device_name ~ '^[^\u0001-\u001f\u007f-\u009f\u2028\u2029]{1,50}$'),
    ADD COLUMN browser_name text CHECK (browser_name ~ '^[^\u0001-\u001f\u007f-\u009f\u2028\u2029]{1,50}$');
