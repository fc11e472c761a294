//! Results you keep, through the server on both stores: snapshots reopen exactly what a search
//! answered, exports parse back with independent parsers (bibtexparser, rispy, citeproc-py,
//! Python's csv), collections hold a paper once whatever id it is added by, results carry the
//! collections holding them, the plan's retention sweeps old results, and nothing crosses
//! tenants.

use std::fmt::Write as _;

use serde_json::{Value, json};
use wiremock::Mock;
use wiremock::matchers::path;

use super::upstreams::*;
use crate::common::{self, TestApp, spawn_with};

/// (arXiv id, title as it should read, authors, DOI, primary category)
type Paper = (
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
);

const PAPERS: [Paper; 3] = [
    (
        "2401.00017",
        "Café {braces} & 100% \"quoted\" tidal lattices",
        &["Marie Curie", "Ada Lovelace", "Smith JA"],
        Some("10.1234/tidal.2025"),
    ),
    (
        "2401.00018",
        "=cmd|' /C calc'!A0 tidal lattice formulas",
        &["José Álvarez"],
        None,
    ),
    ("2401.00019", "Plain tidal lattice notes", &["Plato"], None),
];

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

fn feed() -> String {
    let mut x = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">
<id>https://arxiv.org/api/keep</id><title>arXiv Query</title><updated>2026-03-01T00:00:00Z</updated>
<opensearch:totalResults>3</opensearch:totalResults>
"#,
    );
    for (id, title, authors, doi) in PAPERS {
        let mut names = String::new();
        for a in authors {
            let _ = write!(names, "<author><name>{}</name></author>", xml(a));
        }
        let _ = write!(
            x,
            r#"<entry><id>http://arxiv.org/abs/{id}v1</id><title>{}</title><updated>2025-01-01T00:00:00Z</updated>
<link href="https://arxiv.org/abs/{id}v1" rel="alternate" type="text/html"/>
<summary>Tidal lattice abstract with 50% more &amp; braces {{x}}.</summary><published>2025-02-03T00:00:00Z</published>
{names}{}<arxiv:primary_category term="cond-mat.supr-con"/></entry>
"#,
            xml(title),
            doi.map(|d| format!("<arxiv:doi>{d}</arxiv:doi>"))
                .unwrap_or_default()
        );
    }
    x.push_str("</feed>");
    x
}

fn python() -> String {
    if let Ok(p) = std::env::var("PAKE_TEST_PYTHON") {
        return p;
    }
    let venv = std::path::Path::new(&std::env::var("HOME").unwrap_or_default())
        .join(".cache/pake-py/bin/python");
    if venv.exists() {
        venv.display().to_string()
    } else {
        "python3".into()
    }
}

