//! Federated search over HTTP against mock upstreams (wiremock) answering in the exact upstream
//! formats: statuses per source within the budget, merging across sources, caching, history,
//! analytics, popular queries, saved searches, tenant isolation, input rules, fairness between
//! tenants at a shared upstream, pacing and retries.

use crate::common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::{TestApp, USER_PASSWORD, spawn_with};
use pake::config::Config;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param_contains};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Answers with `template` and notes when each request arrived.
#[derive(Clone)]
struct Recorder {
    template: ResponseTemplate,
    arrivals: std::sync::Arc<std::sync::Mutex<Vec<Instant>>>,
}

impl Recorder {
    fn new(template: ResponseTemplate) -> Self {
        Self {
            template,
            arrivals: std::sync::Arc::default(),
        }
    }

    fn gaps(&self) -> Vec<Duration> {
        let a = self.arrivals.lock().unwrap();
        a.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

impl wiremock::Respond for Recorder {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        self.arrivals.lock().unwrap().push(Instant::now());
        self.template.clone()
    }
}

struct Upstreams {
    arxiv: MockServer,
    pubmed: MockServer,
    web: MockServer,
}

impl Upstreams {
    async fn start() -> Self {
        Self {
            arxiv: MockServer::start().await,
            pubmed: MockServer::start().await,
            web: MockServer::start().await,
        }
    }

    fn configure(&self, c: &mut Config) {
        c.search.arxiv.base_url = self.arxiv.uri();
        c.search.pubmed.base_url = self.pubmed.uri();
        c.search.web.base_url = self.web.uri();
        c.search.web.api_key = Some(SecretString::from("fc-test"));
        c.search.arxiv.interval_ms = 20;
        c.search.pubmed.interval_ms = 5;
        c.search.web.interval_ms = 5;
        c.search.budget_ms = 1500;
        c.search.retries = 1;
        c.search.backoff_ms = 50;
        c.search.arxiv.cache_ttl_secs = 30;
        c.search.pubmed.cache_ttl_secs = 30;
        c.search.web.cache_ttl_secs = 30;
    }
}

/// An Atom feed of `entries` (arXiv id, title, DOI, abstract), as the current arXiv API writes.
fn atom(entries: &[(&str, &str, Option<&str>, &str)]) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">
<id>https://arxiv.org/api/pake-test</id><title>arXiv Query</title><updated>2026-03-01T00:00:00Z</updated>
"#,
    );
    let _ = writeln!(
        xml,
        "<opensearch:totalResults>{}</opensearch:totalResults>",
        entries.len()
    );
    for (id, title, doi, summary) in entries {
        let _ = write!(
            xml,
            r#"<entry><id>http://arxiv.org/abs/{id}v1</id><title>{title}</title><updated>2025-01-01T00:00:00Z</updated>
<link href="https://arxiv.org/abs/{id}v1" rel="alternate" type="text/html"/>
<link href="https://arxiv.org/pdf/{id}v1" rel="related" type="application/pdf" title="pdf"/>
<summary>{summary}</summary><published>2025-01-01T00:00:00Z</published>
<author><name>Ines Vallbona</name></author>{}</entry>
"#,
            doi.map(|d| format!("<arxiv:doi>{d}</arxiv:doi>"))
                .unwrap_or_default()
        );
    }
    xml.push_str("</feed>");
    xml
}

fn atom_response(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/atom+xml; charset=utf-8")
}

