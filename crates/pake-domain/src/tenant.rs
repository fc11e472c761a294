//! Tenants: their validated slug and domain, their lifecycle, and the tenant record.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::plan::{LimitsOverride, PlanId};
use crate::user::DisplayName;
use crate::{Reason, TenantId, ValidationError};

/// A tenant's unique, URL-safe name (`acme-research`): 3–63 characters of `a-z`, `0-9` and `-`,
/// starting with a letter, with no leading, trailing or doubled hyphen. Input is lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantSlug(String);

impl TenantSlug {
    /// The reserved slug of the platform tenant, home of the super admins.
    pub const PLATFORM: &'static str = "platform";
    /// Minimum length in characters.
    pub const MIN_LEN: usize = 3;
    /// Maximum length in characters (a DNS label).
    pub const MAX_LEN: usize = 63;
    /// Names no customer tenant may take.
    pub const RESERVED: &'static [&'static str] = &[
        "platform",
        "admin",
        "administrator",
        "api",
        "www",
        "system",
        "root",
        "pake",
        "support",
        "internal",
        "metrics",
        "health",
        "docs",
        "static",
        "auth",
        "login",
        "null",
        "default",
    ];

    /// Parses a slug a customer asks for; reserved names are refused.
    ///
    /// # Errors
    /// [`Reason::Empty`], [`Reason::TooShort`], [`Reason::TooLong`], [`Reason::InvalidCharacters`],
    /// [`Reason::InvalidFormat`] (hyphen rules) or [`Reason::Reserved`].
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let slug = Self::parse_any(input)?;
        if Self::RESERVED.contains(&slug.0.as_str()) {
            return Err(ValidationError::new("name", Reason::Reserved));
        }
        Ok(slug)
    }

    /// Parses a slug to look a tenant up: the same shape rules, but reserved names are allowed, so
    /// the platform tenant can be named at login.
    ///
    /// # Errors
    /// As [`TenantSlug::parse`], except [`Reason::Reserved`].
    pub fn parse_any(input: &str) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::new("name", reason);
        let slug = input.trim().to_ascii_lowercase();
        if slug.is_empty() {
            return Err(err(Reason::Empty));
        }
        let len = slug.chars().count();
        if len < Self::MIN_LEN {
            return Err(err(Reason::TooShort { min: Self::MIN_LEN }));
        }
        if len > Self::MAX_LEN {
            return Err(err(Reason::TooLong { max: Self::MAX_LEN }));
        }
        if !slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(err(Reason::InvalidCharacters));
        }
        let starts_with_letter = slug.starts_with(|c: char| c.is_ascii_lowercase());
        if !starts_with_letter || slug.ends_with('-') || slug.contains("--") {
            return Err(err(Reason::InvalidFormat));
        }
        Ok(Self(slug))
    }

    /// The platform tenant's slug.
    pub fn platform() -> Self {
        Self(Self::PLATFORM.to_owned())
    }

    /// Whether this is the platform tenant's slug.
    pub fn is_platform(&self) -> bool {
        self.0 == Self::PLATFORM
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantSlug {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse_any(&value)
    }
}

impl From<TenantSlug> for String {
    fn from(slug: TenantSlug) -> Self {
        slug.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantSlug({})", self.0)
    }
}

/// A tenant's own internet domain (`example.org`), optional. Lower-cased hostname of dot-separated
/// labels (1–63 characters of letters, digits and inner hyphens), at most 253 characters, at least
/// two labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantDomain(String);

impl TenantDomain {
    /// Parses a domain name.
    ///
    /// # Errors
    /// [`Reason::Empty`], [`Reason::TooLong`] or [`Reason::InvalidFormat`].
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::new("domain", reason);
        let domain = input.trim().trim_end_matches('.').to_ascii_lowercase();
        if domain.is_empty() {
            return Err(err(Reason::Empty));
        }
        if domain.len() > 253 {
            return Err(err(Reason::TooLong { max: 253 }));
        }
        if !is_hostname(&domain) || !domain.contains('.') {
            return Err(err(Reason::InvalidFormat));
        }
        Ok(Self(domain))
    }

    /// The domain as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantDomain {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantDomain> for String {
    fn from(domain: TenantDomain) -> Self {
        domain.0
    }
}

/// Whether `text` is a syntactically valid DNS hostname (LDH labels).
pub(crate) fn is_hostname(text: &str) -> bool {
    text.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    })
}

/// Where a tenant is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Created; the background provisioning job has not finished yet. Nobody can log in.
    Provisioning,
    /// In service.
    Active,
    /// Switched off by the operator (or a soft delete); data kept, nobody can log in.
    Suspended,
    /// Deleted; its data is being or has been purged. Final.
    Deleted,
}

