//! PAKE's upstream search sources, behind the search-source port.
//!
//! - [`Arxiv`]: the arXiv Atom API. Error entries are recognised whatever the HTTP status,
//!   `429 Rate exceeded.` and 503 map to retryable failures, every format era parses.
//! - [`Pubmed`]: NCBI E-utilities, ESearch → ESummary (→ EFetch for abstracts), always with
//!   `retmax`, `tool`, `email` and the optional `api_key`.
//! - [`EuropePmc`]: Europe PMC's REST search, `resultType=core`, `cursorMark` paging.
//! - [`Crossref`]: Crossref `/works` with `query.bibliographic`, `filter=`, the polite pool's
//!   `mailto`, and its own spacing from the `x-rate-limit-*` headers.
//! - [`OpenAlex`]: OpenAlex `/works` with `search=`, `filter=`, `cursor=`, abstracts rebuilt
//!   from the inverted index; unavailable (not failing) without an API key.
//! - [`SemanticScholar`]: the Graph API's paper search with `fields=`; the key is optional.
//! - [`Firecrawl`]: the web through Firecrawl `/search`, v1 and v2 response shapes; unavailable
//!   (not failing) without an API key.
//!
//! Each adapter has a configurable base URL, timeout and response-size bound, sends a descriptive
//! User-Agent, and passes the caller's [`UpstreamGate`](pake_ports::UpstreamGate) before every
//! HTTP request. Each translates what it can of the request's filters into its upstream's syntax
//! and says which ([`SourcePage::applied`](pake_ports::SourcePage)); each returns where its next
//! page starts. Pacing, retries, circuit breaking and fairness between tenants belong to the
//! caller (the core's search service): an adapter makes exactly the requests one page needs.

mod arxiv;
mod crossref;
mod europepmc;
mod firecrawl;
mod http;
mod json;
mod openalex;
mod paging;
mod pubmed;
mod semantic_scholar;
mod text;

pub use arxiv::Arxiv;
pub use crossref::Crossref;
pub use europepmc::EuropePmc;
pub use firecrawl::Firecrawl;
pub use http::{HeaderHook, SourceConfig};
pub use openalex::OpenAlex;
pub use pubmed::Pubmed;
pub use semantic_scholar::SemanticScholar;
