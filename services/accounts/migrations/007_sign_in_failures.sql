-- Wrong passwords in a row under a username, whether or not an account has it (so that a pause
-- tells nothing of which usernames exist): after accounts.sign_in_attempts of them, sign-in under
-- that username is paused until locked_until. A right password deletes the row.
CREATE TABLE sign_in_failures (
    username text PRIMARY KEY,
    failures integer NOT NULL DEFAULT 0,
    last_failed_at timestamptz,
    locked_until timestamptz
);
