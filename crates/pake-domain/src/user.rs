//! Users: validated usernames, e-mail addresses and display names, and the user record.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::password::PasswordHash;
use crate::tenant::is_hostname;
use crate::{Reason, Role, TenantId, UserId, ValidationError};

/// A login name, unique inside a tenant: 3–64 characters of `a-z`, `0-9`, `.`, `_` and `-`,
/// starting with a letter or digit. Input is lower-cased, so `Alice` and `alice` are one user.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Minimum length.
    pub const MIN_LEN: usize = 3;
    /// Maximum length.
    pub const MAX_LEN: usize = 64;

    /// Parses a username.
    ///
    /// # Errors
    /// [`Reason::Empty`], [`Reason::TooShort`], [`Reason::TooLong`], [`Reason::InvalidCharacters`]
    /// or [`Reason::InvalidFormat`] (must start with a letter or digit).
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::new("username", reason);
        let name = input.trim().to_lowercase();
        if name.is_empty() {
            return Err(err(Reason::Empty));
        }
        let len = name.chars().count();
        if len < Self::MIN_LEN {
            return Err(err(Reason::TooShort { min: Self::MIN_LEN }));
        }
        if len > Self::MAX_LEN {
            return Err(err(Reason::TooLong { max: Self::MAX_LEN }));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        {
            return Err(err(Reason::InvalidCharacters));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(err(Reason::InvalidFormat));
        }
        Ok(Self(name))
    }

    /// The username as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(name: Username) -> Self {
        name.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

/// An e-mail address, unique inside a tenant. A pragmatic subset of RFC 5321: a local part of 1–64
/// characters (letters, digits and ``!#$%&'*+/=?^_`{|}~.-``, no leading, trailing or doubled dot),
/// `@`, and a hostname with at least two labels whose last is alphabetic. At most 254 characters.
/// Stored lower-cased so look-ups are case-insensitive.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Maximum length of the whole address.
    pub const MAX_LEN: usize = 254;

    /// Parses an address.
    ///
    /// # Errors
    /// [`Reason::Empty`], [`Reason::TooLong`] or [`Reason::InvalidFormat`].
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::new("email", reason);
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return Err(err(Reason::Empty));
        }
        if email.len() > Self::MAX_LEN {
            return Err(err(Reason::TooLong { max: Self::MAX_LEN }));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(err(Reason::InvalidFormat));
        };
        let local_ok = (1..=64).contains(&local.len())
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let tld_ok = domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if !local_ok || !domain.contains('.') || !is_hostname(domain) || !tld_ok {
            return Err(err(Reason::InvalidFormat));
        }
        Ok(Self(email))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// A human-readable name (a person's full name, a tenant's display name): 1–200 characters after
/// trimming, no control characters. Inner runs of whitespace collapse to one space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    /// Maximum length in characters.
    pub const MAX_LEN: usize = 200;

    /// Parses a display name.
    ///
    /// # Errors
    /// [`Reason::Empty`], [`Reason::TooLong`] or [`Reason::InvalidCharacters`].
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::new("display_name", reason);
        if input.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(err(Reason::InvalidCharacters));
        }
        let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(err(Reason::Empty));
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err(err(Reason::TooLong { max: Self::MAX_LEN }));
        }
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(name: DisplayName) -> Self {
        name.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a user may use the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// May log in.
    Active,
    /// Switched off by an admin: cannot log in, tokens stop working.
    Disabled,
}

impl UserStatus {
    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// Parses the snake_case name.
    ///
    /// # Errors
    /// [`Reason::UnknownValue`] for any other text.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            _ => Err(ValidationError::new("status", Reason::UnknownValue)),
        }
    }
}

