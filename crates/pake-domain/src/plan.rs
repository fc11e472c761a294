//! Plans: what a tenant may do and how much. Plans are code and config, not rows: the defaults of the
//! product brief live here, an operator overrides them in config ([`PlanOverride`]), and the super
//! admin can override one tenant's limits ([`LimitsOverride`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{Reason, ValidationError};

/// A plan's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanId {
    /// Small teams.
    Basic,
    /// Growing organisations.
    Professional,
    /// Large organisations.
    Enterprise,
}

impl PlanId {
    /// Every plan.
    pub const ALL: [Self; 3] = [Self::Basic, Self::Professional, Self::Enterprise];

    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::Professional => "professional",
            Self::Enterprise => "enterprise",
        }
    }

    /// Parses the snake_case name.
    ///
    /// # Errors
    /// [`Reason::UnknownValue`] for any other text.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or(ValidationError::new("plan", Reason::UnknownValue))
    }
}

/// A capability a plan may include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Federated search.
    Search,
    /// Totals and series of the tenant's searches.
    BasicAnalytics,
    /// Deeper analytics.
    AdvancedAnalytics,
    /// Export of results and history.
    Export,
    /// Programmatic API access.
    ApiAccess,
    /// The audit trail.
    AuditLogs,
    /// Single sign-on.
    Sso,
}

/// The quantitative limits of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLimits {
    /// Users in the tenant.
    pub max_users: u32,
    /// Authenticated API calls per UTC day, for the whole tenant.
    pub max_api_calls_per_day: u64,
    /// Requests per minute, for the whole tenant.
    pub requests_per_minute: u32,
    /// Searches running at once, for the whole tenant.
    pub max_concurrent_searches: u32,
}

/// A plan: limits and features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Its name.
    pub id: PlanId,
    /// Its limits.
    pub limits: PlanLimits,
    /// Its features.
    pub features: BTreeSet<Feature>,
    /// Relative share of shared upstream capacity (used to divide upstream budgets fairly).
    pub upstream_weight: u32,
    /// How many days the results of a search are kept in its history entry (`None`: as long as
    /// the entry).
    pub result_retention_days: Option<u32>,
}

impl Plan {
    /// Whether the plan includes `feature`.
    pub fn has(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }

    /// The built-in defaults of the product brief.
    pub fn default_for(id: PlanId) -> Self {
        use Feature::{
            AdvancedAnalytics, ApiAccess, AuditLogs, BasicAnalytics, Export, Search, Sso,
        };
        let (limits, features, upstream_weight, result_retention_days) = match id {
            PlanId::Basic => (
                PlanLimits {
                    max_users: 5,
                    max_api_calls_per_day: 1_000,
                    requests_per_minute: 60,
                    max_concurrent_searches: 3,
                },
                vec![Search, BasicAnalytics],
                1,
                Some(30),
            ),
            PlanId::Professional => (
                PlanLimits {
                    max_users: 25,
                    max_api_calls_per_day: 10_000,
                    requests_per_minute: 300,
                    max_concurrent_searches: 10,
                },
                vec![Search, BasicAnalytics, AdvancedAnalytics, Export, ApiAccess],
                2,
                Some(365),
            ),
            PlanId::Enterprise => (
                PlanLimits {
                    max_users: 100,
                    max_api_calls_per_day: 100_000,
                    requests_per_minute: 1_500,
                    max_concurrent_searches: 50,
                },
                vec![
                    Search,
                    BasicAnalytics,
                    AdvancedAnalytics,
                    Export,
                    ApiAccess,
                    AuditLogs,
                    Sso,
                ],
                4,
                None,
            ),
        };
        Self {
            id,
            limits,
            features: features.into_iter().collect(),
            upstream_weight,
            result_retention_days,
        }
    }

    /// This plan with a tenant's overrides applied.
    #[must_use]
    pub fn with_tenant_override(&self, o: &LimitsOverride) -> Self {
        let mut plan = self.clone();
        let l = &mut plan.limits;
        l.max_users = o.max_users.unwrap_or(l.max_users);
        l.max_api_calls_per_day = o.max_api_calls_per_day.unwrap_or(l.max_api_calls_per_day);
        l.requests_per_minute = o.requests_per_minute.unwrap_or(l.requests_per_minute);
        l.max_concurrent_searches = o
            .max_concurrent_searches
            .unwrap_or(l.max_concurrent_searches);
        plan
    }
}

/// One tenant's limit overrides, set by the super admin; `None` keeps the plan's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsOverride {
    /// Overrides [`PlanLimits::max_users`].
    pub max_users: Option<u32>,
    /// Overrides [`PlanLimits::max_api_calls_per_day`].
    pub max_api_calls_per_day: Option<u64>,
    /// Overrides [`PlanLimits::requests_per_minute`].
    pub requests_per_minute: Option<u32>,
    /// Overrides [`PlanLimits::max_concurrent_searches`].
    pub max_concurrent_searches: Option<u32>,
}

