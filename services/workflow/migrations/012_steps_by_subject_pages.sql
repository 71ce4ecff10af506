-- A subject's steps are paged newest first with a keyset on (started_at, id): the 'Consultation'
-- organisation of seed 000, where every consultation whose referrer is not on the system is recorded,
-- passes any fixed number. The index carries the id, so that each page starts where the last ended.
CREATE INDEX steps_subject_page ON steps (subject_kind, subject_id, started_at DESC, id DESC);
DROP INDEX steps_subject;
