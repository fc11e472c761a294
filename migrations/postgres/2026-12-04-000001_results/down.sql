DROP TABLE collection_item_keys;
DROP TABLE collection_items;
DROP TABLE collections;
DROP INDEX search_history_saved_idx;
DROP TABLE search_snapshots;