/// The export parsed back by the independent parser for `format`.
fn parse(format: &str, body: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export");
    std::fs::write(&file, body).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/search/parse_exports.py"
    );
    let out = std::process::Command::new(python())
        .args([script, format])
        .arg(&file)
        .output()
        .expect("python runs (cargo xtask test installs its parsers)");
    assert!(
        out.status.success(),
        "{format} did not parse back: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn export(app: &TestApp, token: &str, path: &str, format: &str) -> (u16, String, Vec<u8>) {
    let r = app
        .client
        .get(app.url(&format!("{path}?format={format}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let head = format!(
        "{} | {}",
        r.headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default(),
        r.headers()
            .get("content-disposition")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    );
    (status, head, r.bytes().await.unwrap().to_vec())
}

fn without_marks(results: &Value) -> Value {
    let mut r = results.clone();
    for x in r.as_array_mut().unwrap() {
        x.as_object_mut().unwrap().remove("in_collections");
    }
    r
}

fn index_of(results: &Value, arxiv: &str) -> usize {
    results
        .as_array()
        .unwrap()
        .iter()
        .position(|r| r["arxiv_id"] == arxiv)
        .unwrap()
}

async fn keep(app: TestApp) {
    let root = app.root().await;
    let (tid, admin) = app.tenant(&root, "keepers", "enterprise").await;
    let (_, ann) = app.member(&admin, "keepers", "ann", "user").await;
    let (_, bob) = app.member(&admin, "keepers", "bob", "user").await;
    let (_, vic) = app.member(&admin, "keepers", "vic", "viewer").await;
    let (_, mia) = app.member(&admin, "keepers", "mia", "manager").await;
    let (_, other) = app.tenant(&root, "outsiders", "enterprise").await;
    let (basic_id, basic) = app.tenant(&root, "frugal", "basic").await;
    let ask = json!({"query": "tidal lattice", "sources": ["arxiv"]});

    // a snapshot reopens exactly what was answered
    let (status, answer) = app.search(&ann, ask.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["total_results"], 3, "{answer}");
    let sid = answer["search_id"].as_str().unwrap().to_owned();
    let entry_path = format!("/api/v1/search/history/{sid}");
    let (status, entry) = app.call("GET", &entry_path, Some(&ann), None).await;
    assert_eq!(status, 200, "{entry}");
    assert_eq!(
        without_marks(&entry["results"]),
        without_marks(&answer["results"])
    );
    assert_eq!(entry["results_kept"], true);
    assert_eq!(entry["search"]["id"], sid.as_str());
    assert_eq!(entry["source_status"]["arxiv"]["status"], "ok", "{entry}");
    // roles: own, managers and admins; not another user nor a viewer; never another tenant
    for (who, token, expect) in [
        ("bob", &bob, 404),
        ("vic", &vic, 404),
        ("mia", &mia, 200),
        ("admin", &admin, 200),
        ("another tenant", &other, 404),
    ] {
        let (status, body) = app.call("GET", &entry_path, Some(token), None).await;
        assert_eq!(status, expect, "{who}: {body}");
    }
    assert_eq!(
        app.call("GET", "/api/v1/search/history/not-a-uuid", Some(&ann), None)
            .await
            .0,
        404
    );

    // exports, parsed back by independent parsers
    let with_doi = index_of(&answer["results"], "2401.00017");
    let formula = index_of(&answer["results"], "2401.00018");
    let export_path = format!("{entry_path}/export");
    let (status, head, bib) = export(&app, &ann, &export_path, "bibtex").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bib));
    assert!(head.starts_with("application/x-bibtex"), "{head}");
    assert!(
        head.contains("attachment; filename=\"pake-search-"),
        "{head}"
    );
    assert!(head.ends_with(".bib\""), "{head}");
    assert!(bib.is_ascii(), "BibTeX is written as ASCII");
    let entries = parse("bibtex", &bib);
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let mut keys: Vec<&str> = entries.iter().map(|e| e["key"].as_str().unwrap()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 3, "unique keys");
    for (id, title, authors, _) in PAPERS {
        let e = entries.iter().find(|e| e["eprint"] == id).unwrap();
        assert_eq!(e["type"], "misc");
        assert_eq!(e["title"], title, "{e}");
        assert_eq!(e["author"], json!(authors), "{e}");
        assert_eq!(e["archivePrefix"], "arXiv");
        assert_eq!(e["primaryClass"], "cond-mat.supr-con");
        assert_eq!(e["year"], "2025");
    }
    assert!(entries.iter().any(|e| e["doi"] == "10.1234/tidal.2025"));

    let (status, head, ris) = export(&app, &ann, &export_path, "ris").await;
    assert_eq!(status, 200);
    assert!(
        head.starts_with("application/x-research-info-systems"),
        "{head}"
    );
    let records = parse("ris", &ris);
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 3);
    let first = records
        .iter()
        .find(|r| r["doi"] == "10.1234/tidal.2025")
        .unwrap();
    assert_eq!(first["type_of_reference"], "UNPB");
    assert_eq!(first["title"], PAPERS[0].1);
    assert_eq!(
        first["authors"],
        json!(["Curie, Marie", "Lovelace, Ada", "Smith, JA"])
    );
    assert_eq!(first["year"], "2025");

    let (status, head, csl) = export(&app, &ann, &export_path, "csljson").await;
    assert_eq!(status, 200);
    assert!(
        head.starts_with("application/vnd.citationstyles.csl+json"),
        "{head}"
    );
    let read = parse("csljson", &csl);
    let rendered = read["rendered"].as_array().unwrap();
    assert_eq!(rendered.len(), 3);
    assert!(
        rendered
            .iter()
            .any(|r| r.as_str().unwrap().contains("Curie")),
        "{read}"
    );
    let item = read["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["DOI"] == "10.1234/tidal.2025")
        .unwrap();
    assert_eq!(
        item["author"][0],
        json!({"family": "Curie", "given": "Marie"})
    );
    assert_eq!(item["author"][2], json!({"family": "Smith", "given": "JA"}));
    assert_eq!(item["issued"]["date-parts"], json!([[2025, 2, 3]]));
    assert_eq!(item["URL"], "https://arxiv.org/abs/2401.00017v1");

    let (status, head, table) = export(&app, &ann, &export_path, "csv").await;
    assert_eq!(status, 200);
    assert!(head.starts_with("text/csv"), "{head}");
    let rows = parse("csv", &table);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let f = rows.iter().find(|r| r["arxiv_id"] == "2401.00018").unwrap();
    assert_eq!(f["title"], format!("'{}", PAPERS[1].1), "a formula is text");
    let d = rows.iter().find(|r| r["arxiv_id"] == "2401.00017").unwrap();
    assert_eq!(d["title"], PAPERS[0].1);
    assert_eq!(d["authors"], "Marie Curie; Ada Lovelace; Smith JA");

    let (status, _, body) = export(&app, &ann, &export_path, "docx").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) = export(&app, &other, &export_path, "csv").await;
    assert_eq!(status, 404, "another tenant's entry");
    let exported = app.audit_events(&admin, "results_exported").await;
    assert_eq!(exported.len(), 4, "every export is audited");
    assert_eq!(exported[0]["details"]["format"], "csv");
    assert_eq!(exported[0]["details"]["records"], 3);
    let (_, figures) = app
        .call(
            "GET",
            &format!("/api/v1/tenants/{tid}/analytics"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(figures["analytics"]["exports"]["total"], 4, "{figures}");

    // a saved search exports its last run; never another tenant's
    let (status, saved) = app
        .call(
            "POST",
            "/api/v1/search/saved",
            Some(&ann),
            Some(json!({"name": "Tidal watch", "query": "tidal lattice", "sources": ["arxiv"]})),
        )
        .await;
    assert_eq!(status, 201, "{saved}");
    let saved_path = format!(
        "/api/v1/search/saved/{}",
        saved["saved_search"]["id"].as_str().unwrap()
    );
    let (status, _, body) = export(&app, &ann, &format!("{saved_path}/export"), "ris").await;
    assert_eq!(status, 404, "never ran: {}", String::from_utf8_lossy(&body));
    let (status, run) = app
        .call("POST", &format!("{saved_path}/run"), Some(&ann), None)
        .await;
    assert_eq!(status, 200, "{run}");
    let (status, head, ris) = export(&app, &ann, &format!("{saved_path}/export"), "ris").await;
    assert_eq!(status, 200);
    assert!(head.contains("filename=\"pake-saved-"), "{head}");
    assert_eq!(parse("ris", &ris).as_array().unwrap().len(), 3);
    let (status, _, _) = export(&app, &other, &format!("{saved_path}/export"), "ris").await;
    assert_eq!(status, 404, "another tenant's saved search");
    let (status, _, _) = export(&app, &bob, &format!("{saved_path}/export"), "ris").await;
    assert_eq!(status, 404, "another user's private saved search");

    // a basic tenant has no export
    let (status, mine) = app.search(&basic, ask.clone()).await;
    assert_eq!(status, 200, "{mine}");
    let basic_entry = format!(
        "/api/v1/search/history/{}",
        mine["search_id"].as_str().unwrap()
    );
    let (status, _, body) = export(&app, &basic, &format!("{basic_entry}/export"), "bibtex").await;
    assert_eq!(status, 403);
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["code"], "feature_not_in_plan", "{problem}");

    // collections: a paper is one item whatever id it is added by, even 30 at once
    let (status, created) = app
        .call(
            "POST",
            "/api/v1/collections",
            Some(&ann),
            Some(json!({"name": "Reading list"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["collection"]["visibility"], "private");
    let cid = created["collection"]["id"].as_str().unwrap().to_owned();
    let items_path = format!("/api/v1/collections/{cid}/items");
    let add = |body: Value| {
        let (app, ann, items_path) = (&app, &ann, &items_path);
        async move { app.call("POST", items_path, Some(ann), Some(body)).await }
    };
    let (status, first) =
        add(json!({"search_id": sid, "index": with_doi, "tags": ["to read"]})).await;
    assert_eq!(status, 201, "{first}");
    let item_id = first["item"]["id"].as_str().unwrap().to_owned();
    assert_eq!(first["item"]["record"]["doi"], "10.1234/tidal.2025");
    for same in [
        json!({"arxiv": "2401.00017v3"}),
        json!({"doi": "https://doi.org/10.1234/TIDAL.2025"}),
        json!({"search_id": sid, "index": with_doi}),
    ] {
        let (status, again) = add(same.clone()).await;
        assert_eq!(status, 200, "{same}: {again}");
        assert_eq!(again["item"]["id"], item_id.as_str());
    }
    let adds: Vec<_> = (0..30)
        .map(|_| {
            let request = app
                .client
                .post(app.url(&items_path))
                .bearer_auth(&ann)
                .json(&json!({"search_id": sid, "index": formula}));
            tokio::spawn(async move {
                let res = request.send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for a in adds {
        answers.push(a.await.unwrap());
    }
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert!(*status == 200 || *status == 201, "{body}");
            body["item"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "30 adds at once: one item");
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1);
    let (_, listed) = app.call("GET", &items_path, Some(&ann), None).await;
    assert_eq!(listed["pagination"]["total"], 2, "{listed}");
    let (status, missing) = add(json!({"pmid": "999999"})).await;
    assert_eq!(status, 404, "an id no kept record has: {missing}");
    let (status, bad) = add(json!({"doi": "10.1/x", "arxiv": "2401.1"})).await;
    assert_eq!(status, 400, "{bad}");

    // markers: a later search marks what the collections hold, by DOI and by arXiv id
    let (_, again) = app.search(&ann, ask.clone()).await;
    let marked = &again["results"][index_of(&again["results"], "2401.00017")];
    assert_eq!(
        marked["in_collections"],
        json!([{"id": cid, "name": "Reading list"}])
    );
    let plain = &again["results"][index_of(&again["results"], "2401.00019")];
    assert_eq!(plain["in_collections"], json!([]));
    // bob cannot read ann's private collection: no marks for him, 404 for it
    let (_, his) = app.search(&bob, ask.clone()).await;
    assert_eq!(
        his["results"][index_of(&his["results"], "2401.00017")]["in_collections"],
        json!([])
    );
    let collection_path = format!("/api/v1/collections/{cid}");
    assert_eq!(
        app.call("GET", &collection_path, Some(&bob), None).await.0,
        404
    );
    // shared with the tenant: everyone reads; only the owner, managers and admins write
    let (status, shared) = app
        .call(
            "PATCH",
            &collection_path,
            Some(&ann),
            Some(json!({"visibility": "tenant"})),
        )
        .await;
    assert_eq!(status, 200, "{shared}");
    let (status, seen) = app.call("GET", &collection_path, Some(&vic), None).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["collection"]["item_count"], 2);
    let (status, _) = app
        .call(
            "PATCH",
            &collection_path,
            Some(&bob),
            Some(json!({"name": "Bob's"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .call(
            "PATCH",
            &collection_path,
            Some(&mia),
            Some(json!({"description": "Curated"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/collections",
            Some(&vic),
            Some(json!({"name": "Viewer's"})),
        )
        .await;
    assert_eq!(status, 403, "viewers read only");
    let (_, his_list) = app
        .call("GET", "/api/v1/collections", Some(&bob), None)
        .await;
    assert_eq!(his_list["pagination"]["total"], 1, "{his_list}");
    let item_path = format!("{items_path}/{item_id}");
    let (status, tagged) = app
        .call(
            "PATCH",
            &item_path,
            Some(&ann),
            Some(json!({"tags": ["core", "core"], "note": "Read first"})),
        )
        .await;
    assert_eq!(status, 200, "{tagged}");
    assert_eq!(tagged["item"]["tags"], json!(["core"]));
    assert_eq!(tagged["item"]["note"], "Read first");
    // nothing of it is visible to another tenant: every endpoint answers 404
    for (method, path, body) in [
        ("GET", collection_path.clone(), None),
        (
            "PATCH",
            collection_path.clone(),
            Some(json!({"name": "Mine"})),
        ),
        ("DELETE", collection_path.clone(), None),
        ("GET", items_path.clone(), None),
        (
            "POST",
            items_path.clone(),
            Some(json!({"doi": "10.1234/tidal.2025"})),
        ),
        ("PATCH", item_path.clone(), Some(json!({"note": "x"}))),
        ("DELETE", item_path.clone(), None),
        ("GET", format!("{collection_path}/export?format=csv"), None),
    ] {
        let (status, answer) = app.call(method, &path, Some(&other), body).await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }
    let (_, theirs) = app
        .call("GET", "/api/v1/collections", Some(&other), None)
        .await;
    assert_eq!(theirs["pagination"]["total"], 0);
    let (status, _) = app.call("DELETE", &item_path, Some(&ann), None).await;
    assert_eq!(status, 204);
    let (status, _, table) = export(&app, &bob, &format!("{collection_path}/export"), "csv").await;
    assert_eq!(status, 200);
    let rows = parse("csv", &table);
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["arxiv_id"], "2401.00018");

    // retention: a basic tenant's results go after 30 days, an enterprise tenant's stay
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(31);
    let swept = app.services.search.sweep_snapshots(later).await.unwrap();
    assert!(swept >= 1, "{swept}");
    let (_, gone) = app.call("GET", &basic_entry, Some(&basic), None).await;
    assert_eq!(gone["results_kept"], false, "{gone}");
    assert_eq!(gone["results"], json!([]));
    assert_eq!(gone["search"]["result_count"], 3, "the entry stays");
    let (_, kept) = app.call("GET", &entry_path, Some(&ann), None).await;
    assert_eq!(kept["results_kept"], true);
    // a swept entry has nothing to export
    let root_basic = app
        .call(
            "PATCH",
            &format!("/api/v1/tenants/{basic_id}"),
            Some(&root),
            Some(json!({"plan": "professional"})),
        )
        .await;
    assert_eq!(root_basic.0, 200, "{}", root_basic.1);
    let basic = app
        .token("frugal", "admin", common::TENANT_ADMIN_PASSWORD)
        .await;
    let (status, _, body) = export(&app, &basic, &format!("{basic_entry}/export"), "ris").await;
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
}

async fn serve(pg: bool) -> TestApp {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(feed()))
        .mount(&up.arxiv)
        .await;
    let app = if pg {
        common::spawn_pg_with(|c| up.configure(c)).await
    } else {
        spawn_with(|c| up.configure(c)).await
    };
    // the mock servers live as long as the test: leak them with the app
    std::mem::forget(up);
    app
}

#[tokio::test]
async fn results_are_kept_exported_and_collected_embedded() {
    keep(serve(false).await).await;
}

#[tokio::test]
async fn results_are_kept_exported_and_collected_on_postgres() {
    keep(serve(true).await).await;
}
