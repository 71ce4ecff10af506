-- Who and why, beyond the worker: the teams they acted for and the reason they gave for the access
-- (the X-Access-Reason header). hash_version says which fields an entry's hash covers: 1, the first
-- entries' (before these columns); 2, every field an auditor reads.
ALTER TABLE entries ADD COLUMN teams text[] NOT NULL DEFAULT '{}';
ALTER TABLE entries ADD COLUMN reason text NOT NULL DEFAULT '';
ALTER TABLE entries ADD COLUMN hash_version smallint NOT NULL DEFAULT 1;

-- Append-only. The daemon's own role may add entries and read them, never change or remove one:
-- the privileges are taken from it, and a trigger refuses the change to anyone whose privileges
-- would allow it. A superuser can still get round both; the hash chain is what shows that
-- (tessera audit verify).
REVOKE UPDATE, DELETE, TRUNCATE ON entries FROM CURRENT_USER;

CREATE FUNCTION entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % of an entry refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION entries_refuse_change();
CREATE TRIGGER entries_never_truncated BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION entries_refuse_change();
