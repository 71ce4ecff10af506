-- A step already past its due time, taken by someone else (resumed or assigned), gives its new
-- holder the time its type allows from then before they are reminded and their manager told: the
-- overdue reminder is raised again at remind_at. Without it a follow-up overdue in a queue, then
-- taken and left, would never be raised again.
ALTER TABLE steps ADD COLUMN remind_at timestamptz;
