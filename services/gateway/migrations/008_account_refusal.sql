-- Why the account may not be used, in the words accounts answers a sign-in with (what stops it, why,
-- and whom to ask: accounts.worker.changed's refusal): a session's calls are refused with them while
-- state is a lapsed prerequisite. '' for an account announced before this: the gateway then says
-- which prerequisite it is and to ask system support, until the account is announced again (tessera
-- accounts republish).
ALTER TABLE worker_accounts ADD COLUMN refusal text NOT NULL DEFAULT '';
