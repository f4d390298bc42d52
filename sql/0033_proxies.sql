-- The proxy an account's session goes out through (operators route each number through its own address: WhatsApp
-- treats many numbers behind one data-centre address as suspicious), with a workspace default for accounts that set
-- none. Read when a session starts (db/account-start-settings.ts). The credentials are sealed like the webhook
-- secrets (lib/sealed-proxy-credentials.ts: bound to the workspace and the account), never returned by the API.
ALTER TABLE whatsapp_accounts
    ADD COLUMN proxy_scheme      text CHECK (proxy_scheme IN ('http', 'https', 'socks5')),
    ADD COLUMN proxy_host        text CHECK (length(proxy_host) BETWEEN 1 AND 253),
    ADD COLUMN proxy_port        integer CHECK (proxy_port BETWEEN 1 AND 65535),
    ADD COLUMN proxy_credentials text CHECK (proxy_credentials LIKE 'sealed1:%'),
    ADD CONSTRAINT whatsapp_accounts_proxy_whole CHECK (
        (proxy_scheme IS NULL) = (proxy_host IS NULL) AND (proxy_host IS NULL) = (proxy_port IS NULL)
        AND (proxy_credentials IS NULL OR proxy_host IS NOT NULL)
    );
ALTER TABLE workspaces
    ADD COLUMN proxy_scheme      text CHECK (proxy_scheme IN ('http', 'https', 'socks5')),
    ADD COLUMN proxy_host        text CHECK (length(proxy_host) BETWEEN 1 AND 253),
    ADD COLUMN proxy_port        integer CHECK (proxy_port BETWEEN 1 AND 65535),
    ADD COLUMN proxy_credentials text CHECK (proxy_credentials LIKE 'sealed1:%'),
    ADD CONSTRAINT workspaces_proxy_whole CHECK (
        (proxy_scheme IS NULL) = (proxy_host IS NULL) AND (proxy_host IS NULL) = (proxy_port IS NULL)
        AND (proxy_credentials IS NULL OR proxy_host IS NOT NULL)
    );
