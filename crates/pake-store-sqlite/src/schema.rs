//! Diesel table definitions, matching `migrations/sqlite` (checked against the migrated database
//! by `tests/catalog.rs`, and against the PostgreSQL schema by `xtask/tests/schemas.rs`).

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        display_name -> Text,
        domain -> Nullable<Text>,
        plan -> Text,
        status -> Text,
        limits_override -> Text,
        settings -> Text,
        provisioning -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    users (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        username -> Text,
        email -> Text,
        full_name -> Nullable<Text>,
        role -> Text,
        status -> Text,
        password_hash -> Text,
        must_change_password -> Bool,
        failed_login_attempts -> Integer,
        locked_until -> Nullable<BigInt>,
        tokens_valid_after -> BigInt,
        last_login_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        login_attempts_pending -> Integer,
        login_pending_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        user_id -> Text,
        created_at -> BigInt,
        last_used_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (tenant_id, token_hash) {
        tenant_id -> Text,
        token_hash -> Binary,
        session_id -> Text,
        issued_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_events (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        at -> BigInt,
        kind -> Text,
        actor_id -> Nullable<Text>,
        actor_tenant_id -> Nullable<Text>,
        target -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    search_history (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        user_id -> Text,
        query -> Text,
        query_norm -> Text,
        sources -> Text,
        result_count -> Integer,
        execution_ms -> Integer,
        cache_hit -> Bool,
        source_status -> Text,
        saved_search_id -> Nullable<Text>,
        created_at -> BigInt,
        pages -> Integer,
        paging -> Nullable<Text>,
    }
}

diesel::table! {
    saved_searches (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        owner_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        query -> Text,
        parameters -> Text,
        is_public -> Bool,
        run_count -> BigInt,
        last_run_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    usage_counters (tenant_id, day, metric) {
        tenant_id -> Text,
        day -> Text,
        metric -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    search_snapshots (tenant_id, search_id, page) {
        tenant_id -> Text,
        search_id -> Text,
        page -> Integer,
        created_at -> BigInt,
        body -> Binary,
    }
}

diesel::table! {
    collections (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        owner_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        visibility -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    collection_items (tenant_id, collection_id, id) {
        tenant_id -> Text,
        collection_id -> Text,
        id -> Text,
        record -> Text,
        tags -> Text,
        note -> Nullable<Text>,
        added_by -> Text,
        added_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    collection_item_keys (tenant_id, collection_id, key) {
        tenant_id -> Text,
        collection_id -> Text,
        key -> Text,
        item_id -> Text,
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
