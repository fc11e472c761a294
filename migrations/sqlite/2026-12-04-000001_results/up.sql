-- Results you keep: each history entry's results, page by page (compressed by the search
-- service), and collections of papers with their de-duplication keys.
CREATE TABLE search_snapshots (
    tenant_id  TEXT    NOT NULL,
    search_id  TEXT    NOT NULL,
    page       INTEGER NOT NULL CHECK (page >= 1),
    created_at BIGINT  NOT NULL,
    body       BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, search_id, page),
    FOREIGN KEY (tenant_id, search_id) REFERENCES search_history (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX search_snapshots_created_idx ON search_snapshots (tenant_id, created_at);
CREATE INDEX search_history_saved_idx ON search_history (tenant_id, saved_search_id, created_at);

CREATE TABLE collections (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    owner_id    TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    description TEXT,
    visibility  TEXT   NOT NULL CHECK (visibility IN ('private', 'tenant')),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX collections_owner_idx ON collections (tenant_id, owner_id);

CREATE TABLE collection_items (
    tenant_id     TEXT   NOT NULL,
    collection_id TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    record        TEXT   NOT NULL,
    tags          TEXT   NOT NULL DEFAULT '[]',
    note          TEXT,
    added_by      TEXT   NOT NULL,
    added_at      BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, id),
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE collection_item_keys (
    tenant_id     TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    key           TEXT NOT NULL,
    item_id       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, key),
    FOREIGN KEY (tenant_id, collection_id, item_id)
        REFERENCES collection_items (tenant_id, collection_id, id) ON DELETE CASCADE
);
CREATE INDEX collection_item_keys_key_idx ON collection_item_keys (tenant_id, key);
