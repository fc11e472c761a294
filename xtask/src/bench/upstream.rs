//! The mock upstreams the search scenarios start: arXiv's Atom API, PubMed's E-utilities
//! (ESearch JSON, ESummary JSON, EFetch XML) and Firecrawl's `/search`, on one port, in their
//! exact formats, with the project's own texts (ten records each, multi-sentence abstracts).
//! HTTP/1.1 keep-alive with TCP_NODELAY, each answer after a per-upstream delay.

#![expect(
    clippy::format_push_string,
    clippy::format_collect,
    reason = "fixture text, built once"
)]

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long each upstream takes to answer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Delays {
    /// arXiv.
    pub arxiv: Duration,
    /// Each of PubMed's three requests (ESearch, ESummary, EFetch).
    pub pubmed: Duration,
    /// Firecrawl.
    pub web: Duration,
}

impl Delays {
    /// Public-upstream-like delays (arXiv 300 ms, PubMed 80 ms a request, the web 200 ms).
    pub(super) const SLOW: Self = Self {
        arxiv: Duration::from_millis(300),
        pubmed: Duration::from_millis(80),
        web: Duration::from_millis(200),
    };

    /// A local mirror: about 1 ms each.
    pub(super) const MIRROR: Self = Self {
        arxiv: Duration::from_millis(1),
        pubmed: Duration::from_millis(1),
        web: Duration::from_millis(1),
    };
}

/// Sentences the abstracts are made of (each record takes seven, starting at its own place).
const SENTENCES: &[&str] = &[
    "Vortex lattices form in rotating superfluids when the rotation exceeds a critical rate.",
    "We measure how the lattice deforms under tidal forces in a rotating helium cell.",
    "The melting transition depends on the rotation rate and on the temperature of the sample.",
    "Numerical simulations of the Gross-Pitaevskii equation reproduce the observed patterns.",
    "Defects in the lattice move along grain boundaries and annihilate in pairs.",
    "Our results suggest that pinning sites stabilise the lattice at low temperatures.",
    "A simple elastic model explains the shear modulus measured in the experiment.",
    "Compared with earlier work, the new method resolves individual vortices in real time.",
    "The data are consistent with a two-step melting scenario mediated by dislocations.",
    "We discuss implications for neutron star glitches and for ultracold atomic gases.",
    "Patients with lattice dystrophy were followed for five years in a prospective cohort.",
    "Clinical outcomes improved when treatment started early in the course of the disease.",
];

