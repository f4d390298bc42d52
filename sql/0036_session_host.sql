-- Which host runs a session now: the host of its live lease. The API asks it for a screenshot and may not read the
-- leases themselves (sql/0021): this answers the one host of the one session it names, and nothing else of the lease.
CREATE FUNCTION session_host(session_key text)
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT host FROM session_leases WHERE session_id = session_key AND expires_at > now() AND NOT released
$$;
REVOKE ALL ON FUNCTION session_host(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_host(text) TO wa_connect_api;
