-- Tessera's database lock-down (docs/OPERATIONS.md, sections 8 and 9): PUBLIC may do nothing on the
-- database or in schema public, and each daemon's login role tsr_<daemon> may connect and use
-- public (pg_trgm's functions and operators live there; nothing can be created there).
--
-- These grants are the database's own, not any schema's: pg_dump keeps them only for
-- pg_restore --create, so a restore into a new, empty database (section 8) has PUBLIC able to
-- connect and make temporary tables again. Run this after every restore, and whenever you like: it
-- changes nothing that is already so. As a superuser, on the database the daemons use:
--
--   psql -X -v ON_ERROR_STOP=1 -d tessera -f /opt/tessera/share/tessera/database-lockdown.sql
--
-- It ends with a check: one row, every column false. The gateway's /readyz checks the same
-- (database_lockdown). scripts/instance.sh runs this file too, so a development instance is locked
-- down the same way. The nine daemons are those of scripts/instance.sh's DAEMONS.
DO $lockdown$
DECLARE
    daemon text;
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    REVOKE ALL ON SCHEMA public FROM PUBLIC;
    FOREACH daemon IN ARRAY ARRAY['accounts', 'records', 'audit', 'workflow', 'consultations', 'reporting',
                                   'notifications', 'cpis', 'gateway']
    LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tsr_' || daemon) THEN
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), 'tsr_' || daemon);
            EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', 'tsr_' || daemon);
        ELSE
            RAISE WARNING 'there is no role tsr_%: create the roles (docs/OPERATIONS.md, section 8), then run this file again', daemon;
        END IF;
    END LOOP;
END
$lockdown$;

-- What PUBLIC may do now: each must be f.
SELECT has_database_privilege('public', current_database(), 'CONNECT') AS public_may_connect,
       has_database_privilege('public', current_database(), 'TEMPORARY') AS public_may_make_temp_tables,
       has_schema_privilege('public', 'public', 'CREATE') AS public_may_create_in_public,
       has_schema_privilege('public', 'public', 'USAGE') AS public_may_use_public;
