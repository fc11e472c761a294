ALTER TABLE search_history DROP COLUMN paging;
ALTER TABLE search_history DROP COLUMN pages;
