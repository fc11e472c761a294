//! What a store's `schema.rs` declares, read from its text, for the catalog tests that compare it
//! with the migrated database.

use std::collections::BTreeMap;

/// `(table, column)` → `(the database's type name, nullable)` for every column of every
/// `diesel::table!` in `source`; `sql_type` names the database type of a diesel type (`Text`,
/// `BigInt`, …) and panics on one it does not know.
pub fn declared_columns(
    source: &str,
    sql_type: impl Fn(&str) -> &'static str,
) -> BTreeMap<(String, String), (String, bool)> {
    let mut declared = BTreeMap::new();
    let mut table = String::new();
    for line in source.lines().map(str::trim) {
        if let Some(rest) = line.strip_suffix('{').map(str::trim)
            && let Some((name, _)) = rest.split_once(" (")
        {
            name.clone_into(&mut table);
        } else if let Some((column, ty)) = line.strip_suffix(',').and_then(|l| l.split_once(" -> "))
        {
            let nullable = ty.starts_with("Nullable<");
            let inner = ty.trim_start_matches("Nullable<").trim_end_matches('>');
            declared.insert(
                (table.clone(), column.to_owned()),
                (sql_type(inner).to_owned(), nullable),
            );
        }
    }
    declared
}
