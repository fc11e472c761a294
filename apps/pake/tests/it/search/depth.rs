//! Research depth over HTTP: all seven sources answering, failing, throttling and timing out;
//! a preprint and its published version as one result, PMID joins; filters translated for
//! each upstream (read from the mocks' request logs) or applied after the merge; paging without
//! duplicates or gaps, on both stores, bound to the tenant that searched.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, TestApp, spawn_with};

use super::upstreams::*;

fn epmc(results: Value) -> ResponseTemplate {
    let mut body = json!({"version": "6.9", "hitCount": results.as_array().map_or(0, Vec::len),
        "request": {"queryString": "q", "resultType": "core", "cursorMark": "%2A", "pageSize": 20, "sort": "", "synonym": false},
        "resultList": {}});
    body["resultList"]["result"] = results;
    ResponseTemplate::new(200).set_body_json(body)
}

fn crossref(total: usize, items: Value) -> ResponseTemplate {
    let mut body = json!({"status": "ok", "message-type": "work-list", "message-version": "1.0.0",
        "message": {"facets": {}, "total-results": total, "items-per-page": 20, "query": {"start-index": 0, "search-terms": null}}});
    body["message"]["items"] = items;
    ResponseTemplate::new(200).set_body_json(body)
}

fn openalex(results: Value) -> ResponseTemplate {
    let mut body = json!({"meta": {"count": results.as_array().map_or(0, Vec::len), "per_page": 20, "page": null, "next_cursor": null}, "group_by": []});
    body["results"] = results;
    ResponseTemplate::new(200).set_body_json(body)
}

fn s2(data: Value) -> ResponseTemplate {
    let mut body = json!({"total": data.as_array().map_or(0, Vec::len), "offset": 0});
    body["data"] = data;
    ResponseTemplate::new(200).set_body_json(body)
}

async fn mount(server: &MockServer, route: &str, template: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(template)
        .mount(server)
        .await;
}

/// The query strings a mock received.
async fn queries(server: &MockServer) -> Vec<Vec<(String, String)>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .collect()
}

fn param<'a>(q: &'a [(String, String)], key: &str) -> &'a str {
    q.iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

