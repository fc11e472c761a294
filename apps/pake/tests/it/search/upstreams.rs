//! Mock upstreams answering in the exact upstream formats (arXiv Atom, PubMed E-utilities,
//! Firecrawl v2), and the search requests the scenarios send.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use pake::config::Config;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestApp;

/// Answers with `template` and notes when each request arrived.
#[derive(Clone)]
pub(super) struct Recorder {
    pub(super) template: ResponseTemplate,
    pub(super) arrivals: std::sync::Arc<std::sync::Mutex<Vec<Instant>>>,
}

impl Recorder {
    pub(super) fn new(template: ResponseTemplate) -> Self {
        Self {
            template,
            arrivals: std::sync::Arc::default(),
        }
    }

    pub(super) fn gaps(&self) -> Vec<Duration> {
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

/// A mock server for every source (those a scenario does not mount answer 404: an error).
pub(super) struct Upstreams {
    pub(super) arxiv: MockServer,
    pub(super) pubmed: MockServer,
    pub(super) web: MockServer,
    pub(super) europepmc: MockServer,
    pub(super) crossref: MockServer,
    pub(super) openalex: MockServer,
    pub(super) s2: MockServer,
}

impl Upstreams {
    pub(super) async fn start() -> Self {
        Self {
            arxiv: MockServer::start().await,
            pubmed: MockServer::start().await,
            web: MockServer::start().await,
            europepmc: MockServer::start().await,
            crossref: MockServer::start().await,
            openalex: MockServer::start().await,
            s2: MockServer::start().await,
        }
    }

    pub(super) fn configure(&self, c: &mut Config) {
        c.search.arxiv.base_url = self.arxiv.uri();
        c.search.pubmed.base_url = self.pubmed.uri();
        c.search.web.base_url = self.web.uri();
        c.search.web.api_key = Some(SecretString::from("fc-test"));
        c.search.europepmc.base_url = self.europepmc.uri();
        c.search.crossref.base_url = self.crossref.uri();
        c.search.openalex.base_url = self.openalex.uri();
        c.search.openalex.api_key = Some(SecretString::from("oa-test"));
        c.search.semantic_scholar.base_url = self.s2.uri();
        for u in [
            &mut c.search.europepmc,
            &mut c.search.crossref,
            &mut c.search.openalex,
            &mut c.search.semantic_scholar,
        ] {
            u.interval_ms = 5;
            u.cache_ttl_secs = 30;
        }
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
pub(super) fn atom(entries: &[(&str, &str, Option<&str>, &str)]) -> String {
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

pub(super) fn atom_response(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/atom+xml; charset=utf-8")
}

/// Mounts PubMed answering with `docs` (PMID, title, DOI, abstract).
pub(super) async fn mount_pubmed(server: &MockServer, docs: &[(&str, &str, &str, &str)]) {
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
pub(super) async fn mount_web(server: &MockServer, pages: &[(&str, &str, &str)]) {
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

/// Sends a search in the background; its status and JSON body arrive through the handle.
pub(super) fn spawn_search(
    app: &TestApp,
    token: &str,
    body: &Value,
) -> tokio::task::JoinHandle<(u16, Value)> {
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

pub(super) const PAPER_ABSTRACT: &str = "Vortex lattices form in rotating superfluids. \
    Tidal forces deform the vortex lattice. \
    Above a critical rotation rate the lattice melts.";

/// arXiv's answer to a query it cannot parse: 400 with an error entry.
pub(super) fn arxiv_bad_query() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_raw(
        r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><id>https://arxiv.org/api/errors#bad</id><title>Error</title><summary>bad query</summary></entry></feed>"#,
        "application/atom+xml",
    )
}
