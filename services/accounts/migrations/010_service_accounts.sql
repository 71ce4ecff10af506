-- A service account (every role a machine's, such as the spine poller's cpis-service) signs in with a
-- generated secret of at least 32 characters, which no one finds by trying: wrong passwords under it
-- do not pause it, where a stranger's ten a quarter of an hour kept the CP-IS feed's account out, and
-- the A&E and 111 notifications about children on plans with it. Whether the password was that long
-- when it was set: a service account whose password was set shorter (before this, or one that became a
-- service account by a change of roles) is paused like a worker's until it is given such a secret.
ALTER TABLE workers ADD COLUMN long_password boolean NOT NULL DEFAULT false;
