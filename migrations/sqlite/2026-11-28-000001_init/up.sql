-- PAKE embedded store (SQLite). Every tenant-owned table carries tenant_id first in its primary key,
-- its unique keys and its foreign keys, exactly as the PostgreSQL/Citus schema does.
-- Timestamps are microseconds since the Unix epoch, UTC. Ids are hyphenated UUIDv7 text.

CREATE TABLE tenants (
    id              TEXT    NOT NULL PRIMARY KEY,
    slug            TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    domain          TEXT,
    plan            TEXT    NOT NULL CHECK (plan IN ('basic', 'professional', 'enterprise')),
    status          TEXT    NOT NULL CHECK (status IN ('provisioning', 'active', 'suspended', 'deleted')),
    limits_override TEXT    NOT NULL DEFAULT '{}',
    settings        TEXT    NOT NULL DEFAULT '{}',
    provisioning    TEXT    NOT NULL DEFAULT '{}',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    CONSTRAINT tenants_slug_key UNIQUE (slug)
);
CREATE INDEX tenants_created_idx ON tenants (created_at);

CREATE TABLE users (
    tenant_id             TEXT    NOT NULL REFERENCES tenants (id),
    id                    TEXT    NOT NULL,
    username              TEXT    NOT NULL,
    email                 TEXT    NOT NULL,
    full_name             TEXT,
    role                  TEXT    NOT NULL CHECK (role IN ('viewer', 'user', 'manager', 'admin', 'super_admin')),
    status                TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    password_hash         TEXT    NOT NULL,
    must_change_password  BOOLEAN NOT NULL DEFAULT 0,
    failed_login_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until          BIGINT,
    tokens_valid_after    BIGINT  NOT NULL,
    last_login_at         BIGINT,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_username_key UNIQUE (tenant_id, username),
    CONSTRAINT users_email_key UNIQUE (tenant_id, email)
);

CREATE TABLE sessions (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    user_id      TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    ip           TEXT,
    user_agent   TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user_idx ON sessions (tenant_id, user_id);
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at);

CREATE TABLE refresh_tokens (
    tenant_id  TEXT   NOT NULL,
    token_hash BLOB   NOT NULL,
    session_id TEXT   NOT NULL,
    issued_at  BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (tenant_id, session_id);

CREATE TABLE audit_events (
    tenant_id       TEXT   NOT NULL REFERENCES tenants (id),
    id              TEXT   NOT NULL,
    at              BIGINT NOT NULL,
    kind            TEXT   NOT NULL,
    actor_id        TEXT,
    actor_tenant_id TEXT,
    target          TEXT,
    ip              TEXT,
    user_agent      TEXT,
    request_id      TEXT,
    details         TEXT   NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_at_idx ON audit_events (tenant_id, at);

CREATE TABLE search_history (
    tenant_id       TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    query           TEXT    NOT NULL,
    query_norm      TEXT    NOT NULL,
    sources         TEXT    NOT NULL,
    result_count    INTEGER NOT NULL,
    execution_ms    INTEGER NOT NULL,
    cache_hit       BOOLEAN NOT NULL,
    source_status   TEXT    NOT NULL DEFAULT '{}',
    saved_search_id TEXT,
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX search_history_created_idx ON search_history (tenant_id, created_at);
CREATE INDEX search_history_user_idx ON search_history (tenant_id, user_id, created_at);

CREATE TABLE saved_searches (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    owner_id    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT,
    query       TEXT    NOT NULL,
    parameters  TEXT    NOT NULL DEFAULT '{}',
    is_public   BOOLEAN NOT NULL DEFAULT 0,
    run_count   BIGINT  NOT NULL DEFAULT 0,
    last_run_at BIGINT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX saved_searches_owner_idx ON saved_searches (tenant_id, owner_id);

CREATE TABLE usage_counters (
    tenant_id TEXT   NOT NULL REFERENCES tenants (id),
    day       TEXT   NOT NULL,
    metric    TEXT   NOT NULL,
    value     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day, metric)
);
