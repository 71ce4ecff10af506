-- Whether the account's access prerequisites still hold (accounts.worker.changed): a session's calls
-- are refused, as signing in would be, once one is recorded as lapsed (state: dbs_out_of_date,
-- dbs_barred_list_missing, training_not_done, aup_not_signed) and from the day its DBS check runs out
-- (dbs_renewal_due), with nothing having to happen on that day. '' and NULL: nothing known to stop it.
ALTER TABLE worker_accounts ADD COLUMN state text NOT NULL DEFAULT '', ADD COLUMN dbs_renewal_due date;
-- The same day as at sign-in, for a worker not heard of since.
ALTER TABLE sessions ADD COLUMN dbs_renewal_due date;
