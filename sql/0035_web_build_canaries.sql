-- Canary WhatsApp Web builds: an operator names a candidate build and a share of sessions (or named workspaces); new
-- starts of unpinned accounts in the canary load it, the others the current build, over the same period; the
-- service compares the two arms (workflows/web-build-canary.ts) and promotes or rolls back by the rule the row
-- holds, and says why here, in the audit log and in the metrics.
CREATE TABLE web_build_canaries (
    id                     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The fleet it applies to: the workers of this task queue (TASK_QUEUE) and the accounts they start.
    task_queue             text        NOT NULL CHECK (length(task_queue) BETWEEN 1 AND 200),
    candidate              text        NOT NULL CHECK (candidate ~ '^[0-9][0-9A-Za-z.-]{0,63}$'),
    share_percent          integer     NOT NULL CHECK (share_percent BETWEEN 0 AND 100),
    workspaces             text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(workspaces) <= 100),
    -- The rule: starts each arm needs before a promotion, and how soon a start must reach a working page (its QR,
    -- or connected with a saved login) to count as a success.
    min_starts             integer     NOT NULL CHECK (min_starts BETWEEN 1 AND 10000),
    ready_within_seconds   integer     NOT NULL CHECK (ready_within_seconds BETWEEN 5 AND 3600),
    created_by             text        CHECK (length(created_by) <= 100),
    started_at             timestamptz NOT NULL DEFAULT now(),
    state                  text        NOT NULL DEFAULT 'running'
                           CHECK (state IN ('running', 'promoted', 'rolled_back', 'stopped')),
    decided_at             timestamptz,
    decision_reason        text        CHECK (length(decision_reason) <= 1000),
    -- Each arm's figures when it was decided: starts, failures, time to a working page (p50, p95).
    decision_figures       jsonb,
    CHECK ((state = 'running') = (decided_at IS NULL))
);
-- One canary at a time in a fleet: two would share the sessions outside both.
CREATE UNIQUE INDEX web_build_canaries_one_running ON web_build_canaries (task_queue) WHERE state = 'running';

-- Every start of an unpinned account while a canary runs, on either arm, and when its page first worked.
CREATE TABLE web_build_canary_starts (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    canary_id   bigint      NOT NULL REFERENCES web_build_canaries (id) ON DELETE CASCADE,
    account_id  bigint      NOT NULL REFERENCES whatsapp_accounts (id) ON DELETE CASCADE,
    arm         text        NOT NULL CHECK (arm IN ('candidate', 'current')),
    web_version text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    ready_at    timestamptz
);
CREATE INDEX web_build_canary_starts_canary_idx ON web_build_canary_starts (canary_id, arm);
CREATE INDEX web_build_canary_starts_waiting_idx ON web_build_canary_starts (account_id) WHERE ready_at IS NULL;

-- The build a promotion made current in a fleet: new starts of unpinned accounts load it (over WA_WEB_VERSION).
CREATE TABLE web_build_current (
    task_queue  text        PRIMARY KEY,
    web_version text        NOT NULL CHECK (web_version ~ '^[0-9][0-9A-Za-z.-]{0,63}$'),
    canary_id   bigint      REFERENCES web_build_canaries (id) ON DELETE SET NULL,
    since       timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE ON web_build_canaries TO wa_connect_api, wa_connect_worker;
GRANT SELECT, INSERT, UPDATE ON web_build_canary_starts TO wa_connect_worker;
GRANT SELECT ON web_build_canary_starts TO wa_connect_api;
GRANT SELECT, INSERT, UPDATE ON web_build_current TO wa_connect_worker;
GRANT SELECT ON web_build_current TO wa_connect_api;
