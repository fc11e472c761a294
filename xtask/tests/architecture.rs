//! ARCHITECTURE.md's dependency rules, kept true over `cargo metadata`: for each workspace crate,
//! the crates it must never reach through its normal (non-dev) dependencies, directly or not.

#![expect(
    clippy::expect_used,
    reason = "a test stops at the line that cannot set up"
)]

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::process::Command;

use serde_json::Value;

/// Prefixes of crate names that mean "a database", "a web framework", "a cache client", "an HTTP
/// client" or "an async runtime".
const DATABASE: &[&str] = &[
    "diesel",
    "libsqlite3-sys",
    "pq-sys",
    "sqlx",
    "rusqlite",
    "postgres",
    "tokio-postgres",
];
const WEB: &[&str] = &["actix", "hyper", "axum", "utoipa"];
const CACHE: &[&str] = &["redis", "deadpool-redis"];
const HTTP_CLIENT: &[&str] = &["reqwest"];
const RUNTIME: &[&str] = &["tokio", "async-std", "mio"];

/// Workspace crates each crate must not reach (the hexagon's layering).
#[rustfmt::skip]
const LAYERS: &[(&str, &[&str])] = &[
    ("pake-domain", &["pake-ports", "pake-core", "pake-crypto", "pake-store-sqlite", "pake-store-postgres", "pake-http", "pake-contract", "pake-cache", "pake-sources"]),
    ("pake-ports", &["pake-core", "pake-crypto", "pake-store-sqlite", "pake-store-postgres", "pake-http", "pake-contract", "pake-cache", "pake-sources"]),
    ("pake-core", &["pake-crypto", "pake-store-sqlite", "pake-store-postgres", "pake-http", "pake-contract", "pake-cache", "pake-sources"]),
    ("pake-crypto", &["pake-core", "pake-store-sqlite", "pake-store-postgres", "pake-http", "pake-contract", "pake-cache", "pake-sources"]),
    ("pake-store-sqlite", &["pake-core", "pake-crypto", "pake-store-postgres", "pake-http", "pake-contract", "pake-cache", "pake-sources"]),
    ("pake-store-postgres", &["pake-core", "pake-crypto", "pake-store-sqlite", "pake-http", "pake-contract", "pake-cache", "pake-sources"]),
    ("pake-contract", &["pake-core", "pake-crypto", "pake-store-sqlite", "pake-store-postgres", "pake-http", "pake-cache", "pake-sources"]),
    ("pake-cache", &["pake-core", "pake-crypto", "pake-store-sqlite", "pake-store-postgres", "pake-http", "pake-contract", "pake-sources"]),
    ("pake-sources", &["pake-core", "pake-crypto", "pake-store-sqlite", "pake-store-postgres", "pake-http", "pake-contract", "pake-cache"]),
    ("pake-http", &["pake-crypto", "pake-store-sqlite", "pake-store-postgres", "pake-cache", "pake-contract", "pake-sources"]),
];

/// External crate families each crate must not reach.
fn forbidden_external(krate: &str) -> Vec<&'static str> {
    let groups: &[&[&str]] = match krate {
        "pake-domain" | "pake-ports" => &[DATABASE, WEB, CACHE, HTTP_CLIENT, RUNTIME],
        "pake-core" | "pake-contract" | "pake-crypto" => &[DATABASE, WEB, CACHE, HTTP_CLIENT],
        "pake-cache" => &[DATABASE, WEB, HTTP_CLIENT],
        "pake-store-sqlite" | "pake-store-postgres" => &[WEB, CACHE, HTTP_CLIENT],
        "pake-http" => &[DATABASE, CACHE, HTTP_CLIENT],
        // reqwest brings hyper, so the web family is not banned here; the server side is
        "pake-sources" => &[DATABASE, CACHE, &["actix", "utoipa"]],
        _ => &[],
    };
    groups.iter().flat_map(|g| g.iter().copied()).collect()
}

struct Graph {
    names: HashMap<String, String>,
    normal_deps: HashMap<String, Vec<String>>,
    members: Vec<String>,
}