/// Mounts PubMed answering with `docs` (PMID, title, DOI, abstract).
async fn mount_pubmed(server: &MockServer, docs: &[(&str, &str, &str, &str)]) {
    let ids: Vec<&str> = docs.iter().map(|d| d.0).collect();
    let esearch = json!({"header": {"type": "esearch", "version": "0.3"},
        "esearchresult": {"count": ids.len().to_string(), "retmax": ids.len().to_string(), "retstart": "0", "idlist": ids}});
    let mut result = json!({"uids": ids});
    for (pmid, title, doi, _) in docs {
        result[*pmid] = json!({"uid": pmid, "pubdate": "2025 Jan 1", "title": title,
            "authors": [{"name": "Vallbona I", "authtype": "Author", "clusterid": ""}],
            "articleids": [{"idtype": "pubmed", "idtypen": 1, "value": pmid}, {"idtype": "doi", "idtypen": 3, "value": doi}],
            "elocationid": format!("doi: {doi}"), "sortpubdate": "2025/01/01 00:00"});
    }
    let esummary = json!({"header": {"type": "esummary", "version": "0.3"}, "result": result});
    let mut efetch = String::from("<?xml version=\"1.0\" ?>\n<PubmedArticleSet>\n");
    for (pmid, title, _, abstract_text) in docs {
        let _ = writeln!(
            efetch,
            "<PubmedArticle><MedlineCitation><PMID Version=\"1\">{pmid}</PMID><Article><ArticleTitle>{title}</ArticleTitle><Abstract><AbstractText>{abstract_text}</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>"
        );
    }
    efetch.push_str("</PubmedArticleSet>");
    Mock::given(path("/esearch.fcgi"))
        .respond_with(ResponseTemplate::new(200).set_body_json(esearch))
        .mount(server)
        .await;
    Mock::given(path("/esummary.fcgi"))
        .respond_with(ResponseTemplate::new(200).set_body_json(esummary))
        .mount(server)
        .await;
    Mock::given(path("/efetch.fcgi"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(efetch, "text/xml"))
        .mount(server)
        .await;
}

/// Mounts Firecrawl (v2 shape) answering with `pages` (url, title, description).
async fn mount_web(server: &MockServer, pages: &[(&str, &str, &str)]) {
    let web: Vec<Value> = pages
        .iter()
        .map(|(url, title, description)| json!({"url": url, "title": title, "description": description}))
        .collect();
    Mock::given(method("POST"))
        .and(path("/v2/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"success": true, "data": {"web": web}, "creditsUsed": 1})),
        )
        .mount(server)
        .await;
}

async fn search(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.call("POST", "/api/v1/search/", Some(token), Some(body))
        .await
}

/// Sends a search in the background; its status and JSON body arrive through the handle.
fn spawn_search(app: &TestApp, token: &str, body: &Value) -> tokio::task::JoinHandle<(u16, Value)> {
    let request = app
        .client
        .post(app.url("/api/v1/search/"))
        .bearer_auth(token)
        .json(body);
    tokio::spawn(async move {
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    })
}

async fn tenant_user(app: &TestApp, root: &str, name: &str, plan: &str) -> (String, String) {
    let (id, admin) = app.tenant(root, name, plan).await;
    (id, admin)
}

const PAPER_ABSTRACT: &str = "Vortex lattices form in rotating superfluids. \
    Tidal forces deform the vortex lattice. \
    Above a critical rotation rate the lattice melts.";

#[tokio::test]
async fn one_slow_one_failing_one_answering_source() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(
            atom_response(atom(&[("2401.00017", "Late", None, "Too late.")]))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&up.arxiv)
        .await;
    Mock::given(path("/esearch.fcgi"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>500 Proxy Error</html>"))
        .mount(&up.pubmed)
        .await;
    mount_web(
        &up.web,
        &[(
            "https://example.org/tidal",
            "Tidal lattices explained",
            "An introduction.",
        )],
    )
    .await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = tenant_user(&app, &root, "mixed", "professional").await;
    let started = Instant::now();
    let (status, body) = search(&app, &admin, json!({"query": "tidal lattice"})).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(
        took < Duration::from_millis(2500),
        "within the budget: {took:?}"
    );
    let s = &body["source_status"];
    assert_eq!(s["web"]["status"], "ok", "{s}");
    assert_eq!(s["web"]["results"], 1);
    assert_eq!(s["pubmed"]["status"], "error", "{s}");
    assert!(s["pubmed"]["detail"].as_str().unwrap().contains("500"));
    assert_eq!(s["arxiv"]["status"], "timeout", "{s}");
    assert_eq!(body["total_results"], 1);
    assert_eq!(body["results"][0]["title"], "Tidal lattices explained");
    assert_eq!(body["results"][0]["source"], "web");
    assert_eq!(body["cache_hit"], false);
    // the failing source was retried once (5xx is retryable), not more
    let pubmed_calls = up.pubmed.received_requests().await.unwrap().len();
    assert_eq!(pubmed_calls, 2, "one retry");
}

#[tokio::test]
async fn search_tells_the_truth_embedded() {
    let up = Upstreams::start().await;
    mount_truth(&up).await;
    let app = spawn_with(|c| up.configure(c)).await;
    duplicates_merge_then_caching_history_analytics_and_popular_tell_the_truth(&up, app).await;
}

#[tokio::test]
async fn search_tells_the_truth_on_postgres_and_redis() {
    let up = Upstreams::start().await;
    mount_truth(&up).await;
    let app = common::spawn_pg_with(|c| up.configure(c)).await;
    duplicates_merge_then_caching_history_analytics_and_popular_tell_the_truth(&up, app).await;
}

async fn mount_truth(up: &Upstreams) {
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[
            (
                "2401.00017",
                "Tidal lattices in rotating superfluids",
                Some("10.5555/PAKE.TIDAL"),
                PAPER_ABSTRACT,
            ),
            (
                "2402.00099",
                "Cooking pasta in microgravity",
                None,
                "Unrelated work on pasta.",
            ),
        ])))
        .mount(&up.arxiv)
        .await;
    mount_pubmed(
        &up.pubmed,
        &[(
            "39000011",
            "Tidal lattices in rotating superfluids.",
            "10.5555/pake.tidal",
            "A longer abstract from PubMed. It says more about tidal lattices and how they melt.",
        )],
    )
    .await;
    mount_web(&up.web, &[]).await;
}

