//! Each adapter against a local mock server answering in the upstream's exact formats (fixtures
//! written for this project in those formats), including every error and format variant of
//! `../shared/reference/upstreams.md`.

#![expect(
    clippy::unwrap_used,
    reason = "a test stops at the line that cannot set up"
)]

mod arxiv;
mod common;
mod crossref;
mod europepmc;
mod firecrawl;
mod openalex;
mod pubmed;
mod semantic_scholar;