impl TenantStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [Self; 4] = [
        Self::Provisioning,
        Self::Active,
        Self::Suspended,
        Self::Deleted,
    ];

    /// Whether a tenant may move from `self` to `next`. Staying in the same status is not a
    /// transition and is refused.
    pub const fn can_transition_to(self, next: Self) -> bool {
        match self {
            Self::Provisioning => matches!(next, Self::Active | Self::Deleted),
            Self::Active => matches!(next, Self::Suspended | Self::Deleted),
            Self::Suspended => matches!(next, Self::Active | Self::Deleted),
            Self::Deleted => false,
        }
    }

    /// Whether the tenant's users may log in and use their tokens.
    pub const fn is_usable(self) -> bool {
        matches!(self, Self::Active)
    }

    /// The snake_case name, as stored and shown in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }

    /// Parses the snake_case name.
    ///
    /// # Errors
    /// [`Reason::UnknownValue`] for any other text.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or(ValidationError::new("status", Reason::UnknownValue))
    }
}

/// Progress of the background job that provisions a tenant, visible on the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Provisioning {
    /// Steps done so far, by name, in order.
    pub completed_steps: Vec<String>,
    /// How many times the job has been attempted.
    pub attempts: u32,
    /// The last failure, if the last attempt failed.
    pub last_error: Option<String>,
    /// When provisioning finished.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// A tenant (organisation) as the repositories keep it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    /// Its id; also the `tenant_id` of every row it owns.
    pub id: TenantId,
    /// Unique name.
    pub slug: TenantSlug,
    /// Human-readable name.
    pub display_name: DisplayName,
    /// Optional internet domain.
    pub domain: Option<TenantDomain>,
    /// Its plan.
    pub plan: PlanId,
    /// Lifecycle status.
    pub status: TenantStatus,
    /// Per-tenant limit overrides set by the super admin.
    pub limits_override: LimitsOverride,
    /// Free-form settings its admin manages (a JSON object).
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Provisioning progress.
    pub provisioning: Provisioning,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl Tenant {
    /// Whether this is the platform tenant.
    pub fn is_platform(&self) -> bool {
        self.slug.is_platform()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slug_rules() {
        assert_eq!(
            TenantSlug::parse(" Acme-Research ").unwrap().as_str(),
            "acme-research"
        );
        assert_eq!(TenantSlug::parse("").unwrap_err().reason, Reason::Empty);
        assert_eq!(
            TenantSlug::parse("ab").unwrap_err().reason,
            Reason::TooShort { min: 3 }
        );
        assert_eq!(
            TenantSlug::parse(&"a".repeat(64)).unwrap_err().reason,
            Reason::TooLong { max: 63 }
        );
        assert_eq!(
            TenantSlug::parse("acme_1").unwrap_err().reason,
            Reason::InvalidCharacters
        );
        for bad in ["1acme", "-acme", "acme-", "ac--me"] {
            assert_eq!(
                TenantSlug::parse(bad).unwrap_err().reason,
                Reason::InvalidFormat,
                "{bad}"
            );
        }
        assert_eq!(
            TenantSlug::parse("platform").unwrap_err().reason,
            Reason::Reserved
        );
        assert!(TenantSlug::parse_any("platform").unwrap().is_platform());
    }

    #[test]
    fn domain_rules() {
        assert_eq!(
            TenantDomain::parse("Example.ORG.").unwrap().as_str(),
            "example.org"
        );
        for bad in [
            "",
            "localhost",
            "exa mple.org",
            "-a.org",
            "a..org",
            "a_b.org",
        ] {
            assert!(TenantDomain::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_transitions() {
        use TenantStatus::*;
        let allowed = [
            (Provisioning, Active),
            (Provisioning, Deleted),
            (Active, Suspended),
            (Active, Deleted),
            (Suspended, Active),
            (Suspended, Deleted),
        ];
        for from in TenantStatus::ALL {
            for to in TenantStatus::ALL {
                assert_eq!(
                    from.can_transition_to(to),
                    allowed.contains(&(from, to)),
                    "{from:?}->{to:?}"
                );
            }
        }
        assert!(Active.is_usable());
        assert!(!Suspended.is_usable() && !Provisioning.is_usable() && !Deleted.is_usable());
        for s in TenantStatus::ALL {
            assert_eq!(TenantStatus::parse(s.as_str()), Ok(s));
        }
        assert!(TenantStatus::parse("gone").is_err());
    }

    proptest! {
        #[test]
        fn accepted_slugs_satisfy_every_rule(input in "\\PC{0,70}") {
            if let Ok(slug) = TenantSlug::parse(&input) {
                let s = slug.as_str();
                prop_assert!((3..=63).contains(&s.len()));
                prop_assert!(s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
                prop_assert!(s.starts_with(|c: char| c.is_ascii_lowercase()));
                prop_assert!(!s.ends_with('-') && !s.contains("--"));
                prop_assert!(!TenantSlug::RESERVED.contains(&s));
                // parsing is idempotent
                prop_assert_eq!(TenantSlug::parse(s).unwrap(), slug.clone());
            }
        }

        #[test]
        fn well_formed_slugs_are_accepted(s in "[a-z][a-z0-9]{2,20}(-[a-z0-9]{1,20}){0,2}") {
            prop_assume!(!TenantSlug::RESERVED.contains(&s.as_str()));
            let parsed = TenantSlug::parse(&s).unwrap();
            prop_assert_eq!(parsed.as_str(), s.as_str());
        }
    }
}
