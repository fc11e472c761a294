-- PAKE production store (PostgreSQL; Citus-ready). Run by `pake migrate` as the schema owner.
--
-- Roles: the server logs in as a role that is a member of `pake_app` (tenant work, row-level
-- security by `app.tenant_id`) and may `SET LOCAL ROLE pake_platform` for the explicit,
-- audited platform path. Neither owns a table, is a superuser or bypasses RLS.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pake_app') THEN
        CREATE ROLE pake_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pake_platform') THEN
        CREATE ROLE pake_platform NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
-- pake_app may switch to pake_platform (SET ROLE) but, being NOINHERIT, never holds its rights
-- otherwise: a login role granted pake_app gets tenant rights only.
GRANT pake_platform TO pake_app;

-- The tenant of the current transaction, or NULL (then no tenant row matches: fail closed).
CREATE FUNCTION pake_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    id              uuid        NOT NULL PRIMARY KEY,
    slug            text        NOT NULL,
    display_name    text        NOT NULL,
    domain          text,
    plan            text        NOT NULL CHECK (plan IN ('basic', 'professional', 'enterprise')),
    status          text        NOT NULL CHECK (status IN ('provisioning', 'active', 'suspended', 'deleted')),
    limits_override jsonb       NOT NULL DEFAULT '{}',
    settings        jsonb       NOT NULL DEFAULT '{}',
    provisioning    jsonb       NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT tenants_slug_key UNIQUE (slug)
);
CREATE INDEX tenants_created_idx ON tenants (created_at);

CREATE TABLE users (
    tenant_id             uuid        NOT NULL REFERENCES tenants (id),
    id                    uuid        NOT NULL,
    username              text        NOT NULL,
    email                 text        NOT NULL,
    full_name             text,
    role                  text        NOT NULL CHECK (role IN ('viewer', 'user', 'manager', 'admin', 'super_admin')),
    status                text        NOT NULL CHECK (status IN ('active', 'disabled')),
    password_hash         text        NOT NULL,
    must_change_password  boolean     NOT NULL DEFAULT false,
    failed_login_attempts integer     NOT NULL DEFAULT 0,
    locked_until          timestamptz,
    tokens_valid_after    timestamptz NOT NULL,
    last_login_at         timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_username_key UNIQUE (tenant_id, username),
    CONSTRAINT users_email_key UNIQUE (tenant_id, email)
);

CREATE TABLE sessions (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    user_id      uuid        NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    ip           text,
    user_agent   text,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user_idx ON sessions (tenant_id, user_id);
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    tenant_id  uuid        NOT NULL,
    token_hash bytea       NOT NULL,
    session_id uuid        NOT NULL,
    issued_at  timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (tenant_id, session_id);

CREATE TABLE audit_events (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    id              uuid        NOT NULL,
    at              timestamptz NOT NULL,
    kind            text        NOT NULL,
    actor_id        uuid,
    actor_tenant_id uuid,
    target          text,
    ip              text,
    user_agent      text,
    request_id      text,
    details         jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_at_idx ON audit_events (tenant_id, at);

CREATE TABLE search_history (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    user_id         uuid        NOT NULL,
    query           text        NOT NULL,
    query_norm      text        NOT NULL,
    sources         text        NOT NULL,
    result_count    integer     NOT NULL,
    execution_ms    integer     NOT NULL,
    cache_hit       boolean     NOT NULL,
    source_status   jsonb       NOT NULL DEFAULT '{}',
    saved_search_id uuid,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX search_history_created_idx ON search_history (tenant_id, created_at);
CREATE INDEX search_history_user_idx ON search_history (tenant_id, user_id, created_at);

CREATE TABLE saved_searches (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    owner_id    uuid        NOT NULL,
    name        text        NOT NULL,
    description text,
    query       text        NOT NULL,
    parameters  jsonb       NOT NULL DEFAULT '{}',
    is_public   boolean     NOT NULL DEFAULT false,
    run_count   bigint      NOT NULL DEFAULT 0,
    last_run_at timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX saved_searches_owner_idx ON saved_searches (tenant_id, owner_id);

CREATE TABLE usage_counters (
    tenant_id uuid   NOT NULL REFERENCES tenants (id),
    day       date   NOT NULL,
    metric    text   NOT NULL,
    value     bigint NOT NULL,
    PRIMARY KEY (tenant_id, day, metric)
);

-- Row-level security: every table, enabled and forced (the owner is bound too). Tenant work sees
-- only the rows of `app.tenant_id` (set per transaction with set_config(…, true)); with no tenant
-- set it sees nothing. The platform role sees everything, and only inside the explicit platform
-- path that switches to it for one transaction.
DO $$
DECLARE
    t text;
    key text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenants', 'users', 'sessions', 'refresh_tokens', 'audit_events',
                             'search_history', 'saved_searches', 'usage_counters'] LOOP
        key := CASE WHEN t = 'tenants' THEN 'id' ELSE 'tenant_id' END;
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I TO pake_app USING (%I = pake_current_tenant()) WITH CHECK (%I = pake_current_tenant())', t, key, key);
        EXECUTE format('CREATE POLICY platform_all ON %I TO pake_platform USING (true) WITH CHECK (true)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO pake_app, pake_platform', t);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION pake_current_tenant() TO pake_app, pake_platform;
-- The server checks at start-up that the schema is current.
GRANT SELECT ON __diesel_schema_migrations TO pake_app;