#[tokio::test]
async fn seven_sources_answer_fail_throttle_and_time_out() {
    let up = Upstreams::start().await;
    mount(
        &up.arxiv,
        "/api/query",
        atom_response(atom(&[(
            "2401.00017",
            "Vortex lattices in rotating superfluids",
            None,
            "Vortices form lattices.",
        )])),
    )
    .await;
    Mock::given(path("/esearch.fcgi"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>500</html>"))
        .mount(&up.pubmed)
        .await;
    mount(&up.europepmc, "/search", ResponseTemplate::new(429)).await;
    mount(
        &up.crossref,
        "/works",
        crossref(0, json!([])).set_delay(Duration::from_secs(5)),
    )
    .await;
    mount(&up.openalex, "/works", openalex(json!([{"id": "https://openalex.org/W1", "doi": "https://doi.org/10.5555/oa.1",
        "title": "Superfluid helium turbulence observed at scale", "publication_date": "2024-02-02", "type": "article",
        "authorships": [], "cited_by_count": 3, "open_access": {"is_oa": false}}]))).await;
    mount(&up.s2, "/graph/v1/paper/search", s2(json!([{"paperId": "ab01", "title": "Quantised circulation in rotating helium", "externalIds": {"DOI": "10.5555/s2.1"}, "year": 2023, "authors": [{"name": "A. Author"}]}]))).await;
    mount_web(
        &up.web,
        &[(
            "https://example.org/vortex",
            "Vortex lattices for everyone",
            "Pictures.",
        )],
    )
    .await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "seven", "professional").await;
    let (status, body) = app.search(&admin, json!({"query": "vortex lattice"})).await;
    assert_eq!(status, 200, "{body}");
    let s = &body["source_status"];
    for (source, want) in [
        ("arxiv", "ok"),
        ("pubmed", "error"),
        ("europepmc", "rate_limited"),
        ("crossref", "timeout"),
        ("openalex", "ok"),
        ("semantic_scholar", "ok"),
        ("web", "ok"),
    ] {
        assert_eq!(s[source]["status"], want, "{source}: {s}");
    }
    assert_eq!(body["total_results"], 4, "{body}");
    // the throttled source was retried once, then reported; the others never waited for it
    assert_eq!(up.europepmc.received_requests().await.unwrap().len(), 2);
    // the keyed source sent its key as a bearer token
    let oa = &up.openalex.received_requests().await.unwrap()[0];
    assert_eq!(oa.headers.get("authorization").unwrap(), "Bearer oa-test");
    // without a key OpenAlex is unavailable, never an error
    let up2 = Upstreams::start().await;
    let keyless = spawn_with(|c| {
        up2.configure(c);
        c.search.openalex.api_key = None;
    })
    .await;
    let root = keyless.root().await;
    let (_, admin) = keyless.tenant(&root, "keyless", "professional").await;
    let (_, body) = keyless
        .search(&admin, json!({"query": "x y z", "sources": ["openalex"]}))
        .await;
    assert_eq!(
        body["source_status"]["openalex"]["status"], "unavailable",
        "{body}"
    );
    assert!(up2.openalex.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_preprint_and_its_published_version_are_one_result_and_pmids_join() {
    let up = Upstreams::start().await;
    mount(
        &up.arxiv,
        "/api/query",
        atom_response(atom(&[(
            "2401.00017",
            "Tidal lattices in rotating superfluids",
            Some("10.5555/journal.2025.7"),
            PAPER_ABSTRACT,
        )])),
    )
    .await;
    mount(&up.crossref, "/works", crossref(1, json!([{"DOI": "10.5555/JOURNAL.2025.7", "URL": "https://doi.org/10.5555/journal.2025.7",
        "type": "journal-article", "title": ["Tidal Lattices in Rotating Superfluids"], "container-title": ["Journal of Rotating Fluids"],
        "author": [{"given": "Ines", "family": "Vallbona"}], "published": {"date-parts": [[2025, 6, 1]]}, "is-referenced-by-count": 42}]))).await;
    mount(&up.s2, "/graph/v1/paper/search", s2(json!([{"paperId": "ffee01", "externalIds": {"ArXiv": "2401.00017v2"},
        "title": "Tidal lattices in rotating superfluids", "year": 2024, "authors": [{"name": "Ines Vallbona"}], "citationCount": 45, "venue": "arXiv.org"}]))).await;
    mount_pubmed(
        &up.pubmed,
        &[(
            "40000001",
            "Malaria vaccine outcomes in young children",
            "10.5555/malaria.1",
            "Vaccines work.",
        )],
    )
    .await;
    mount(&up.europepmc, "/search", epmc(json!([{"id": "40000001", "source": "MED", "pmid": "40000001", "pmcid": "PMC9000001",
        "title": "Malaria vaccine outcomes among young children: a trial", "authorString": "Okafor CN.", "isOpenAccess": "Y",
        "fullTextUrlList": {"fullTextUrl": [{"availabilityCode": "OA", "documentStyle": "html", "url": "https://europepmc.org/articles/PMC9000001"}]},
        "citedByCount": 7, "firstPublicationDate": "2025-01-01", "journalInfo": {"journal": {"title": "Malaria Journal"}}}]))).await;
    mount(&up.openalex, "/works", openalex(json!([]))).await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "versions", "professional").await;
    let (status, body) = app
        .search(&admin, json!({"query": "tidal lattices", "sources": ["arxiv", "crossref", "semantic_scholar", "pubmed", "europepmc", "openalex"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total_results"], 2, "{body}");
    let results = body["results"].as_array().unwrap();
    let paper = results
        .iter()
        .find(|r| r["ids"]["arxiv"] == "2401.00017")
        .expect("the paper");
    assert_eq!(
        paper["sources"],
        json!(["arxiv", "crossref", "semantic_scholar"]),
        "{paper}"
    );
    assert_eq!(paper["doi"], "10.5555/journal.2025.7");
    assert_eq!(paper["ids"]["s2"], "ffee01");
    assert_eq!(paper["citation_count"], 45, "the most any source counts");
    assert_eq!(
        paper["venue"], "Journal of Rotating Fluids",
        "the version of record's"
    );
    assert_eq!(paper["publication_type"], "journal_article");
    let kinds: Vec<&str> = paper["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["preprint", "published"], "{paper}");
    assert_eq!(paper["versions"][0]["arxiv_id"], "2401.00017");
    assert_eq!(paper["versions"][1]["doi"], "10.5555/journal.2025.7");
    assert!(
        paper["score"]["method"]
            .as_str()
            .unwrap()
            .contains("citation_prior")
    );
    let trial = results
        .iter()
        .find(|r| r["ids"]["pmid"] == "40000001")
        .expect("the trial");
    assert_eq!(
        trial["sources"],
        json!(["pubmed", "europepmc"]),
        "joined by PMID: {trial}"
    );
    assert_eq!(trial["ids"]["pmcid"], "PMC9000001");
    assert_eq!(trial["open_access"]["is_oa"], true);
    assert_eq!(trial["versions"], json!([]), "one version only");
    let f = &body["facets"];
    assert_eq!(f["venue"]["Journal of Rotating Fluids"], 1, "{f}");
    assert_eq!(
        f["open_access"]["true"], 2,
        "arXiv and Europe PMC say free: {f}"
    );
    assert_eq!(f["publication_type"]["journal_article"], 1, "{f}");
}

#[tokio::test]
async fn filters_reach_each_upstream_or_apply_after_the_merge() {
    let up = Upstreams::start().await;
    mount(
        &up.arxiv,
        "/api/query",
        atom_response(atom(&[(
            "2401.00017",
            "Tidal lattices in rotating superfluids",
            None,
            PAPER_ABSTRACT,
        )])),
    )
    .await;
    mount_pubmed(&up.pubmed, &[]).await;
    mount(&up.europepmc, "/search", epmc(json!([]))).await;
    let cc = json!([{"URL": "https://creativecommons.org/licenses/by/4.0/"}]);
    mount(&up.crossref, "/works", crossref(3, json!([
        {"DOI": "10.5555/keep", "type": "journal-article", "title": ["Open lattice paper by the author"], "author": [{"given": "Ines", "family": "Vallbona"}], "published": {"date-parts": [[2024]]}, "license": cc},
        {"DOI": "10.5555/other-author", "type": "journal-article", "title": ["Open lattice paper by someone else"], "author": [{"given": "Sam", "family": "Else"}], "published": {"date-parts": [[2024]]}, "license": cc},
        {"DOI": "10.5555/closed", "type": "journal-article", "title": ["Lattice paper of unknown access"], "author": [{"given": "Ines", "family": "Vallbona"}], "published": {"date-parts": [[2024]]}}
    ]))).await;
    mount(&up.openalex, "/works", openalex(json!([]))).await;
    mount(&up.s2, "/graph/v1/paper/search", s2(json!([]))).await;
    let app = spawn_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "filters", "professional").await;
    let (status, body) = app
        .search(&admin, json!({"query": "lattice", "sources": ["arxiv", "pubmed", "europepmc", "crossref", "openalex", "semantic_scholar"],
            "filters": {"year_from": 2020, "year_to": 2025, "authors": ["Vallbona"], "open_access_only": true}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let arxiv = queries(&up.arxiv).await;
    let q = param(&arxiv[0], "search_query");
    assert!(
        q.contains("au:\"Vallbona\"") && q.contains("submittedDate:[202001010000 TO 202512312359]"),
        "{q}"
    );
    let pubmed = queries(&up.pubmed).await;
    let term = param(&pubmed[0], "term");
    assert!(
        term.contains("\"Vallbona\"[au]") && term.contains("free full text[sb]"),
        "{term}"
    );
    assert_eq!(param(&pubmed[0], "mindate"), "2020/01/01");
    let epmc_q = queries(&up.europepmc).await;
    let q = param(&epmc_q[0], "query");
    assert!(
        q.contains("FIRST_PDATE:[2020-01-01 TO 2025-12-31]")
            && q.contains("AUTH:\"Vallbona\"")
            && q.contains("OPEN_ACCESS:y"),
        "{q}"
    );
    let cr = queries(&up.crossref).await;
    assert_eq!(
        param(&cr[0], "filter"),
        "from-pub-date:2020-01-01,until-pub-date:2025-12-31"
    );
    let oa = queries(&up.openalex).await;
    assert_eq!(
        param(&oa[0], "filter"),
        "from_publication_date:2020-01-01,to_publication_date:2025-12-31,is_oa:true"
    );
    let s2q = queries(&up.s2).await;
    assert_eq!(
        param(&s2q[0], "publicationDateOrYear"),
        "2020-01-01:2025-12-31"
    );
    assert!(s2q[0].iter().any(|(k, _)| k == "openAccessPdf"));
    let s = &body["source_status"];
    assert_eq!(s["crossref"]["filters_applied"], json!(["dates"]), "{s}");
    assert_eq!(
        s["europepmc"]["filters_applied"],
        json!(["dates", "authors", "open_access"]),
        "{s}"
    );
    assert_eq!(
        s["arxiv"]["filters_applied"],
        json!(["dates", "authors", "open_access"]),
        "{s}"
    );
    assert_eq!(
        s["semantic_scholar"]["filters_applied"],
        json!(["dates", "open_access"]),
        "{s}"
    );
    // Crossref applied neither the author nor open access: its other two records are dropped
    let dois: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["doi"].as_str())
        .collect();
    assert!(dois.contains(&"10.5555/keep"), "{body}");
    assert!(
        !dois.contains(&"10.5555/other-author") && !dois.contains(&"10.5555/closed"),
        "{dois:?}"
    );
    assert_eq!(
        body["total_results"], 2,
        "the arXiv paper and the kept Crossref one"
    );
    // a bad filter is a 400 naming it
    let (status, problem) = app
        .search(
            &admin,
            json!({"query": "x", "filters": {"sort": "popularity"}}),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("filters.sort")),
        "{problem}"
    );
    let (status, _) = app
        .search(
            &admin,
            json!({"query": "x", "filters": {"year_from": 2025, "year_to": 2020}}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .search(&admin, json!({"query": "x", "page_size": 51}))
        .await;
    assert_eq!(status, 400);
}

/// Crossref with a known list of 50 works by offset; each later window starts one early (the
/// upstream's list shifted), so a duplicate arrives and must be left out.
struct KnownList;

impl wiremock::Respond for KnownList {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let get = |k: &str| {
            request
                .url
                .query_pairs()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        };
        let (offset, rows) = (get("offset").unwrap_or(0), get("rows").unwrap_or(20));
        let start = offset.saturating_sub(usize::from(offset > 0));
        let items: Vec<Value> = (start..(offset + rows).min(50))
            .map(|i| json!({"DOI": format!("10.5555/known.{i}"), "type": "journal-article",
                "title": [format!("Known lattice paper number {i}")], "author": [{"given": "Ines", "family": "Vallbona"}],
                "published": {"date-parts": [[2020, 1, 1]]}}))
            .collect();
        crossref(50, Value::Array(items))
    }
}

async fn three_pages_without_duplicates_or_gaps(app: TestApp, up: &Upstreams) {
    let root = app.root().await;
    let (_, alice) = app.tenant(&root, "pages", "professional").await;
    let (_, mallory) = app.tenant(&root, "pagesother", "professional").await;
    let ask = json!({"query": "known lattice", "sources": ["crossref"], "page_size": 20,
        "enable_ml_enhancement": false});
    let (status, first) = app.search(&alice, ask).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["page"], 1);
    let id = first["search_id"].as_str().unwrap().to_owned();
    let mut dois: Vec<String> = Vec::new();
    let mut collect = |page: &Value| {
        for r in page["results"].as_array().unwrap() {
            dois.push(r["doi"].as_str().unwrap().to_owned());
        }
    };
    collect(&first);
    let cursor1 = first["next_cursor"].as_str().expect("more").to_owned();
    let more = format!("/api/v1/search/{id}/more");
    // another tenant's cursor: like a missing search
    let (status, problem) = app
        .call(
            "POST",
            &more,
            Some(&mallory),
            Some(json!({"cursor": cursor1})),
        )
        .await;
    assert_eq!(status, 404, "{problem}");
    let (status, second) = app
        .call(
            "POST",
            &more,
            Some(&alice),
            Some(json!({"cursor": cursor1})),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        (second["page"].as_u64(), second["search_id"].as_str()),
        (Some(2), Some(id.as_str()))
    );
    collect(&second);
    // a cursor is used once
    let (status, problem) = app
        .call(
            "POST",
            &more,
            Some(&alice),
            Some(json!({"cursor": cursor1})),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("invalid_state")),
        "{problem}"
    );
    let cursor2 = second["next_cursor"].as_str().expect("more").to_owned();
    let (status, third) = app
        .call(
            "POST",
            &more,
            Some(&alice),
            Some(json!({"cursor": cursor2})),
        )
        .await;
    assert_eq!(status, 200, "{third}");
    collect(&third);
    assert_eq!(third["next_cursor"], Value::Null, "50 of 50: the end");
    let mut want: Vec<String> = (0..50).map(|i| format!("10.5555/known.{i}")).collect();
    let mut got = dois.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "no duplicate, no gap: {dois:?}");
    // garbage and a wrong search id are 404s too
    let (status, _) = app
        .call("POST", &more, Some(&alice), Some(json!({"cursor": "zz"})))
        .await;
    assert_eq!(status, 404);
    let other = format!("/api/v1/search/{}/more", uuid::Uuid::new_v4());
    let (status, _) = app
        .call(
            "POST",
            &other,
            Some(&alice),
            Some(json!({"cursor": cursor2})),
        )
        .await;
    assert_eq!(status, 404);
    // one history entry, three pages, every result counted
    let (_, history) = app
        .call("GET", "/api/v1/search/history", Some(&alice), None)
        .await;
    let entry = &history["search_history"][0];
    assert_eq!(
        (entry["pages"].as_u64(), entry["result_count"].as_u64()),
        (Some(3), Some(50)),
        "{history}"
    );
    assert_eq!(history["pagination"]["total"], 1, "{history}");
    let offsets: Vec<String> = queries(&up.crossref)
        .await
        .iter()
        .map(|q| param(q, "offset").to_owned())
        .collect();
    assert_eq!(
        offsets,
        vec!["0", "20", "40"],
        "each page asked where the last left off"
    );
}

#[tokio::test]
async fn paging_embedded() {
    let up = Upstreams::start().await;
    Mock::given(path("/works"))
        .respond_with(KnownList)
        .mount(&up.crossref)
        .await;
    let app = spawn_with(|c| up.configure(c)).await;
    three_pages_without_duplicates_or_gaps(app, &up).await;
}

#[tokio::test]
async fn paging_on_postgres_and_redis() {
    let up = Upstreams::start().await;
    Mock::given(path("/works"))
        .respond_with(KnownList)
        .mount(&up.crossref)
        .await;
    let app = common::spawn_pg_with(|c| up.configure(c)).await;
    three_pages_without_duplicates_or_gaps(app, &up).await;
}

/// Hostile bytes from upstreams (NUL and control characters in an error message and in a
/// record) never reach a store as such: the search answers and is recorded on PostgreSQL.
#[tokio::test]
async fn hostile_upstream_bytes_are_answered_and_recorded_on_postgres() {
    let up = Upstreams::start().await;
    mount(
        &up.crossref,
        "/works",
        ResponseTemplate::new(400).set_body_json(
            json!({"status": "failed", "message-type": "validation-failure",
            "message": [{"type": "x", "value": "y", "message": "bad\u{0}value\u{7} \u{1b}[31m"}]}),
        ),
    )
    .await;
    mount(
        &up.s2,
        "/graph/v1/paper/search",
        s2(
            json!([{"paperId": "ab\u{0}cd", "title": "Nul\u{0} title \u{1} here",
        "externalIds": {"DOI": "10.5555/nul\u{0}doi"}, "authors": [{"name": "A\u{0}B"}]}]),
        ),
    )
    .await;
    let app = common::spawn_pg_with(|c| up.configure(c)).await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "hostile", "professional").await;
    let (status, body) = app
        .search(
            &admin,
            json!({"query": "hostile bytes", "sources": ["crossref", "semantic_scholar"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let detail = body["source_status"]["crossref"]["detail"]
        .as_str()
        .unwrap();
    assert!(!detail.chars().any(char::is_control), "{detail:?}");
    assert_eq!(
        body["source_status"]["semantic_scholar"]["status"], "ok",
        "{body}"
    );
    let (status, history) = app
        .call("GET", "/api/v1/search/history", Some(&admin), None)
        .await;
    assert_eq!(
        (status, history["pagination"]["total"].as_u64()),
        (200, Some(1)),
        "{history}"
    );
    let first = body["next_cursor"].clone();
    assert!(first.is_null(), "one short page: the end");
}

/// A new source keeps the search rules: identical concurrent searches of a tenant make one
/// upstream call, a repeat is answered from the cache, distinct calls are spaced by the
/// source's pacing, a 429 is retried after a backoff, and every search is in the history.
#[tokio::test]
async fn a_new_source_is_paced_cached_coalesced_and_remembered() {
    let up = Upstreams::start().await;
    let paper = json!([{"paperId": "c0ffee", "title": "Quantised vortices in helium films", "externalIds": {}, "year": 2021, "authors": []}]);
    let answer = Recorder::new(s2(paper).set_delay(Duration::from_millis(100)));
    Mock::given(path("/graph/v1/paper/search"))
        .and(wiremock::matchers::query_param("query", "throttled words"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({"message": "Too Many Requests.", "code": "429"})),
        )
        .mount(&up.s2)
        .await;
    Mock::given(path("/graph/v1/paper/search"))
        .respond_with(answer.clone())
        .mount(&up.s2)
        .await;
    let app = spawn_with(|c| {
        up.configure(c);
        c.search.semantic_scholar.interval_ms = 150;
    })
    .await;
    let root = app.root().await;
    let (_, admin) = app.tenant(&root, "rules", "enterprise").await;
    let ask = |q: &str| json!({"query": q, "sources": ["semantic_scholar"]});
    let same: Vec<_> = (0..8)
        .map(|_| spawn_search(&app, &admin, &ask("helium vortices")))
        .collect();
    for h in same {
        let (status, body) = h.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["total_results"], 1, "{body}");
    }
    assert_eq!(
        answer.arrivals.lock().unwrap().len(),
        1,
        "coalesced into one call"
    );
    let (_, again) = app.search(&admin, ask("helium vortices")).await;
    assert_eq!(
        again["source_status"]["semantic_scholar"]["status"], "cached",
        "{again}"
    );
    assert_eq!(again["cache_hit"], true);
    let distinct: Vec<_> = ["films one", "films two", "films three"]
        .iter()
        .map(|q| spawn_search(&app, &admin, &ask(q)))
        .collect();
    for h in distinct {
        assert_eq!(h.await.unwrap().0, 200);
    }
    let gaps = answer.gaps();
    assert_eq!(gaps.len(), 3, "{gaps:?}");
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(140)),
        "paced: {gaps:?}"
    );
    let (_, throttled) = app.search(&admin, ask("throttled words")).await;
    assert_eq!(
        throttled["source_status"]["semantic_scholar"]["status"], "rate_limited",
        "{throttled}"
    );
    let tries = up.s2.received_requests().await.unwrap().len() - 4;
    assert_eq!(tries, 2, "one retry after the backoff");
    let (_, history) = app
        .call("GET", "/api/v1/search/history", Some(&admin), None)
        .await;
    assert_eq!(history["pagination"]["total"], 13, "{history}");
}