async fn duplicates_merge_then_caching_history_analytics_and_popular_tell_the_truth(
    up: &Upstreams,
    app: TestApp,
) {
    let root = app.root().await;
    let (tenant_id, admin) = tenant_user(&app, &root, "truth", "professional").await;
    let body = json!({"query": "tidal lattice", "sources": ["arxiv", "pubmed"], "max_results": 5});

    let (status, first) = search(&app, &admin, body.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["total_results"], 2,
        "the shared DOI made one result: {first}"
    );
    let top = &first["results"][0];
    assert_eq!(top["sources"], json!(["arxiv", "pubmed"]));
    assert_eq!(top["arxiv_id"], "2401.00017");
    assert_eq!(top["pmid"], "39000011");
    assert_eq!(top["doi"], "10.5555/pake.tidal");
    assert!(
        top["relevance_score"].as_f64().unwrap()
            > first["results"][1]["relevance_score"].as_f64().unwrap()
    );
    assert!(top["score"]["bm25"].as_f64().unwrap() > 0.0);
    assert!(top["summary"].as_str().is_some());
    assert!(first["summary"].as_str().is_some());
    assert!(!first["key_topics"].as_array().unwrap().is_empty());
    assert_eq!(first["cache_hit"], false);
    assert_eq!(first["source_status"]["arxiv"]["status"], "ok");
    let upstream_calls = up.arxiv.received_requests().await.unwrap().len()
        + up.pubmed.received_requests().await.unwrap().len();

    let (_, second) = search(&app, &admin, body.clone()).await;
    assert_eq!(second["cache_hit"], true, "{second}");
    assert_eq!(second["source_status"]["arxiv"]["status"], "cached");
    assert_eq!(second["source_status"]["pubmed"]["status"], "cached");
    assert_eq!(second["results"], first["results"]);
    let after = up.arxiv.received_requests().await.unwrap().len()
        + up.pubmed.received_requests().await.unwrap().len();
    assert_eq!(after, upstream_calls, "the cache answered");
    // another user of the same tenant with the query in other case/spacing shares the cache
    app.user(&admin, "uma", "user").await;
    let uma = app.token("truth", "uma", USER_PASSWORD).await;
    let (_, third) = search(
        &app,
        &uma,
        json!({"query": "  Tidal   LATTICE ", "sources": ["pubmed", "arxiv"], "max_results": 5}),
    )
    .await;
    assert_eq!(third["cache_hit"], true);

    // history: the admin sees all three, uma her own
    let (_, h) = app
        .call("GET", "/api/v1/search/history", Some(&admin), None)
        .await;
    assert_eq!(h["pagination"]["total"], 3, "{h}");
    assert_eq!(h["search_history"][0]["cache_hit"], true);
    assert_eq!(h["search_history"][2]["result_count"], 2);
    assert_eq!(
        h["search_history"][2]["source_status"]["arxiv"]["status"],
        "ok"
    );
    let (_, mine) = app
        .call("GET", "/api/v1/search/history", Some(&uma), None)
        .await;
    assert_eq!(mine["pagination"]["total"], 1);

    let (_, a) = app
        .call("GET", "/api/v1/search/analytics?days=7", Some(&admin), None)
        .await;
    let a = &a["analytics"];
    assert_eq!(a["total_searches"], 3, "{a}");
    assert_eq!(a["cache_hits"], 2);
    assert!((a["cache_hit_rate"].as_f64().unwrap() - 0.6667).abs() < 1e-3);
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(a["per_day"], json!([{"date": today, "count": 3}]));
    assert_eq!(a["top_sources"][0]["searches"], 3);

    let (_, p) = app
        .call(
            "GET",
            "/api/v1/search/popular?days=7&limit=5",
            Some(&admin),
            None,
        )
        .await;
    let popular = p["popular_queries"].as_array().unwrap();
    assert_eq!(
        popular.len(),
        1,
        "one group whatever the case and spacing: {p}"
    );
    assert_eq!(popular[0]["count"], 3);
    let shown = popular[0]["query"].as_str().unwrap();
    assert_eq!(
        shown
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase(),
        "tidal lattice"
    );

    let (_, t) = app
        .call(
            "GET",
            &format!("/api/v1/tenants/{tenant_id}/analytics"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(t["analytics"]["searches"]["total"], 3, "{t}");
    assert_eq!(t["analytics"]["searches"]["today"], 3);
    assert_eq!(t["analytics"]["searches"]["cache_hits"], 2);

    // another tenant sees none of it, and its identical search is not served from this cache
    let (_, other) = tenant_user(&app, &root, "elsewhere", "professional").await;
    let (_, h) = app
        .call("GET", "/api/v1/search/history", Some(&other), None)
        .await;
    assert_eq!(h["pagination"]["total"], 0);
    let (_, a) = app
        .call("GET", "/api/v1/search/analytics", Some(&other), None)
        .await;
    assert_eq!(a["analytics"]["total_searches"], 0);
    let (_, p) = app
        .call("GET", "/api/v1/search/popular", Some(&other), None)
        .await;
    assert_eq!(p["popular_queries"], json!([]));
    let (_, theirs) = search(&app, &other, body).await;
    assert_eq!(theirs["cache_hit"], false, "caches are per tenant");
    assert_eq!(theirs["source_status"]["arxiv"]["status"], "ok");
}

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
    let (_, admin) = tenant_user(&app, &root, "keeper", "professional").await;
    app.user(&admin, "ann", "user").await;
    app.user(&admin, "bob", "user").await;
    app.user(&admin, "vic", "viewer").await;
    let ann = app.token("keeper", "ann", USER_PASSWORD).await;
    let bob = app.token("keeper", "bob", USER_PASSWORD).await;
    let vic = app.token("keeper", "vic", USER_PASSWORD).await;

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
    let (status, problem) = search(&app, &vic, json!({"query": "tidal"})).await;
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
    let (_, stranger) = tenant_user(&app, &root, "stranger", "basic").await;
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
    let (_, admin) = tenant_user(&app, &root, "patcher", "professional").await;
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

#[tokio::test]
async fn bad_input_is_a_clear_400_and_no_text_is_refused_for_its_words() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[])))
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = tenant_user(&app, &root, "strict", "professional").await;
    for (body, field) in [
        (json!({"query": "   "}), "query"),
        (json!({"query": "x".repeat(501)}), "query"),
        (json!({"query": "ok", "max_results": 0}), "max_results"),
        (json!({"query": "ok", "max_results": 51}), "max_results"),
        (json!({"query": "ok", "sources": ["scholar"]}), "sources"),
        (json!({"query": "ok", "sources": []}), "sources"),
        (
            json!({"query": "ok", "filters": {"date_from": "2024-02-01", "date_to": "2024-01-01"}}),
            "filters.date_from",
        ),
        (
            json!({"query": "ok", "filters": {"sort": "random"}}),
            "filters.sort",
        ),
        (
            json!({"query": "ok", "filters": {"categories": ["cs.LG OR 1=1"]}}),
            "filters.categories",
        ),
    ] {
        let (status, problem) = search(&app, &admin, body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["code"], "validation_failed", "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    for body in [
        json!({"query": "ok", "unknown": 1}),
        json!({"query": "ok", "filters": {"date_from": "last week"}}),
        json!({"query": 42}),
    ] {
        let (status, problem) = search(&app, &admin, body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
    }
    let hostile = "'; DROP TABLE search_history; -- <script>alert(1)</script>";
    let (status, body) = search(
        &app,
        &admin,
        json!({"query": hostile, "sources": ["arxiv"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["query"], hostile, "returned as JSON data, unchanged");
    let (_, h) = app
        .call("GET", "/api/v1/search/history", Some(&admin), None)
        .await;
    assert_eq!(h["search_history"][0]["query"], hostile, "stored as data");
    let long = "q".repeat(500);
    assert_eq!(
        search(&app, &admin, json!({"query": long, "sources": ["arxiv"]}))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_flooding_tenant_does_not_make_another_wait_behind_its_backlog() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[(
            "2401.00017",
            "A paper",
            None,
            "Text.",
        )])))
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 100;
        c.search.budget_ms = 10_000;
    })
    .await;
    let root = app.root().await;
    let (_, flood) = tenant_user(&app, &root, "flood", "enterprise").await;
    let (_, calm) = tenant_user(&app, &root, "calm", "enterprise").await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        tasks.push(spawn_search(
            &app,
            &flood,
            &json!({"query": format!("flood topic{i}"), "sources": ["arxiv"]}),
        ));
    }
    // let the flood queue up at the pacer
    tokio::time::sleep(Duration::from_millis(400)).await;
    let arrived_before = up.arxiv.received_requests().await.unwrap().len();
    assert!(
        arrived_before < 20,
        "the flood is still queued: {arrived_before}"
    );
    let (status, body) = search(
        &app,
        &calm,
        json!({"query": "calm question", "sources": ["arxiv"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source_status"]["arxiv"]["status"], "ok");
    let requests = up.arxiv.received_requests().await.unwrap();
    let position = requests
        .iter()
        .position(|r| r.url.query().unwrap_or("").contains("calm"))
        .expect("the calm tenant's call reached arXiv");
    assert!(
        position < arrived_before + 2,
        "served within two upstream slots: position {position}, {arrived_before} before it"
    );
    for t in tasks {
        assert_eq!(t.await.unwrap().0, 200);
    }
    // every request kept the spacing
    let requests = up.arxiv.received_requests().await.unwrap();
    assert_eq!(requests.len(), 31);
}

#[tokio::test]
async fn an_enterprise_flood_leaves_a_basic_tenant_every_source_within_its_budget() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[(
            "2401.00017",
            "A paper",
            None,
            "Text.",
        )])))
        .mount(&up.arxiv)
        .await;
    mount_pubmed(
        &up.pubmed,
        &[("39000011", "A study", "10.5555/study", "Its abstract.")],
    )
    .await;
    // arXiv's production ratio (one request every 3 s, one at a time, a 10 s budget), scaled down:
    // the budget holds four intervals, so the flood fills arXiv's queue up to its budget
    let budget = Duration::from_millis(1200);
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 300;
        c.search.pubmed.interval_ms = 34;
        c.search.budget_ms = 1200;
    })
    .await;
    let root = app.root().await;
    let (_, flood) = tenant_user(&app, &root, "deluge", "enterprise").await;
    let (_, calm) = tenant_user(&app, &root, "trickle", "basic").await;
    for round in 0..3 {
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                spawn_search(
                    &app,
                    &flood,
                    &json!({"query": format!("flood {round} topic{i}"), "sources": ["arxiv", "pubmed"]}),
                )
            })
            .collect();
        // let the flood queue up at both pacers
        tokio::time::sleep(Duration::from_millis(150)).await;
        let started = Instant::now();
        let (status, body) = search(
            &app,
            &calm,
            json!({"query": format!("calm question {round}"), "sources": ["arxiv", "pubmed"]}),
        )
        .await;
        let took = started.elapsed();
        assert_eq!(status, 200, "{body}");
        let s = &body["source_status"];
        assert_eq!(s["arxiv"]["status"], "ok", "round {round}: {s}");
        assert_eq!(s["pubmed"]["status"], "ok", "round {round}: {s}");
        assert!(
            took < budget + Duration::from_millis(300),
            "round {round}: within the budget: {took:?}"
        );
        // the flood itself is paced: arXiv serves what fits its budget and refuses the rest at
        // once
        let (mut served, mut refused) = (0, 0);
        for t in tasks {
            let (status, body) = t.await.unwrap();
            assert_eq!(status, 200, "{body}");
            let arxiv = &body["source_status"]["arxiv"];
            match arxiv["status"].as_str().unwrap() {
                "ok" => served += 1,
                "rate_limited" => {
                    refused += 1;
                    assert!(arxiv["ms"].as_u64().unwrap() < 100, "at once: {arxiv}");
                }
                "timeout" => {}
                other => panic!("{other}: {body}"),
            }
        }
        assert!(
            (2..=6).contains(&served) && refused >= 30,
            "round {round}: the flood got {served} arXiv turns, {refused} refusals"
        );
    }
}