impl LimitsOverride {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks that no limit is overridden to zero (a limit of zero would lock the tenant out of
    /// what the plan sells).
    ///
    /// # Errors
    /// [`Reason::OutOfRange`] on `field` when a value is zero.
    pub fn validate(&self, field: &'static str) -> Result<(), ValidationError> {
        let values = [
            self.max_users.map(u64::from),
            self.max_api_calls_per_day,
            self.requests_per_minute.map(u64::from),
            self.max_concurrent_searches.map(u64::from),
        ];
        if values.contains(&Some(0)) {
            return Err(ValidationError::new(
                field,
                Reason::OutOfRange {
                    min: 1,
                    max: i64::MAX,
                },
            ));
        }
        Ok(())
    }
}

/// An operator's change to a plan's defaults, from config; `None` keeps the default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanOverride {
    /// Limits to override.
    #[serde(flatten)]
    pub limits: LimitsOverride,
    /// Replaces the feature set when given.
    pub features: Option<BTreeSet<Feature>>,
    /// Replaces the upstream weight when given.
    pub upstream_weight: Option<u32>,
    /// Replaces the days a search's results are kept when given (0: as long as the entry).
    pub result_retention_days: Option<u32>,
}

/// The plans in force: the defaults with the operator's overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCatalog {
    plans: [Plan; 3],
}

impl PlanCatalog {
    /// The catalog with the operator's overrides (`(plan, override)` pairs) applied to the defaults.
    ///
    /// # Errors
    /// [`Reason::OutOfRange`] when an override sets a limit or weight to zero.
    pub fn with_overrides<'a>(
        overrides: impl IntoIterator<Item = (PlanId, &'a PlanOverride)>,
    ) -> Result<Self, ValidationError> {
        let mut catalog = Self::default();
        for (id, o) in overrides {
            let l = &o.limits;
            l.validate("plans")?;
            if o.upstream_weight == Some(0) {
                return Err(ValidationError::new(
                    "plans",
                    Reason::OutOfRange {
                        min: 1,
                        max: i64::MAX,
                    },
                ));
            }
            let slot = &mut catalog.plans[id as usize];
            *slot = slot.with_tenant_override(l);
            if let Some(features) = &o.features {
                slot.features.clone_from(features);
            }
            if let Some(w) = o.upstream_weight {
                slot.upstream_weight = w;
            }
            if let Some(days) = o.result_retention_days {
                slot.result_retention_days = (days > 0).then_some(days);
            }
        }
        Ok(catalog)
    }

    /// The plan named `id`.
    pub fn get(&self, id: PlanId) -> &Plan {
        &self.plans[id as usize]
    }

    /// The effective plan of a tenant on `id` with `overrides`.
    pub fn effective(&self, id: PlanId, overrides: &LimitsOverride) -> Plan {
        self.get(id).with_tenant_override(overrides)
    }

    /// Every plan.
    pub fn all(&self) -> &[Plan] {
        &self.plans
    }
}

impl Default for PlanCatalog {
    fn default() -> Self {
        Self {
            plans: PlanId::ALL.map(Plan::default_for),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_product_brief() {
        let c = PlanCatalog::default();
        let row = |id| {
            let l = c.get(id).limits;
            (
                l.max_users,
                l.max_api_calls_per_day,
                l.requests_per_minute,
                l.max_concurrent_searches,
            )
        };
        assert_eq!(row(PlanId::Basic), (5, 1_000, 60, 3));
        assert_eq!(row(PlanId::Professional), (25, 10_000, 300, 10));
        assert_eq!(row(PlanId::Enterprise), (100, 100_000, 1_500, 50));
        assert!(c.get(PlanId::Basic).has(Feature::BasicAnalytics));
        assert!(!c.get(PlanId::Basic).has(Feature::Export));
        assert!(c.get(PlanId::Professional).has(Feature::ApiAccess));
        assert!(!c.get(PlanId::Professional).has(Feature::AuditLogs));
        assert!(c.get(PlanId::Enterprise).has(Feature::AuditLogs));
        assert!(c.get(PlanId::Enterprise).has(Feature::Sso));
        for id in PlanId::ALL {
            assert_eq!(c.get(id).id, id);
            assert_eq!(PlanId::parse(id.as_str()), Ok(id));
        }
    }

    #[test]
    fn operator_and_tenant_overrides_apply() {
        let o = PlanOverride {
            limits: LimitsOverride {
                max_users: Some(7),
                ..LimitsOverride::default()
            },
            features: Some([Feature::Search, Feature::AuditLogs].into()),
            upstream_weight: None,
            result_retention_days: Some(0),
        };
        let c = PlanCatalog::with_overrides([(PlanId::Basic, &o)]).unwrap();
        assert_eq!(c.get(PlanId::Basic).result_retention_days, None, "0: kept");
        assert_eq!(
            PlanCatalog::default()
                .get(PlanId::Professional)
                .result_retention_days,
            Some(365)
        );
        assert_eq!(c.get(PlanId::Basic).limits.max_users, 7);
        assert_eq!(c.get(PlanId::Basic).limits.requests_per_minute, 60);
        assert!(c.get(PlanId::Basic).has(Feature::AuditLogs));
        assert_eq!(c.get(PlanId::Professional).limits.max_users, 25);

        let t = LimitsOverride {
            requests_per_minute: Some(5),
            ..LimitsOverride::default()
        };
        let eff = c.effective(PlanId::Basic, &t);
        assert_eq!(
            (eff.limits.max_users, eff.limits.requests_per_minute),
            (7, 5)
        );

        let zero = PlanOverride {
            limits: LimitsOverride {
                max_users: Some(0),
                ..LimitsOverride::default()
            },
            ..PlanOverride::default()
        };
        assert!(PlanCatalog::with_overrides([(PlanId::Basic, &zero)]).is_err());
    }
}
