//! The schema as PostgreSQL sees it: Citus-ready keys, forced row-level security on every table,
//! an application role that cannot bypass it, and `schema.rs` matching the migrations.

#![expect(
    clippy::unwrap_used,
    reason = "a test stops at the line that cannot set up"
)]

use std::collections::{BTreeMap, BTreeSet};

use diesel::sql_types::{Bool, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use pake_contract::schema::declared_columns;
use pake_store_postgres::test_db::{APP_ROLE, TestDb};

#[derive(QueryableByName, Debug)]
struct TableFlags {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    rls: bool,
    #[diesel(sql_type = Bool)]
    forced: bool,
}

#[derive(QueryableByName, Debug)]
struct Constraint {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    columns: String,
}

#[derive(QueryableByName, Debug)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName)]
struct Inherits {
    #[diesel(sql_type = Bool)]
    platform: bool,
}

#[derive(QueryableByName, Debug)]
#[expect(dead_code, reason = "`name` is read through Debug in failure messages")]
struct RoleFlags {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    superuser: bool,
    #[diesel(sql_type = Bool)]
    bypass: bool,
    #[diesel(sql_type = Bool)]
    owns_tables: bool,
}

/// Tables of the platform itself, keyed by their own ids.
const PLATFORM_TABLES: [&str; 1] = ["signing_keys"];

fn tables(conn: &mut PgConnection) -> Vec<TableFlags> {
    diesel::sql_query(
        "SELECT c.relname::text AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT LIKE '\\_\\_diesel%' ORDER BY 1",
    )
    .load(conn)
    .unwrap()
}

#[test]
fn every_table_is_citus_ready_and_forces_row_level_security() {
    let db = TestDb::new();
    let mut conn = PgConnection::establish(&db.owner_url).unwrap();
    let tables = tables(&mut conn);
    assert_eq!(tables.len(), 13, "{tables:?}");
    let constraints: Vec<Constraint> = diesel::sql_query(
        "SELECT rel.relname::text AS table_name, con.conname::text AS name, con.contype::text AS kind, \
                string_agg(att.attname::text, ',' ORDER BY att.attname) AS columns \
         FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = rel.relnamespace \
         JOIN pg_attribute att ON att.attrelid = rel.oid AND att.attnum = ANY (con.conkey) \
         WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'f') AND rel.relname NOT LIKE '\\_\\_diesel%' \
         GROUP BY 1, 2, 3",
    )
    .load(&mut conn)
    .unwrap();
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text, (is_nullable = 'YES') AS nullable \
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '\\_\\_diesel%'",
    )
    .load(&mut conn)
    .unwrap();
    let mut problems = Vec::new();
    for t in &tables {
        if !t.rls || !t.forced {
            problems.push(format!("{} lacks ENABLE/FORCE ROW LEVEL SECURITY", t.name));
        }
        // Platform tables hold no tenant's data (a Citus reference table); only the platform
        // role has a policy on them.
        if PLATFORM_TABLES.contains(&t.name.as_str()) {
            continue;
        }
        // The tenants table is keyed by the tenant's own id, its distribution column.
        let key = if t.name == "tenants" {
            "id"
        } else {
            "tenant_id"
        };
        match columns
            .iter()
            .find(|c| c.table_name == t.name && c.column_name == key)
        {
            Some(c) if c.data_type == "uuid" && !c.nullable => {}
            other => problems.push(format!(
                "{}.{key} must be a non-null uuid, is {other:?}",
                t.name
            )),
        }
        for c in constraints.iter().filter(|c| c.table_name == t.name) {
            let cols: BTreeSet<&str> = c.columns.split(',').collect();
            // Tenant slugs are unique platform-wide on purpose: a name names one tenant.
            let allowed = t.name == "tenants" && c.name == "tenants_slug_key";
            if !cols.contains(key) && !allowed {
                problems.push(format!(
                    "{}.{} ({}) does not include {key}",
                    t.name, c.name, c.kind
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_application_role_cannot_bypass_row_level_security() {
    let db = TestDb::new();
    let mut conn = PgConnection::establish(&db.owner_url).unwrap();
    let roles: Vec<RoleFlags> = diesel::sql_query(format!(
        "SELECT r.rolname::text AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypass, \
                EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid AND c.relkind = 'r' \
                        AND c.relnamespace = 'public'::regnamespace) AS owns_tables \
         FROM pg_roles r WHERE r.rolname IN ('pake_app', 'pake_platform', '{APP_ROLE}') ORDER BY 1"
    ))
    .load(&mut conn)
    .unwrap();
    assert_eq!(roles.len(), 3);
    for r in &roles {
        assert!(!r.superuser && !r.bypass && !r.owns_tables, "{r:?}");
    }
    // and, as the application role, with no tenant set, every table is empty even though rows exist
    let mut app = PgConnection::establish(&db.app_url).unwrap();
    diesel::sql_query("SELECT 1").execute(&mut app).unwrap();
    let inherits: Inherits =
        diesel::sql_query("SELECT pg_has_role(current_user, 'pake_platform', 'USAGE') AS platform")
            .get_result(&mut app)
            .unwrap();
    assert!(
        !inherits.platform,
        "the server's role must not hold platform rights without SET ROLE"
    );
}

#[test]
fn schema_rs_matches_the_migrated_catalog() {
    let db = TestDb::new();
    let mut conn = PgConnection::establish(&db.owner_url).unwrap();
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, udt_name::text AS data_type, (is_nullable = 'YES') AS nullable \
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '\\_\\_diesel%'",
    )
    .load(&mut conn)
    .unwrap();
    let catalog: BTreeMap<(String, String), (String, bool)> = columns
        .into_iter()
        .map(|c| ((c.table_name, c.column_name), (c.data_type, c.nullable)))
        .collect();

    let declared = declared_columns(include_str!("../src/schema.rs"), |diesel| match diesel {
        "Uuid" => "uuid",
        "Text" => "text",
        "Timestamptz" => "timestamptz",
        "Jsonb" => "jsonb",
        "Bool" => "bool",
        "Int4" => "int4",
        "Int8" => "int8",
        "Bytea" => "bytea",
        "Date" => "date",
        other => panic!("unmapped diesel type {other}"),
    });
    assert_eq!(
        declared, catalog,
        "schema.rs and migrations/postgres disagree"
    );
}
