-- The office's day (tsr_daemon_use_timezone's zone, Europe/London by default, which each connection
-- of the daemon names in the setting tessera.timezone): what "today" means to a rule of the office,
-- such as the day a DBS check is due for renewal or a contract ends. current_date is PostgreSQL's day,
-- on its TimeZone (UTC on the council's servers), which in British Summer Time begins an hour after
-- the office's. A daemon that names no office zone gets current_date.
CREATE FUNCTION office_today() RETURNS date LANGUAGE sql STABLE
AS $$ SELECT coalesce((now() AT TIME ZONE nullif(current_setting('tessera.timezone', true), ''))::date,
                      current_date) $$;
