-- A copy that says something other than the notification accepted under its id (a conflicting
-- duplicate) is an entry of its own, beside the notification's own entry: one refused before and
-- since accepted, or an accepted one waiting for a person (no_key_worker). Folded into that entry, a
-- conflict overwrote it (the key worker never asked), or was resolved with it by the acceptance.
-- Each keeps one row per notification id: the same copy sent again counts up its row.
DROP INDEX errors_notification;
CREATE UNIQUE INDEX errors_notification ON errors (notification_id)
    WHERE notification_id <> '' AND code <> 'conflicting_duplicate';
CREATE UNIQUE INDEX errors_conflict ON errors (notification_id)
    WHERE notification_id <> '' AND code = 'conflicting_duplicate';