fn abstract_of(i: usize) -> String {
    (0..7)
        .map(|k| SENTENCES[(i + k * 5) % SENTENCES.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn atom() -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom"><id>https://arxiv.org/api/bench</id><title>bench</title><opensearch:totalResults>10</opensearch:totalResults><opensearch:startIndex>0</opensearch:startIndex><opensearch:itemsPerPage>10</opensearch:itemsPerPage>"#,
    );
    for i in 0..10 {
        xml.push_str(&format!(
            r#"<entry><id>http://arxiv.org/abs/2401.{i:05}v1</id><updated>2025-01-0{d}T00:00:00Z</updated><published>2025-01-0{d}T00:00:00Z</published><title>Bench paper {i} on vortex lattices in rotating superfluids</title><summary>{abs}</summary><author><name>Author {i}</name></author><author><name>Second Author</name></author><link href="https://arxiv.org/abs/2401.{i:05}v1" rel="alternate" type="text/html"/><link title="pdf" href="https://arxiv.org/pdf/2401.{i:05}v1" rel="related" type="application/pdf"/><arxiv:primary_category term="cond-mat.other" scheme="http://arxiv.org/schemas/atom"/><category term="cond-mat.other" scheme="http://arxiv.org/schemas/atom"/></entry>"#,
            d = i % 9 + 1,
            abs = abstract_of(i),
        ));
    }
    xml.push_str("</feed>");
    xml
}

fn pmid(i: usize) -> String {
    format!("3900{i:04}")
}

fn esearch() -> String {
    let ids: Vec<String> = (0..10).map(|i| format!("\"{}\"", pmid(i))).collect();
    format!(
        r#"{{"header":{{"type":"esearch","version":"0.3"}},"esearchresult":{{"count":"10","retmax":"10","retstart":"0","idlist":[{}]}}}}"#,
        ids.join(",")
    )
}

fn esummary() -> String {
    let docs: Vec<String> = (0..10)
        .map(|i| {
            let id = pmid(i);
            format!(
                r#""{id}":{{"uid":"{id}","pubdate":"2024 May","sortpubdate":"2024/05/01 00:00","source":"J Bench Med","title":"Clinical paper {id} on lattice dystrophy outcomes.","authors":[{{"name":"Doe J","authtype":"Author"}},{{"name":"Roe R","authtype":"Author"}}],"articleids":[{{"idtype":"pubmed","value":"{id}"}},{{"idtype":"doi","value":"10.5555/bench.{id}"}}],"pubtype":["Journal Article"]}}"#
            )
        })
        .collect();
    let uids: Vec<String> = (0..10).map(|i| format!("\"{}\"", pmid(i))).collect();
    format!(
        r#"{{"header":{{"type":"esummary","version":"0.3"}},"result":{{"uids":[{}],{}}}}}"#,
        uids.join(","),
        docs.join(",")
    )
}

fn efetch() -> String {
    let articles: String = (0..10)
        .map(|i| {
            format!(
                "<PubmedArticle><MedlineCitation Status=\"MEDLINE\" Owner=\"NLM\"><PMID Version=\"1\">{}</PMID><Article PubModel=\"Print\"><Abstract><AbstractText>{}</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>",
                pmid(i),
                abstract_of(i + 10)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" ?><!DOCTYPE PubmedArticleSet PUBLIC \"-//NLM//DTD PubMedArticle, 1st January 2025//EN\" \"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd\"><PubmedArticleSet>{articles}</PubmedArticleSet>"
    )
}

fn firecrawl() -> String {
    let web: Vec<String> = (0..10)
        .map(|i| format!(r#"{{"url":"https://example.org/{i}","title":"Web page {i} about lattices","description":"A page about vortex lattices."}}"#))
        .collect();
    format!(r#"{{"success":true,"data":{{"web":[{}]}}}}"#, web.join(","))
}

/// The answers, rendered once.
struct Answers {
    delays: Delays,
    atom: String,
    esearch: String,
    esummary: String,
    efetch: String,
    web: String,
}

impl Answers {
    fn answer(&self, path: &str) -> (Duration, &'static str, &str) {
        if path.starts_with("/api/query") {
            (self.delays.arxiv, "application/atom+xml", &self.atom)
        } else if path.starts_with("/esearch.fcgi") {
            (self.delays.pubmed, "application/json", &self.esearch)
        } else if path.starts_with("/esummary.fcgi") {
            (self.delays.pubmed, "application/json", &self.esummary)
        } else if path.starts_with("/efetch.fcgi") {
            (self.delays.pubmed, "text/xml", &self.efetch)
        } else {
            (self.delays.web, "application/json", &self.web)
        }
    }
}

/// Serves one connection: request after request, until the client closes it.
async fn serve(mut stream: TcpStream, answers: Arc<Answers>) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        // one request: its head, then its body
        let (end, length) = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]);
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                break (end + 4, length);
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        while buf.len() < end + length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + length);
        let path = head.split_whitespace().nth(1).unwrap_or("/");
        let close = head.to_ascii_lowercase().contains("connection: close");
        let (delay, kind, body) = answers.answer(path);
        tokio::time::sleep(delay).await;
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{}\r\n{body}",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        if stream.write_all(reply.as_bytes()).await.is_err() || close {
            return;
        }
    }
}

/// Starts the mock upstreams with `delays`; returns their port.
pub(super) async fn mock(delays: Delays) -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let answers = Arc::new(Answers {
        delays,
        atom: atom(),
        esearch: esearch(),
        esummary: esummary(),
        efetch: efetch(),
        web: firecrawl(),
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, Arc::clone(&answers)));
        }
    });
    Ok(port)
}
