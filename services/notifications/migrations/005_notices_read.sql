-- The housekeeping's round finds the notices read long ago (notifications.read_notice_keep_days)
-- without reading every notice.
CREATE INDEX notices_read ON notices (read_at) WHERE read_at IS NOT NULL;
