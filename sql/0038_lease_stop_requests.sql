-- A host that Temporal no longer reaches (its network to Temporal cut, its task queue unpolled) still renews its
-- leases through the database: no other host may start its sessions, and a stop sent through its task queue never
-- reaches it. What is asked of a lease's holder is written on the lease instead, and the holder reads it with each
-- renewal. `generation`: the account's session generation the client runs (its workflow counts its starts).
-- `stop_through_generation`: the holder stops its client when that client runs this generation or an older one; a
-- newer generation's start on another host asks it through the generation before its own, a stop the holder's task
-- queue did not take through the generation it stops, so a stale request never stops a newer client.
-- `stop_logout`, `stop_forget_login`: how it stops. Taking the lease clears the request.
ALTER TABLE session_leases
    ADD COLUMN generation bigint,
    ADD COLUMN stop_through_generation bigint,
    ADD COLUMN stop_logout boolean NOT NULL DEFAULT false,
    ADD COLUMN stop_forget_login boolean NOT NULL DEFAULT false;
