-- Who logged in, as the session reports it after `ready`: besides the phone number and the push name (already kept),
-- the internal id newer accounts carry (`<digits>@lid`) and the platform the phone runs. Written with the activation.
ALTER TABLE whatsapp_accounts
    ADD COLUMN whatsapp_lid      text CHECK (whatsapp_lid ~ '^[0-9]{1,40}@lid$'),
    ADD COLUMN whatsapp_platform text CHECK (length(whatsapp_platform) <= 40),
    -- When its profile picture was last fetched (account_profile_pictures); null: it has none kept.
    ADD COLUMN profile_picture_at timestamptz;

-- The account's profile picture, fetched by its host from inside the session's page (so a backend never fetches
-- WhatsApp's CDN with the session's cookies) once per start, and served by the API to the account's workspace only.
CREATE TABLE account_profile_pictures (
    account_id   bigint      PRIMARY KEY REFERENCES whatsapp_accounts (id) ON DELETE CASCADE,
    content_type text        NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    bytes        bytea       NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 1048576),
    fetched_at   timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON account_profile_pictures TO wa_connect_worker;
GRANT SELECT, DELETE ON account_profile_pictures TO wa_connect_api;
