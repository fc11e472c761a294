//! Federated search over HTTP against mock upstreams (wiremock) answering in the exact upstream
//! formats: statuses per source within the budget, merging across sources, caching, history,
//! analytics, popular queries, saved searches, tenant isolation, input rules, fairness between
//! tenants at a shared upstream, pacing and retries.

mod depth;
mod enhancement;
mod fairness;
mod input;
mod keep;
mod resilience;
mod saved;
mod sources;
mod upstreams;
