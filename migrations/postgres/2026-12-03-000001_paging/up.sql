-- A search continues page by page: how many pages it fetched, and where each source's next
-- page starts (with what earlier pages returned), while it can be continued. The table's
-- row-level security covers the new columns.
ALTER TABLE search_history ADD COLUMN pages INTEGER NOT NULL DEFAULT 1 CHECK (pages >= 1);
ALTER TABLE search_history ADD COLUMN paging JSONB;
