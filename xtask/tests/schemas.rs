//! The two stores keep the same data: both `schema.rs` files name the same tables, keys and
//! columns (each is checked against its own migrated database by its crate's catalog test), except
//! the tables only the shared store needs.

#![expect(
    clippy::unwrap_used,
    reason = "a test stops at the line that cannot set up"
)]

use std::collections::BTreeMap;
use std::path::Path;

/// Tables PostgreSQL has and the embedded store does not need: signing keys every replica shares
/// (the embedded store keeps key files).
const POSTGRES_ONLY: &[&str] = &["signing_keys"];

/// `table (key, …)` → its columns, in order, from a `diesel::table!` file.
fn tables(path: &Path) -> BTreeMap<String, (String, Vec<String>)> {
    let source = std::fs::read_to_string(path).unwrap();
    let mut tables = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in source.lines().map(str::trim) {
        if let Some(rest) = line.strip_suffix('{').map(str::trim)
            && let Some((name, key)) = rest.split_once(" (")
        {
            let key = key.trim_end_matches(')').to_owned();
            tables.insert(name.to_owned(), (key, Vec::new()));
            current = Some(name.to_owned());
        } else if let (Some(table), Some((column, _))) = (&current, line.split_once(" -> ")) {
            tables.get_mut(table).unwrap().1.push(column.to_owned());
        }
    }
    tables
}

#[test]
fn both_stores_declare_the_same_tables_keys_and_columns() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let sqlite = tables(&root.join("crates/pake-store-sqlite/src/schema.rs"));
    let mut postgres = tables(&root.join("crates/pake-store-postgres/src/schema.rs"));
    for only in POSTGRES_ONLY {
        assert!(
            postgres.remove(*only).is_some(),
            "{only} is gone: update POSTGRES_ONLY"
        );
    }
    assert!(sqlite.len() >= 7, "tables not found: {sqlite:?}");
    assert_eq!(sqlite, postgres, "the two schema.rs files disagree");
}
