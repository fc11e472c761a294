//! Usage counters: per tenant, per UTC day, per metric.

use serde::{Deserialize, Serialize};

/// What a usage counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageMetric {
    /// Authenticated API calls.
    ApiCalls,
    /// Searches run.
    Searches,
    /// Exports of results.
    Exports,
}

impl UsageMetric {
    /// The snake_case name, as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ApiCalls => "api_calls",
            Self::Searches => "searches",
            Self::Exports => "exports",
        }
    }
}
