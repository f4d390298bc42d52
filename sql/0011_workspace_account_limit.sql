-- Each live account can hold a Chromium of 200-400 MB: a workspace keeps at most this many accounts that are neither
-- failed nor deleted. NULL: the service's default (MAX_LIVE_ACCOUNTS_PER_WORKSPACE).
ALTER TABLE workspaces ADD COLUMN max_live_accounts integer CHECK (max_live_accounts >= 0);
