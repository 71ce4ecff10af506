-- A part of a CP-IS feed file is one cpis.steps.requested event of some 470 KB (a follow-up step a
-- notification), written once and read back once by the relay. Compressed with lz4 rather than the
-- default pglz, it costs a third of the time to write and less to read, for a tenth more room.
-- A server built without lz4 keeps pglz: the daemon must start either way.
DO $$
BEGIN
    ALTER TABLE outbox ALTER COLUMN envelope SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 is not available: the outbox keeps pglz';
END
$$;
