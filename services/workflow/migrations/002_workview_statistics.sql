-- A worker's open work is a small, skewed slice of all steps (one worker may hold 10,000 of a
-- million). Without statistics on owner and folder together the planner takes the columns as
-- independent, expects a few rows, and sorts them all instead of reading the first page in index
-- order. The MCV list gives it the real counts for the busiest queues.
CREATE STATISTICS steps_owner_folder (mcv, dependencies) ON owner, folder FROM steps;
