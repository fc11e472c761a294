//! The one validation error every parser of this crate returns.

use std::fmt;

/// A value failed validation. `field` names the input that was wrong so the HTTP layer can report
/// field errors; `reason` says what was wrong in a stable, machine-readable way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// Name of the offending field (`"email"`, `"password"`, …).
    pub field: &'static str,
    /// What was wrong with it.
    pub reason: Reason,
}

impl ValidationError {
    /// An error for `field` with `reason`.
    pub const fn new(field: &'static str, reason: Reason) -> Self {
        Self { field, reason }
    }

    /// The same error reported under another field name (for example `admin_email` instead of
    /// `email` when a tenant is created together with its admin).
    #[must_use]
    pub const fn for_field(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }
}

/// Why a value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Empty, or only whitespace.
    Empty,
    /// Shorter than the minimum (in characters).
    TooShort {
        /// Minimum length.
        min: usize,
    },
    /// Longer than the maximum (in characters).
    TooLong {
        /// Maximum length.
        max: usize,
    },
    /// Contains characters the type does not allow.
    InvalidCharacters,
    /// Does not have the required shape (for example an e-mail without `@`).
    InvalidFormat,
    /// A name reserved by the platform.
    Reserved,
    /// A password lacks a character class the policy requires.
    MissingCharacterClass {
        /// Which class: `"uppercase letter"`, `"lowercase letter"`, `"digit"` or `"symbol"`.
        class: &'static str,
    },
    /// A password found on the list of common passwords.
    CommonPassword,
    /// A password that contains the username.
    ContainsUsername,
    /// A value outside the allowed range.
    OutOfRange {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A value that is not one of the allowed names.
    UnknownValue,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("must not be empty"),
            Self::TooShort { min } => write!(f, "must be at least {min} characters long"),
            Self::TooLong { max } => write!(f, "must be at most {max} characters long"),
            Self::InvalidCharacters => f.write_str("contains characters that are not allowed"),
            Self::InvalidFormat => f.write_str("is not in a valid format"),
            Self::Reserved => f.write_str("is reserved"),
            Self::MissingCharacterClass { class } => write!(f, "must contain at least one {class}"),
            Self::CommonPassword => f.write_str("is too common"),
            Self::ContainsUsername => f.write_str("must not contain the username"),
            Self::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Self::UnknownValue => f.write_str("is not one of the allowed values"),
        }
    }
}

impl Reason {
    /// A stable snake_case code for API clients.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::InvalidCharacters => "invalid_characters",
            Self::InvalidFormat => "invalid_format",
            Self::Reserved => "reserved",
            Self::MissingCharacterClass { .. } => "missing_character_class",
            Self::CommonPassword => "common_password",
            Self::ContainsUsername => "contains_username",
            Self::OutOfRange { .. } => "out_of_range",
            Self::UnknownValue => "unknown_value",
        }
    }
}
