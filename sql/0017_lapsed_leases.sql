-- A host's liveness is its leases: one that stops renewing them (dead, frozen, cut off) is noticed by the hosts still
-- alive, which tell only the sessions it ran. `released`: given up by its host (a client stopped on purpose), not a
-- lapse. `reported_gone_at`: a live host has told the session's workflow, once.
ALTER TABLE session_leases
    ADD COLUMN released boolean NOT NULL DEFAULT false,
    ADD COLUMN reported_gone_at timestamptz;
CREATE INDEX session_leases_lapsed_idx ON session_leases (expires_at) WHERE NOT released AND reported_gone_at IS NULL;
