//! Saved searches: owned by their user, merged by PATCH, run for real.

use crate::common::{self, TestApp, spawn_with};
use serde_json::{Value, json};
use wiremock::Mock;
use wiremock::matchers::path;

use super::upstreams::*;

#[tokio::test]
async fn saved_searches_belong_to_their_owner_and_run_for_real() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[(
            "2401.00017",
            "Tidal lattices in rotating superfluids",
            None,
            PAPER_ABSTRACT,
        )])))
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "keeper", "professional").await;
    let (_, ann) = app.member(&admin, "keeper", "ann", "user").await;
    let (_, bob) = app.member(&admin, "keeper", "bob", "user").await;
    let (_, vic) = app.member(&admin, "keeper", "vic", "viewer").await;

    let (status, created) = app
        .call(
            "POST",
            "/api/v1/search/saved",
            Some(&ann),
            Some(json!({"name": "Tidal watch", "query": "tidal lattice", "sources": ["arxiv"], "is_public": false})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let private_id = created["saved_search"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["saved_search"]["parameters"]["sources"],
        json!(["arxiv"])
    );
    let (_, public) = app
        .call(
            "POST",
            "/api/v1/search/saved/",
            Some(&ann),
            Some(json!({"name": "Shared", "query": "superfluid", "sources": ["arxiv"], "is_public": true})),
        )
        .await;
    let public_id = public["saved_search"]["id"].as_str().unwrap().to_owned();

    let path_of = |id: &str| format!("/api/v1/search/saved/{id}");
    // bob sees the public one, not the private one (404, like a missing one)
    let (_, list) = app
        .call("GET", "/api/v1/search/saved", Some(&bob), None)
        .await;
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    assert_eq!(
        app.call("GET", &path_of(&private_id), Some(&bob), None)
            .await
            .0,
        404
    );
    assert_eq!(
        app.call("GET", &path_of(&public_id), Some(&bob), None)
            .await
            .0,
        200
    );
    let (status, _) = app
        .call(
            "PATCH",
            &path_of(&public_id),
            Some(&bob),
            Some(json!({"name": "Mine now"})),
        )
        .await;
    assert_eq!(status, 403, "only the owner changes it");
    assert_eq!(
        app.call("DELETE", &path_of(&public_id), Some(&bob), None)
            .await
            .0,
        403
    );
    // the admin sees both
    let (_, all) = app
        .call("GET", "/api/v1/search/saved", Some(&admin), None)
        .await;
    assert_eq!(all["pagination"]["total"], 2);

    // running counts the run and lands in the history with the saved search's id
    let (status, ran) = app
        .call(
            "POST",
            &format!("{}/run", path_of(&private_id)),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["total_results"], 1);
    let (_, got) = app
        .call("GET", &path_of(&private_id), Some(&ann), None)
        .await;
    assert_eq!(got["saved_search"]["run_count"], 1);
    assert!(got["saved_search"]["last_run_at"].is_string());
    let (_, h) = app
        .call("GET", "/api/v1/search/history", Some(&ann), None)
        .await;
    assert_eq!(
        h["search_history"][0]["saved_search_id"],
        private_id.as_str()
    );

    let (status, changed) = app
        .call(
            "PATCH",
            &path_of(&private_id),
            Some(&ann),
            Some(json!({"description": "weekly", "is_public": true})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["saved_search"]["description"], "weekly");
    assert_eq!(
        changed["saved_search"]["query"], "tidal lattice",
        "untouched"
    );

    // viewers read but do not search or save
    assert_eq!(
        app.call("GET", &path_of(&public_id), Some(&vic), None)
            .await
            .0,
        200
    );
    assert_eq!(
        app.call("GET", "/api/v1/search/history", Some(&vic), None)
            .await
            .0,
        200
    );
    let (status, problem) = app.search(&vic, json!({"query": "tidal"})).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(
        app.call(
            "POST",
            &format!("{}/run", path_of(&public_id)),
            Some(&vic),
            None
        )
        .await
        .0,
        403
    );
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/search/saved",
            Some(&vic),
            Some(json!({"name": "x", "query": "y"})),
        )
        .await;
    assert_eq!(status, 403);

    assert_eq!(
        app.call("DELETE", &path_of(&private_id), Some(&ann), None)
            .await
            .0,
        204
    );
    assert_eq!(
        app.call("GET", &path_of(&private_id), Some(&ann), None)
            .await
            .0,
        404
    );
    // another tenant's admin cannot see any of them
    let (_, stranger) = app.tenant(&root, "stranger", "basic").await;
    assert_eq!(
        app.call("GET", &path_of(&public_id), Some(&stranger), None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn saved_search_patch_merges_embedded() {
    let up = Upstreams::start().await;
    mount_one_paper(&up).await;
    let app = spawn_with(|c| up.configure(c)).await;
    // the OpenAPI document describes the body the PATCH takes
    let (_, doc) = app.call("GET", "/openapi.json", None, None).await;
    let body = &doc["paths"]["/api/v1/search/saved/{id}"]["patch"]["requestBody"];
    assert_eq!(
        body["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SavedSearchPatch"
    );
    let schema = &doc["components"]["schemas"]["SavedSearchPatch"];
    let mut fields: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "description",
            "enable_ml_enhancement",
            "enable_summarization",
            "filters",
            "is_public",
            "max_results",
            "name",
            "query",
            "sources"
        ]
    );
    assert!(
        schema["required"].is_null(),
        "every field optional: {schema}"
    );
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["properties"]["max_results"]["minimum"], 1);
    assert_eq!(schema["properties"]["max_results"]["maximum"], 50);
    a_patch_changes_what_it_names_and_keeps_the_rest(app).await;
}

#[tokio::test]
async fn saved_search_patch_merges_on_postgres_and_redis() {
    let up = Upstreams::start().await;
    mount_one_paper(&up).await;
    let app = common::spawn_pg_with(|c| up.configure(c)).await;
    a_patch_changes_what_it_names_and_keeps_the_rest(app).await;
}

async fn mount_one_paper(up: &Upstreams) {
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[(
            "2401.00017",
            "Tidal lattices in rotating superfluids",
            None,
            PAPER_ABSTRACT,
        )])))
        .mount(&up.arxiv)
        .await;
}

