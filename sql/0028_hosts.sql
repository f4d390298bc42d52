-- The hosts of the fleet as each reports itself (workers/host-report.ts), every few seconds while it runs: what it
-- can take (seats, starts per second), what it holds, whether it drains, when its leases were last renewed. Sessions
-- and builds per host are read from the leases and the accounts, not reported, so they cannot disagree with them.
CREATE TABLE hosts (
    task_queue         text        PRIMARY KEY CHECK (length(task_queue) <= 200),
    hostname           text        NOT NULL CHECK (length(hostname) <= 255),
    pid                integer     NOT NULL,
    engine             text        NOT NULL CHECK (engine IN ('real', 'simulated')),
    seats              integer     NOT NULL CHECK (seats >= 0),
    starts_per_second  real        NOT NULL CHECK (starts_per_second > 0),
    process_memory_bytes bigint    NOT NULL CHECK (process_memory_bytes >= 0),
    draining           boolean     NOT NULL DEFAULT false,
    leases_renewed_at  timestamptz,
    started_at         timestamptz NOT NULL DEFAULT now(),
    reported_at        timestamptz NOT NULL DEFAULT now(),
    stopped_at         timestamptz
);

-- A host that starts forgets the rows of hosts gone for a week (each boot is a host of its own).
GRANT SELECT, INSERT, UPDATE, DELETE ON hosts TO wa_connect_worker;
GRANT SELECT ON hosts TO wa_connect_api;

-- The hosts view counts each host's sessions, their browsers' memory and their builds from the live leases. The API
-- may not read the leases themselves (sql/0021): it gets these sums per host, and nothing else of them.
CREATE FUNCTION host_session_sums()
RETURNS TABLE (host text, sessions integer, memory_bytes bigint, builds json)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT l.host, count(*)::int, sum(a.engine_memory_bytes)::bigint,
           json_agg(a.web_version)
    FROM session_leases l
    LEFT JOIN whatsapp_accounts a ON (a.workspace_id, a.session_id) =
                                     (split_part(l.session_id, '.', 1), split_part(l.session_id, '.', 2))
    WHERE l.expires_at > now()
    GROUP BY l.host
$$;
REVOKE ALL ON FUNCTION host_session_sums() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION host_session_sums() TO wa_connect_api;
