-- Before this migration a merged duplicate's id still took case notes, allocations, involvements and
-- relationships, which no one then saw, and a merge left the other services' Family Context rows
-- tied by the duplicate's case ID on the duplicate. Each goes now to the record the duplicate went
-- into (or the one that record went into in turn), as a merge would have taken it. Addresses are
-- left where they are: one written to a duplicate could not be put in a person's history without a
-- person's judgement of when they moved.

-- The record a person's id now is: itself, or the record it was merged into, followed to the end
-- (for this migration only: dropped at its end).
CREATE FUNCTION merged_person_now_is(person bigint) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ WITH RECURSIVE chain(id, merged_into) AS (
              SELECT id, merged_into FROM people WHERE id = person
              UNION ALL SELECT p.id, p.merged_into FROM people p JOIN chain c ON p.id = c.merged_into)
          SELECT id FROM chain WHERE merged_into IS NULL $$;

UPDATE fc_records r SET person_id = merged_person_now_is(r.person_id)
    FROM people p WHERE p.id = r.person_id AND p.merged_into IS NOT NULL;
UPDATE case_notes n SET person_id = merged_person_now_is(n.person_id)
    FROM people p WHERE p.id = n.person_id AND p.merged_into IS NOT NULL;
UPDATE case_note_removals n SET person_id = merged_person_now_is(n.person_id)
    FROM people p WHERE p.id = n.person_id AND p.merged_into IS NOT NULL;
UPDATE involvements i SET person_id = merged_person_now_is(i.person_id)
    FROM people p WHERE p.id = i.person_id AND p.merged_into IS NOT NULL;

-- An allocation still open on a duplicate whose record is restricted ends today, on the duplicate,
-- rather than moving: an allocation opens a restricted record, and this one was made where no one
-- could see it, so it would let its worker in unseen (no event, no audit entry). Whoever should hold
-- the child is allocated again, through the API, where the access list and the trail see it.
UPDATE allocations d SET end_date = current_date
    FROM people p WHERE p.id = d.person_id AND p.merged_into IS NOT NULL AND d.end_date IS NULL
     AND EXISTS (SELECT 1 FROM restrictions r WHERE r.person_id = merged_person_now_is(d.person_id));

-- An allocation the record has open already ends today on the duplicate's side, as in a merge.
UPDATE allocations d SET end_date = current_date
    FROM people p WHERE p.id = d.person_id AND p.merged_into IS NOT NULL AND d.end_date IS NULL
     AND EXISTS (SELECT 1 FROM allocations s WHERE s.person_id = merged_person_now_is(d.person_id)
                  AND s.end_date IS NULL AND s.role = d.role AND s.service = d.service
                  AND s.worker_id IS NOT DISTINCT FROM d.worker_id AND s.team_id IS NOT DISTINCT FROM d.team_id);
UPDATE allocations a SET person_id = merged_person_now_is(a.person_id)
    FROM people p WHERE p.id = a.person_id AND p.merged_into IS NOT NULL;

-- Relationships from or to a duplicate, both ways, but for one that would link a record to itself.
INSERT INTO relationships (person_id, related_id, type, created_at, created_by)
    SELECT merged_person_now_is(r.person_id), merged_person_now_is(r.related_id), r.type, r.created_at,
           r.created_by
      FROM relationships r JOIN people a ON a.id = r.person_id JOIN people b ON b.id = r.related_id
     WHERE (a.merged_into IS NOT NULL OR b.merged_into IS NOT NULL)
       AND merged_person_now_is(r.person_id) <> merged_person_now_is(r.related_id)
    ON CONFLICT DO NOTHING;
DELETE FROM relationships r USING people a, people b
    WHERE a.id = r.person_id AND b.id = r.related_id AND (a.merged_into IS NOT NULL OR b.merged_into IS NOT NULL);

DROP FUNCTION merged_person_now_is(bigint);
