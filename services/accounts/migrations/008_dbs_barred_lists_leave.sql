-- Seed 002: an enhanced DBS check "needs to include both the adult and child barred list check", and
-- is renewed "after parental leave or a career break". Which barred lists the check included ('' for
-- not recorded, as for every check recorded before this), and the day the worker came back from such
-- leave (a check dated before it no longer counts).
ALTER TABLE workers
    ADD COLUMN dbs_barred_lists text NOT NULL DEFAULT ''
        CHECK (dbs_barred_lists IN ('', 'both', 'children', 'adults')),
    ADD COLUMN returned_from_leave_on date;
