-- Generations count the starts of one account; an account deleted and created again under the same session id
-- counts from 1 again. `account_run` names the account a lease's client belongs to (its workflow's first run), and a
-- stop request (sql/0038) reaches only a client of the same account, of the generation it names or an older one.
ALTER TABLE session_leases ADD COLUMN account_run text;
