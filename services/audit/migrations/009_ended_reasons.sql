-- Why each account was ended, as system support gave it (accounts.worker.ended): the audit of movers
-- and leavers lists every account ended in the period with who ended it (the trail's end-account
-- entry), when and why.
ALTER TABLE workers ADD COLUMN ended_reason text NOT NULL DEFAULT '';

-- What was known before: the reason as the trail's end-account entry says it, "Ended the account of
-- USERNAME (worker ID): REASON" (none when none was given).
UPDATE workers w SET ended_reason = coalesce((
    SELECT substring(e.summary FROM char_length('Ended the account of ' || w.username || ' (worker '
                                                || w.worker_id || '): ') + 1)
    FROM entries e
    WHERE e.record_kind = 'worker' AND e.record_id = w.worker_id AND e.action = 'end-account'
      AND starts_with(e.summary, 'Ended the account of ' || w.username || ' (worker ' || w.worker_id || '): ')
    ORDER BY e.id DESC LIMIT 1), '')
WHERE w.ended;
