//! Diesel table definitions, matching `migrations/postgres` (checked against the live catalog by
//! `tests/catalog.rs`).

diesel::table! {
    tenants (id) {
        id -> Uuid,
        slug -> Text,
        display_name -> Text,
        domain -> Nullable<Text>,
        plan -> Text,
        status -> Text,
        limits_override -> Jsonb,
        settings -> Jsonb,
        provisioning -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        username -> Text,
        email -> Text,
        full_name -> Nullable<Text>,
        role -> Text,
        status -> Text,
        password_hash -> Text,
        must_change_password -> Bool,
        failed_login_attempts -> Int4,
        locked_until -> Nullable<Timestamptz>,
        tokens_valid_after -> Timestamptz,
        last_login_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        login_attempts_pending -> Int4,
        login_pending_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sessions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (tenant_id, token_hash) {
        tenant_id -> Uuid,
        token_hash -> Bytea,
        session_id -> Uuid,
        issued_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_events (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        at -> Timestamptz,
        kind -> Text,
        actor_id -> Nullable<Uuid>,
        actor_tenant_id -> Nullable<Uuid>,
        target -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Jsonb,
    }
}

diesel::table! {
    search_history (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        query -> Text,
        query_norm -> Text,
        sources -> Text,
        result_count -> Int4,
        execution_ms -> Int4,
        cache_hit -> Bool,
        source_status -> Jsonb,
        saved_search_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        pages -> Int4,
        paging -> Nullable<Jsonb>,
    }
}

diesel::table! {
    saved_searches (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        owner_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        query -> Text,
        parameters -> Jsonb,
        is_public -> Bool,
        run_count -> Int8,
        last_run_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    usage_counters (tenant_id, day, metric) {
        tenant_id -> Uuid,
        day -> Date,
        metric -> Text,
        value -> Int8,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        public_key -> Bytea,
        sealed_key -> Bytea,
        created_at -> Timestamptz,
        activates_at -> Timestamptz,
    }
}

diesel::table! {
    search_snapshots (tenant_id, search_id, page) {
        tenant_id -> Uuid,
        search_id -> Uuid,
        page -> Int4,
        created_at -> Timestamptz,
        body -> Bytea,
    }
}

diesel::table! {
    collections (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        owner_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        visibility -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    collection_items (tenant_id, collection_id, id) {
        tenant_id -> Uuid,
        collection_id -> Uuid,
        id -> Uuid,
        record -> Text,
        tags -> Text,
        note -> Nullable<Text>,
        added_by -> Uuid,
        added_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    collection_item_keys (tenant_id, collection_id, key) {
        tenant_id -> Uuid,
        collection_id -> Uuid,
        key -> Text,
        item_id -> Uuid,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    users,
    sessions,
    refresh_tokens,
    audit_events,
    search_history,
    saved_searches,
    usage_counters,
    search_snapshots,
    collections,
    collection_items,
    collection_item_keys,
);
