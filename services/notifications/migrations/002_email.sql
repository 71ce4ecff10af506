-- E-mail notices: each worker's address and line manager (from accounts' events), and each notice's
-- delivery: the address it goes to (as it was when the notice was made), attempts, the next try and
-- the last error, for the retry loop and for anyone asking why a notice's e-mail did not arrive.
ALTER TABLE members
    ADD COLUMN email text NOT NULL DEFAULT '',
    ADD COLUMN manager_id bigint NOT NULL DEFAULT 0;

ALTER TABLE notices
    ADD COLUMN email_to text NOT NULL DEFAULT '',
    ADD COLUMN email_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN email_next_at timestamptz,
    ADD COLUMN email_error text NOT NULL DEFAULT '',
    ADD COLUMN email_sent_at timestamptz;

-- The mailer's queue: what is due to be tried, oldest first.
CREATE INDEX notices_email_due ON notices (email_next_at) WHERE email_status = 'pending';