#[tokio::test]
async fn a_turn_that_would_come_after_the_budget_is_refused_at_once() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[(
            "2401.00017",
            "A paper",
            None,
            "Text.",
        )])))
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 300;
        c.search.budget_ms = 1000;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = tenant_user(&app, &root, "hurried", "enterprise").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        tasks.push(spawn_search(
            &app,
            &admin,
            &json!({"query": format!("hurry {i}"), "sources": ["arxiv"]}),
        ));
    }
    let (mut served, mut refused) = (0, 0);
    for t in tasks {
        let (_, body) = t.await.unwrap();
        let arxiv = &body["source_status"]["arxiv"];
        match arxiv["status"].as_str().unwrap() {
            "ok" => served += 1,
            "rate_limited" => {
                refused += 1;
                assert!(
                    arxiv["ms"].as_u64().unwrap() < 100,
                    "refused at once, not after waiting: {arxiv}"
                );
            }
            other => panic!("{other}: {body}"),
        }
    }
    // 1 s of budget at one request per 300 ms: about four turns
    assert!(
        (3..=5).contains(&served),
        "served {served}, refused {refused}"
    );
    assert_eq!(served + refused, 8);
}

#[tokio::test]
async fn pacing_and_retries_are_visible_upstream() {
    let up = Upstreams::start().await;
    // arXiv throttles twice, then answers
    let throttled = Recorder::new(ResponseTemplate::new(429).set_body_string("Rate exceeded."));
    let answered = Recorder {
        template: atom_response(atom(&[("2401.00017", "A paper", None, "Text.")])),
        arrivals: std::sync::Arc::clone(&throttled.arrivals),
    };
    Mock::given(path("/api/query"))
        .respond_with(throttled.clone())
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&up.arxiv)
        .await;
    Mock::given(path("/api/query"))
        .respond_with(answered)
        .with_priority(2)
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 200;
        c.search.retries = 2;
        c.search.backoff_ms = 10;
        c.search.budget_ms = 5000;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = tenant_user(&app, &root, "patient", "professional").await;
    let (status, body) = search(
        &app,
        &admin,
        json!({"query": "paced", "sources": ["arxiv"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source_status"]["arxiv"]["status"], "ok", "{body}");
    let requests = up.arxiv.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3, "two retries");
    assert!(requests.iter().all(|r| {
        r.headers
            .get("user-agent")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("PAKE/")
    }));
    // the pacer kept arXiv's spacing between the attempts, measured where they arrived
    let gaps = throttled.gaps();
    assert_eq!(gaps.len(), 2);
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(190)),
        "at least the 200 ms interval apart: {gaps:?}"
    );

    // a throttled upstream that stays throttled is reported, not failed
    let up2 = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(ResponseTemplate::new(429).set_body_string("Rate exceeded."))
        .mount(&up2.arxiv)
        .await;
    let app2 = spawn_with(|c| {
        up2.configure(c);
        c.search.retries = 1;
    })
    .await;
    let root2 = app2.root().await;
    let (_, admin2) = tenant_user(&app2, &root2, "throttled", "professional").await;
    let (status, body) = search(
        &app2,
        &admin2,
        json!({"query": "paced", "sources": ["arxiv"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["source_status"]["arxiv"]["status"], "rate_limited",
        "{body}"
    );
}

#[tokio::test]
async fn identical_concurrent_calls_of_a_tenant_are_coalesced() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(
            atom_response(atom(&[("2401.00017", "A paper", None, "Text.")]))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = tenant_user(&app, &root, "together", "professional").await;
    let mut tasks = Vec::new();
    for _ in 0..5 {
        tasks.push(spawn_search(
            &app,
            &admin,
            &json!({"query": "same question", "sources": ["arxiv"]}),
        ));
    }
    for t in tasks {
        let (_, body) = t.await.unwrap();
        assert_eq!(body["total_results"], 1, "{body}");
    }
    assert_eq!(
        up.arxiv.received_requests().await.unwrap().len(),
        1,
        "one upstream call for five identical searches"
    );
}

/// arXiv's answer to a query it cannot parse: 400 with an error entry.
fn arxiv_bad_query() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_raw(
        r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><id>https://arxiv.org/api/errors#bad</id><title>Error</title><summary>bad query</summary></entry></feed>"#,
        "application/atom+xml",
    )
}

#[tokio::test]
async fn the_web_source_without_a_key_is_unavailable_and_a_broken_source_trips_its_circuit() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(
            ResponseTemplate::new(500).set_body_raw(
                r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><id>https://arxiv.org/api/errors#internal</id><title>Error</title><summary>internal error</summary></entry></feed>"#,
                "application/atom+xml",
            ),
        )
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.web.api_key = None;
        c.search.breaker_failures = 2;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = tenant_user(&app, &root, "fragile", "professional").await;
    for i in 0..2 {
        let (_, body) = search(
            &app,
            &admin,
            json!({"query": format!("q{i}"), "sources": ["arxiv", "web"]}),
        )
        .await;
        assert_eq!(body["source_status"]["web"]["status"], "unavailable");
        assert_eq!(body["source_status"]["arxiv"]["status"], "error", "{body}");
        assert!(
            body["source_status"]["arxiv"]["detail"]
                .as_str()
                .unwrap()
                .contains("internal error"),
            "{body}"
        );
    }
    let before = up.arxiv.received_requests().await.unwrap().len();
    let (_, body) = search(&app, &admin, json!({"query": "q3", "sources": ["arxiv"]})).await;
    assert_eq!(
        body["source_status"]["arxiv"]["status"], "unavailable",
        "{body}"
    );
    assert_eq!(body["source_status"]["arxiv"]["detail"], "circuit open");
    assert_eq!(
        up.arxiv.received_requests().await.unwrap().len(),
        before,
        "not called"
    );
    assert!(up.web.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn queries_an_upstream_refuses_never_close_it_for_another_tenant() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .and(query_param_contains("search_query", "bogus"))
        .respond_with(arxiv_bad_query())
        .with_priority(1)
        .mount(&up.arxiv)
        .await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[(
            "2401.00017",
            "A paper",
            None,
            "Text.",
        )])))
        .with_priority(2)
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.breaker_failures = 2;
    })
    .await;
    let root = app.root().await;
    let (_, careless) = tenant_user(&app, &root, "careless", "professional").await;
    let (_, careful) = tenant_user(&app, &root, "careful", "basic").await;
    // three times the breaker's threshold of answers refusing the careless tenant's queries
    for i in 0..6 {
        let (status, body) = search(
            &app,
            &careless,
            json!({"query": format!("bogus{i}"), "sources": ["arxiv"]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let arxiv = &body["source_status"]["arxiv"];
        assert_eq!(
            arxiv["status"], "error",
            "still asked, not cut off: {arxiv}"
        );
        assert!(arxiv["detail"].as_str().unwrap().contains("bad query"));
    }
    assert_eq!(
        up.arxiv.received_requests().await.unwrap().len(),
        6,
        "each refused query reached arXiv once (a 400 is not retried)"
    );
    let (status, body) = search(
        &app,
        &careful,
        json!({"query": "a fine question", "sources": ["arxiv"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["source_status"]["arxiv"]["status"], "ok",
        "the circuit stayed closed: {body}"
    );
    assert_eq!(body["total_results"], 1);
}

#[tokio::test]
async fn quick_search_picks_sources_from_the_words() {
    let up = Upstreams::start().await;
    mount_pubmed(
        &up.pubmed,
        &[(
            "39000011",
            "CRISPR in mice",
            "10.5555/crispr",
            "Gene editing in mice.",
        )],
    )
    .await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = tenant_user(&app, &root, "quick", "professional").await;
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/search/quick",
            Some(&admin),
            Some(json!({"query": "CRISPR in mice"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source_status"]["pubmed"]["status"], "ok");
    assert_eq!(body["source_status"]["arxiv"]["status"], "skipped");
    assert_eq!(body["source_status"]["web"]["status"], "skipped");
    assert!(
        body["expanded_terms"]
            .as_array()
            .unwrap()
            .contains(&json!("gene"))
    );
    assert!(up.arxiv.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_searches_are_capped_by_the_plan() {
    let up = Upstreams::start().await;
    Mock::given(path("/api/query"))
        .respond_with(atom_response(atom(&[])).set_delay(Duration::from_millis(800)))
        .mount(&up.arxiv)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.arxiv.interval_ms = 1;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = tenant_user(&app, &root, "capped", "basic").await; // 3 at once
    let mut tasks = Vec::new();
    for i in 0..5 {
        tasks.push(spawn_search(
            &app,
            &admin,
            &json!({"query": format!("slow{i}"), "sources": ["arxiv"]}),
        ));
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => ok += 1,
            429 => {
                assert_eq!(body["code"], "concurrent_search_limit");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((ok, refused), (3, 2));
    // the slots are free again once the searches ended
    assert_eq!(
        search(
            &app,
            &admin,
            json!({"query": "again", "sources": ["arxiv"]})
        )
        .await
        .0,
        200
    );
}
