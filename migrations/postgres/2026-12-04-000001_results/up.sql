-- Results you keep: each history entry's results, page by page (compressed by the search
-- service), and collections of papers with their de-duplication keys. Every key starts with
-- the tenant (Citus: distributed by tenant_id); row-level security as on every tenant table.
CREATE TABLE search_snapshots (
    tenant_id  uuid        NOT NULL,
    search_id  uuid        NOT NULL,
    page       integer     NOT NULL CHECK (page >= 1),
    created_at timestamptz NOT NULL,
    body       bytea       NOT NULL,
    PRIMARY KEY (tenant_id, search_id, page),
    FOREIGN KEY (tenant_id, search_id) REFERENCES search_history (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX search_snapshots_created_idx ON search_snapshots (tenant_id, created_at);
CREATE INDEX search_history_saved_idx ON search_history (tenant_id, saved_search_id, created_at);

CREATE TABLE collections (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    owner_id    uuid        NOT NULL,
    name        text        NOT NULL,
    description text,
    visibility  text        NOT NULL CHECK (visibility IN ('private', 'tenant')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX collections_owner_idx ON collections (tenant_id, owner_id);

CREATE TABLE collection_items (
    tenant_id     uuid        NOT NULL,
    collection_id uuid        NOT NULL,
    id            uuid        NOT NULL,
    record        text        NOT NULL,
    tags          text        NOT NULL DEFAULT '[]',
    note          text,
    added_by      uuid        NOT NULL,
    added_at      timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, id),
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE collection_item_keys (
    tenant_id     uuid NOT NULL,
    collection_id uuid NOT NULL,
    key           text NOT NULL,
    item_id       uuid NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, key),
    FOREIGN KEY (tenant_id, collection_id, item_id)
        REFERENCES collection_items (tenant_id, collection_id, id) ON DELETE CASCADE
);
CREATE INDEX collection_item_keys_key_idx ON collection_item_keys (tenant_id, key);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['search_snapshots', 'collections', 'collection_items',
                             'collection_item_keys'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I TO pake_app USING (tenant_id = pake_current_tenant()) WITH CHECK (tenant_id = pake_current_tenant())', t);
        EXECUTE format('CREATE POLICY platform_all ON %I TO pake_platform USING (true) WITH CHECK (true)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO pake_app, pake_platform', t);
    END LOOP;
END
$$;
