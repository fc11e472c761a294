//! PAKE's upstream search sources, behind the search-source port.
//!
//! - [`Arxiv`]: the arXiv Atom API. Error entries are recognised whatever the HTTP status,
//!   `429 Rate exceeded.` and 503 map to retryable failures, every format era parses.
//! - [`Pubmed`]: NCBI E-utilities, ESearch → ESummary (→ EFetch for abstracts), always with
//!   `retmax`, `tool`, `email` and the optional `api_key`.
//! - [`Firecrawl`]: the web through Firecrawl `/search`, v1 and v2 response shapes; unavailable
//!   (not failing) without an API key.
//!
//! Each adapter has a configurable base URL, timeout and response-size bound, sends a descriptive
//! User-Agent, and passes the caller's [`UpstreamGate`](pake_ports::UpstreamGate) before every
//! HTTP request. Pacing, retries, circuit breaking and fairness between tenants belong to the
//! caller (the core's search service): an adapter makes exactly the requests one search needs.

mod arxiv;
mod firecrawl;
mod http;
mod pubmed;
mod text;

pub use arxiv::Arxiv;
pub use firecrawl::Firecrawl;
pub use http::{HeaderHook, SourceConfig};
pub use pubmed::Pubmed;
