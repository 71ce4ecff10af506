-- Idempotency keys are kept tessera.idempotency_keep_days (30 by default), then forgotten by the
-- daemon's hourly housekeeping: a client retries a command within minutes, and a reply kept for ever
-- would grow the table by every command's answer for as long as the suite runs.
CREATE INDEX idempotency_created ON idempotency (created_at);
