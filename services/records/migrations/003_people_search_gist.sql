-- Name search ranks by word similarity, nearest first: a GiST trigram index answers that order
-- directly (k-nearest-neighbour), so a search reads only the rows it shows.
DROP INDEX people_search_names_trgm;
CREATE INDEX people_search_names_gist ON people USING gist (search_names public.gist_trgm_ops);
