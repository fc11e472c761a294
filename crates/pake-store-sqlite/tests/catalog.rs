//! `schema.rs` matches the migrated database: every table and column, its type and whether it
//! may be null, as SQLite reports them after `migrations/sqlite` ran.

use std::collections::BTreeMap;

use diesel::sql_types::{Bool, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use pake_contract::schema::declared_columns;
use pake_store_sqlite::{SqliteOptions, SqliteStore};

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

#[test]
fn schema_rs_matches_the_migrated_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pake.db");
    SqliteStore::open(&path, &SqliteOptions::default())
        .unwrap()
        .migrate()
        .unwrap();
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name, upper(p.type) AS data_type, \
         (p.\"notnull\" = 0 AND p.pk = 0) AS nullable \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name NOT LIKE '\\_\\_diesel%' ESCAPE '\\'",
    )
    .load(&mut conn)
    .unwrap();
    let migrated: BTreeMap<(String, String), (String, bool)> = columns
        .into_iter()
        .map(|c| ((c.table_name, c.column_name), (c.data_type, c.nullable)))
        .collect();

    let declared = declared_columns(include_str!("../src/schema.rs"), |diesel| match diesel {
        "Text" => "TEXT",
        "BigInt" => "BIGINT",
        "Integer" => "INTEGER",
        "Bool" => "BOOLEAN",
        "Binary" => "BLOB",
        other => panic!("unmapped diesel type {other}"),
    });
    assert!(!declared.is_empty(), "schema.rs declares no columns");
    assert_eq!(
        declared, migrated,
        "schema.rs and migrations/sqlite disagree"
    );
}
