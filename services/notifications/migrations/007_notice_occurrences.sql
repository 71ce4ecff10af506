-- How often what a notice tells of happened (NoticeRequested.count_repeats): a worker who tried to
-- open a restricted record twenty times in a day made twenty notices for each of its managers, and
-- would have made twenty e-mails; now one notice a worker, record and day, counting the attempts.
ALTER TABLE notices ADD COLUMN occurrences integer NOT NULL DEFAULT 1;