/// A saved search as its owner reads it.
async fn stored(app: &TestApp, at: &str, token: &str) -> Value {
    let (status, got) = app.call("GET", at, Some(token), None).await;
    assert_eq!(status, 200, "{got}");
    got["saved_search"].clone()
}

async fn a_patch_changes_what_it_names_and_keeps_the_rest(app: TestApp) {
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "patcher", "professional").await;
    let (status, created) = app
        .call(
            "POST",
            "/api/v1/search/saved",
            Some(&admin),
            Some(
                json!({"name": "Tidal watch", "description": "weekly", "query": "tidal lattice",
                "sources": ["arxiv", "pubmed"], "max_results": 7,
                "filters": {"date_from": "2024-01-01", "categories": ["cs.LG"], "sort": "date"},
                "enable_ml_enhancement": false}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["saved_search"]["id"].as_str().unwrap().to_owned();
    let at = format!("/api/v1/search/saved/{id}");
    // the fields a test compares: everything but the timestamps and counters
    let view = |s: &Value| {
        json!({"name": s["name"], "description": s["description"], "query": s["query"],
            "parameters": s["parameters"], "is_public": s["is_public"]})
    };
    let mut expected = view(&stored(&app, &at, &admin).await);
    assert_eq!(
        expected["parameters"]["sources"],
        json!(["arxiv", "pubmed"])
    );
    assert_eq!(expected["parameters"]["max_results"], 7);

    // each field alone: it changes, everything else survives
    let filters = json!({"date_from": null, "date_to": null, "categories": [],
        "publication_types": ["Review"], "sort": "relevance"});
    for (patch, change) in [
        (
            json!({"query": "vortex melting"}),
            vec![
                ("query", json!("vortex melting")),
                ("parameters.query", json!("vortex melting")),
            ],
        ),
        (
            json!({"sources": ["web"]}),
            vec![("parameters.sources", json!(["web"]))],
        ),
        (
            json!({"max_results": 25}),
            vec![("parameters.max_results", json!(25))],
        ),
        (
            json!({"filters": {"publication_types": ["Review"], "sort": "relevance"}}),
            vec![("parameters.filters", filters.clone())],
        ),
        (
            json!({"enable_summarization": true}),
            vec![("parameters.enable_summarization", json!(true))],
        ),
        (
            json!({"enable_ml_enhancement": null}),
            vec![("parameters.enable_ml_enhancement", Value::Null)],
        ),
        (json!({"name": "Renamed"}), vec![("name", json!("Renamed"))]),
        (
            json!({"description": null}),
            vec![("description", Value::Null)],
        ),
        (json!({"is_public": true}), vec![("is_public", json!(true))]),
        (
            json!({"max_results": null}),
            vec![("parameters.max_results", Value::Null)],
        ),
        (
            json!({"sources": ["arxiv"], "max_results": 3}),
            vec![
                ("parameters.sources", json!(["arxiv"])),
                ("parameters.max_results", json!(3)),
            ],
        ),
    ] {
        let (status, answer) = app
            .call("PATCH", &at, Some(&admin), Some(patch.clone()))
            .await;
        assert_eq!(status, 200, "{patch}: {answer}");
        for (field, value) in change {
            let slot = match field.split_once('.') {
                Some((outer, inner)) => &mut expected[outer][inner],
                None => &mut expected[field],
            };
            *slot = value;
        }
        // a default is stored as its absence
        if let Some(p) = expected["parameters"].as_object_mut() {
            p.retain(|k, v| !v.is_null() || k == "filters");
        }
        let now = stored(&app, &at, &admin).await;
        assert_eq!(view(&now), expected, "after {patch}");
        assert_eq!(
            view(&answer["saved_search"]),
            expected,
            "the answer of {patch}"
        );
    }

    // invalid values: 400 naming the field, and nothing changes (not even the valid fields
    // beside them)
    for (patch, field) in [
        (json!({"sources": ["bogus"]}), "sources"),
        (json!({"sources": []}), "sources"),
        (json!({"max_results": 0}), "max_results"),
        (json!({"max_results": 51}), "max_results"),
        (json!({"filters": {"sort": "random"}}), "filters.sort"),
        (
            json!({"filters": {"date_from": "2024-02-01", "date_to": "2024-01-01"}}),
            "filters.date_from",
        ),
        (
            json!({"filters": {"categories": ["cs.LG OR 1=1"]}}),
            "filters.categories",
        ),
        (json!({"query": "   "}), "query"),
        (json!({"query": "x".repeat(501)}), "query"),
        (
            json!({"query": "fine words", "max_results": 99}),
            "max_results",
        ),
        (
            json!({"name": "Fine name", "sources": ["bogus"]}),
            "sources",
        ),
        (json!({"description": "d".repeat(1001)}), "description"),
    ] {
        let (status, problem) = app
            .call("PATCH", &at, Some(&admin), Some(patch.clone()))
            .await;
        assert_eq!(status, 400, "{patch}: {problem}");
        assert_eq!(problem["code"], "validation_failed", "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{patch}: {problem}");
        assert_eq!(
            view(&stored(&app, &at, &admin).await),
            expected,
            "unchanged after {patch}"
        );
    }
    for patch in [
        json!({"max_results": "many"}),
        json!({"filters": {"colour": "blue"}}),
        json!({"unknown": 1}),
    ] {
        let (status, problem) = app
            .call("PATCH", &at, Some(&admin), Some(patch.clone()))
            .await;
        assert_eq!(status, 400, "{patch}: {problem}");
        assert_eq!(
            view(&stored(&app, &at, &admin).await),
            expected,
            "unchanged after {patch}"
        );
    }

    // the merged search is the one that runs
    let (status, ran) = app
        .call("POST", &format!("{at}/run"), Some(&admin), None)
        .await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["query"], "vortex melting");
    let asked: Vec<&String> = ran["source_status"].as_object().unwrap().keys().collect();
    assert_eq!(asked, ["arxiv"], "{ran}");
}