fn metadata() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let names = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or_default().to_owned(),
                p["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let normal_deps = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap_or_default().to_owned())
                .collect();
            (node["id"].as_str().unwrap_or_default().to_owned(), deps)
        })
        .collect();
    let members = meta["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m.as_str().unwrap_or_default().to_owned())
        .collect();
    Graph {
        names,
        normal_deps,
        members,
    }
}

impl Graph {
    /// Every crate `id` reaches through normal dependencies, with the path to it.
    fn reach(&self, id: &str) -> HashMap<String, Vec<String>> {
        let mut seen: HashMap<String, Vec<String>> = HashMap::new();
        let mut queue = VecDeque::from([(id.to_owned(), vec![self.names[id].clone()])]);
        while let Some((current, path)) = queue.pop_front() {
            for dep in self.normal_deps.get(&current).into_iter().flatten() {
                let name = self.names[dep].clone();
                if seen.contains_key(&name) {
                    continue;
                }
                let mut next = path.clone();
                next.push(name.clone());
                seen.insert(name, next.clone());
                queue.push_back((dep.clone(), next));
            }
        }
        seen
    }
}

#[test]
fn every_crate_keeps_to_its_layer() {
    let graph = metadata();
    let mut violations = BTreeSet::new();
    for member in &graph.members {
        let krate = graph.names[member].as_str();
        let reached = graph.reach(member);
        for (name, path) in &reached {
            let external = forbidden_external(krate).iter().any(|f| {
                name == f
                    || name.starts_with(&format!("{f}-"))
                    || name.starts_with(&format!("{f}_"))
            });
            let internal = LAYERS
                .iter()
                .any(|(k, banned)| *k == krate && banned.contains(&name.as_str()));
            if external || internal {
                violations.insert(format!(
                    "{krate} must not depend on {name} (via {})",
                    path.join(" -> ")
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "ARCHITECTURE.md rules broken:\n{}",
        violations.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn only_the_http_crate_and_the_binary_know_actix_web() {
    let graph = metadata();
    for member in &graph.members {
        let krate = graph.names[member].as_str();
        if matches!(krate, "pake-http" | "pake") {
            continue;
        }
        let reached = graph.reach(member);
        assert!(
            !reached.contains_key("actix-web"),
            "{krate} reaches actix-web via {:?}",
            reached["actix-web"]
        );
    }
}

#[test]
fn the_rules_cover_every_library_crate() {
    let graph = metadata();
    for member in &graph.members {
        let krate = graph.names[member].as_str();
        if matches!(krate, "pake" | "xtask") {
            continue;
        }
        assert!(
            LAYERS.iter().any(|(k, _)| *k == krate),
            "{krate} has no rule in ARCHITECTURE.md / this test"
        );
    }
}

/// Whether `text` names `word` as a whole identifier (not as part of `DepsBuilder` or `my_deps`).
fn names_identifier(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory reads") {
        let path = entry.expect("directory entry reads").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The core's services get only the repositories and port groups they use: the whole
/// `Deps` bag is named where it is declared (`deps.rs`), where `Services::new` splits it
/// (`lib.rs`) and where the test fakes build one (`testing/mod.rs`), nowhere else.
#[test]
fn no_service_takes_the_whole_dependency_bag() {
    let src = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/pake-core/src"
    ));
    let mut files = Vec::new();
    rust_files(src, &mut files);
    assert!(files.len() > 10, "pake-core's sources are found");
    let offenders: Vec<String> = files
        .iter()
        .filter(|p| {
            let rel = p.strip_prefix(src).expect("under src");
            !["lib.rs", "deps.rs", "testing/mod.rs"]
                .iter()
                .any(|allowed| rel == std::path::Path::new(allowed))
        })
        .filter(|p| names_identifier(&std::fs::read_to_string(p).expect("source reads"), "Deps"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "these files reach the whole Deps bag instead of their ports: {offenders:?}"
    );
    assert!(names_identifier("fn new(deps: &Deps)", "Deps"));
    assert!(!names_identifier("DepsBuilder my_Deps", "Deps"));
}