/// A user as the repositories keep it.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its id.
    pub id: UserId,
    /// Login name, unique in the tenant.
    pub username: Username,
    /// E-mail address, unique in the tenant.
    pub email: Email,
    /// Optional full name.
    pub full_name: Option<DisplayName>,
    /// Role in the tenant.
    pub role: Role,
    /// Active or disabled.
    pub status: UserStatus,
    /// The argon2id PHC string of its password.
    pub password_hash: PasswordHash,
    /// Set for generated (one-time) passwords: the user must choose a new one.
    pub must_change_password: bool,
    /// Consecutive failed logins since the last success.
    pub failed_login_attempts: u32,
    /// Locked until this instant after too many failures.
    pub locked_until: Option<OffsetDateTime>,
    /// Access tokens issued before this instant are refused (logout-all, password change, …).
    pub tokens_valid_after: OffsetDateTime,
    /// Last successful login.
    pub last_login_at: Option<OffsetDateTime>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl User {
    /// A new active user of `tenant_id` created at `now`, with no full name, no failed logins and a
    /// password that is not one-time (set `full_name` and `must_change_password` as needed).
    pub fn new(
        tenant_id: TenantId,
        username: Username,
        email: Email,
        role: Role,
        password_hash: PasswordHash,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            tenant_id,
            id: UserId::new(),
            username,
            email,
            full_name: None,
            role,
            status: UserStatus::Active,
            password_hash,
            must_change_password: false,
            failed_login_attempts: 0,
            locked_until: None,
            tokens_valid_after: now,
            last_login_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether the account is locked at `now`.
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn username_rules() {
        assert_eq!(Username::parse(" Alice.B ").unwrap().as_str(), "alice.b");
        assert_eq!(
            Username::parse("ab").unwrap_err().reason,
            Reason::TooShort { min: 3 }
        );
        assert_eq!(
            Username::parse(&"a".repeat(65)).unwrap_err().reason,
            Reason::TooLong { max: 64 }
        );
        assert_eq!(
            Username::parse("al ice").unwrap_err().reason,
            Reason::InvalidCharacters
        );
        assert_eq!(
            Username::parse("_alice").unwrap_err().reason,
            Reason::InvalidFormat
        );
        assert_eq!(Username::parse("   ").unwrap_err().reason, Reason::Empty);
    }

    #[test]
    fn email_rules() {
        assert_eq!(
            Email::parse(" Alice@Example.ORG ").unwrap().as_str(),
            "alice@example.org"
        );
        assert!(Email::parse("a.b+tag@sub.example.co").is_ok());
        for bad in [
            "",
            "plain",
            "@example.org",
            "a@",
            "a@b",
            "a@@b.org",
            "a b@c.org",
            ".a@b.org",
            "a.@b.org",
            "a..b@c.org",
            "a@-b.org",
            "a@b.c0m",
            "a@b.c",
            "a@b_c.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@{}.org", "a".repeat(64), "b".repeat(200));
        assert_eq!(
            Email::parse(&long).unwrap_err().reason,
            Reason::TooLong { max: 254 }
        );
    }

    #[test]
    fn display_name_rules() {
        assert_eq!(
            DisplayName::parse("  Ada   Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert_eq!(
            DisplayName::parse(" \t ").unwrap_err().reason,
            Reason::Empty
        );
        assert_eq!(
            DisplayName::parse("a\u{0}b").unwrap_err().reason,
            Reason::InvalidCharacters
        );
        assert_eq!(
            DisplayName::parse(&"x".repeat(201)).unwrap_err().reason,
            Reason::TooLong { max: 200 }
        );
        assert_eq!(DisplayName::parse("Zoë Ünal").unwrap().as_str(), "Zoë Ünal");
    }

    proptest! {
        #[test]
        fn accepted_emails_are_well_formed(input in "\\PC{0,80}") {
            if let Ok(email) = Email::parse(&input) {
                let s = email.as_str();
                prop_assert!(s.len() <= 254);
                prop_assert_eq!(s.matches('@').count(), 1);
                let lower = s.to_lowercase();
                prop_assert_eq!(s, lower.as_str());
                prop_assert_eq!(Email::parse(s).unwrap(), email.clone());
            }
        }

        #[test]
        fn generated_emails_are_accepted(
            local in "[a-z0-9]{1,20}([._+-][a-z0-9]{1,10}){0,2}",
            domain in "[a-z0-9]{1,20}(-[a-z0-9]{1,10})?(\\.[a-z0-9]{1,10}){0,2}\\.[a-z]{2,6}",
        ) {
            let text = format!("{local}@{domain}");
            let parsed = Email::parse(&text).unwrap();
            prop_assert_eq!(parsed.as_str(), text.as_str());
        }

        #[test]
        fn usernames_never_contain_uppercase_or_space(input in "\\PC{0,70}") {
            if let Ok(name) = Username::parse(&input) {
                prop_assert!(!name.as_str().chars().any(|c| c.is_uppercase() || c.is_whitespace()));
            }
        }
    }
}
