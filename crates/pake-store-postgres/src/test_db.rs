//! Throw-away databases for tests (feature `test-support`).
//!
//! `PAKE_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) names a role
//! that may create databases and roles. Each test gets its own database, cloned from a template
//! migrated once per migration set (the template's name carries a hash of the migrations, and an
//! advisory lock makes concurrent test processes build it once). The server side of a test
//! connects as `pake_server`, a login role that is a member of `pake_app` only — never the owner.
//! The database is dropped when the guard is.

#![expect(
    clippy::expect_used,
    clippy::missing_panics_doc,
    reason = "a failure here is a broken machine, not a request error"
)]

use std::hash::{Hash, Hasher};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::{MIGRATIONS, PgOptions, PgStore};

/// The login role tests connect as.
pub const APP_ROLE: &str = "pake_server";

/// The admin URL of the test cluster.
pub fn admin_url() -> String {
    std::env::var("PAKE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `url` with its database replaced by `db` and, when given, its user by `user`.
pub fn with_db(url: &str, db: &str, user: Option<&str>) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, _) = rest.split_once('/').unwrap_or((rest, ""));
    let authority = match user {
        Some(user) => {
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{user}@{host}")
        }
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}/{db}")
}

fn template_name() -> String {
    use diesel::migration::MigrationSource;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let migrations =
        MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS).expect("migrations");
    for m in &migrations {
        m.name().to_string().hash(&mut hasher);
    }
    include_str!("../../../migrations/postgres/2026-11-28-000001_init/up.sql").hash(&mut hasher);
    format!("pake_tpl_{:016x}", hasher.finish())
}

fn exec(conn: &mut PgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    datname: String,
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

/// Makes sure the migrated template and the login role exist.
fn prepare() -> String {
    let admin = admin_url();
    let mut conn = PgConnection::establish(&admin).unwrap_or_else(|e| {
        panic!("PostgreSQL is needed for these tests and is not reachable at {admin}: {e}. Start it or set PAKE_TEST_DATABASE_URL.")
    });
    exec(&mut conn, "SELECT pg_advisory_lock(727274)");
    let template = template_name();
    let exists: Exists = diesel::sql_query(format!(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{template}') AS exists"
    ))
    .get_result(&mut conn)
    .expect("query pg_database");
    if !exists.exists {
        exec(&mut conn, &format!("CREATE DATABASE {template}"));
        let mut tpl = PgConnection::establish(&with_db(&admin, &template, None))
            .expect("connect to template");
        diesel_migrations::MigrationHarness::run_pending_migrations(&mut tpl, MIGRATIONS)
            .expect("migrate template");
        drop(tpl);
        // Templates of older migration sets are of no further use.
        let stale: Vec<Name> = diesel::sql_query(format!(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'pake\\_tpl\\_%' AND datname <> '{template}'"
        ))
        .load(&mut conn)
        .unwrap_or_default();
        for s in stale {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                s.datname
            ))
            .execute(&mut conn);
        }
    }
    let role: Exists = diesel::sql_query(format!(
        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') AS exists"
    ))
    .get_result(&mut conn)
    .expect("query pg_roles");
    if !role.exists {
        exec(
            &mut conn,
            &format!(
                "CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT"
            ),
        );
    }
    exec(&mut conn, &format!("GRANT pake_app TO {APP_ROLE}"));
    exec(&mut conn, "SELECT pg_advisory_unlock(727274)");
    template
}

/// A database of its own for one test; dropped with the guard.
pub struct TestDb {
    name: String,
    /// URL of the application role (`pake_server`) on this database.
    pub app_url: String,
    /// URL of the owner (admin) on this database.
    pub owner_url: String,
}

impl TestDb {
    /// A fresh, migrated database.
    pub fn new() -> Self {
        let template = prepare();
        let name = format!("pake_test_{}", uuid::Uuid::now_v7().simple());
        let admin = admin_url();
        let mut conn = PgConnection::establish(&admin).expect("admin connection");
        exec(
            &mut conn,
            &format!("CREATE DATABASE {name} TEMPLATE {template}"),
        );
        Self {
            app_url: with_db(&admin, &name, Some(APP_ROLE)),
            owner_url: with_db(&admin, &name, None),
            name,
        }
    }

    /// A database with no migrations applied (for the migration round trip).
    pub fn empty() -> Self {
        prepare();
        let name = format!("pake_test_{}", uuid::Uuid::now_v7().simple());
        let admin = admin_url();
        let mut conn = PgConnection::establish(&admin).expect("admin connection");
        exec(&mut conn, &format!("CREATE DATABASE {name}"));
        Self {
            app_url: with_db(&admin, &name, Some(APP_ROLE)),
            owner_url: with_db(&admin, &name, None),
            name,
        }
    }

    /// A store on this database as the application role.
    pub fn store(&self, pool_size: usize) -> PgStore {
        PgStore::connect(
            &self.app_url,
            &PgOptions {
                pool_size,
                ..PgOptions::default()
            },
        )
        .expect("pool")
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&admin_url()) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}
