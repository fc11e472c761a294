//! Passwords: the policy of the product brief, and the stored hash.
//!
//! Policy: 8–128 characters with an uppercase letter, a lowercase letter, a digit and a symbol; not a
//! common password (a built-in list, matched after undoing look-alike substitutions); not containing
//! the username. Applied on every path that sets a password.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use crate::{Reason, Username, ValidationError};

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// A test of one character class.
type CharTest = fn(&char) -> bool;

/// A password that satisfies the policy. Its `Debug` never shows the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Minimum length in characters.
    pub const MIN_LEN: usize = 8;
    /// Maximum length in characters.
    pub const MAX_LEN: usize = 128;

    /// Checks `input` against the policy. `username`, when known, must not appear in it (compared
    /// case-insensitively).
    ///
    /// # Errors
    /// [`Reason::TooShort`], [`Reason::TooLong`], [`Reason::MissingCharacterClass`],
    /// [`Reason::CommonPassword`] or [`Reason::ContainsUsername`], all on field `password`.
    pub fn parse(input: &str, username: Option<&Username>) -> Result<Self, ValidationError> {
        let err = |reason| ValidationError::new("password", reason);
        let len = input.chars().count();
        if len < Self::MIN_LEN {
            return Err(err(Reason::TooShort { min: Self::MIN_LEN }));
        }
        if len > Self::MAX_LEN {
            return Err(err(Reason::TooLong { max: Self::MAX_LEN }));
        }
        let classes: [(&'static str, CharTest); 4] = [
            ("uppercase letter", |c| c.is_uppercase()),
            ("lowercase letter", |c| c.is_lowercase()),
            ("digit", |c| c.is_ascii_digit()),
            ("symbol", |c| {
                !c.is_alphanumeric() && (*c == ' ' || !c.is_whitespace())
            }),
        ];
        for (class, test) in classes {
            if !input.chars().any(|c| test(&c)) {
                return Err(err(Reason::MissingCharacterClass { class }));
            }
        }
        if is_common(input) {
            return Err(err(Reason::CommonPassword));
        }
        if let Some(name) = username
            && input.to_lowercase().contains(name.as_str())
        {
            return Err(err(Reason::ContainsUsername));
        }
        Ok(Self(input.to_owned()))
    }

    /// The password text, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Whether `input` is a common password, or a common password dressed up with case, look-alike
/// characters and leading or trailing digits and symbols.
fn is_common(input: &str) -> bool {
    fn fold(text: &str) -> String {
        text.chars()
            .map(|c| match c {
                '0' => 'o',
                '1' | '!' => 'i',
                '3' => 'e',
                '4' | '@' => 'a',
                '5' | '$' => 's',
                '7' => 't',
                other => other,
            })
            .collect()
    }
    let lower = input.to_lowercase();
    // The letters-only core: digits and symbols stripped from both ends ("!Dragon2024" → "dragon").
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    let candidates = [lower.clone(), fold(&lower), core.to_owned(), fold(core)];
    candidates
        .iter()
        .any(|c| c.chars().count() >= 3 && COMMON.contains(c.as_str()))
}

/// A stored password hash (a PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$…`). Its `Debug`
/// never shows the text.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string produced by a hasher or read from a store.
    pub fn new(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reason(pw: &str) -> Option<Reason> {
        Password::parse(pw, None).err().map(|e| e.reason)
    }

    #[test]
    fn policy_rules() {
        assert_eq!(reason("Ab1!"), Some(Reason::TooShort { min: 8 }));
        assert_eq!(
            reason(&format!("Ab1!{}", "x".repeat(125))),
            Some(Reason::TooLong { max: 128 })
        );
        assert_eq!(
            reason("abcdefg1!"),
            Some(Reason::MissingCharacterClass {
                class: "uppercase letter"
            })
        );
        assert_eq!(
            reason("ABCDEFG1!"),
            Some(Reason::MissingCharacterClass {
                class: "lowercase letter"
            })
        );
        assert_eq!(
            reason("Abcdefgh!"),
            Some(Reason::MissingCharacterClass { class: "digit" })
        );
        assert_eq!(
            reason("Abcdefgh1"),
            Some(Reason::MissingCharacterClass { class: "symbol" })
        );
        assert_eq!(reason("Correct-Horse-9-Battery"), None);
        assert_eq!(
            reason("Zoë Ünal 2024 sings"),
            None,
            "a space counts as a symbol"
        );
    }

    #[test]
    fn common_passwords_are_refused_even_when_dressed_up() {
        for pw in [
            "Password123!",
            "P@ssw0rd!",
            "Qwerty123!",
            "!Dragon2024",
            "Welcome1!",
            "Summer2026$",
        ] {
            assert_eq!(reason(pw), Some(Reason::CommonPassword), "{pw}");
        }
    }

    #[test]
    fn username_must_not_appear() {
        let name = Username::parse("grace").unwrap();
        let err = Password::parse("xGRACEx-99!", Some(&name)).unwrap_err();
        assert_eq!(err.reason, Reason::ContainsUsername);
        assert!(Password::parse("Turing-Machine-7", Some(&name)).is_ok());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let pw = Password::parse("Correct-Horse-9-Battery", None).unwrap();
        assert!(!format!("{pw:?}").contains("Horse"));
        let hash = PasswordHash::new("$argon2id$secret".into());
        assert!(!format!("{hash:?}").contains("secret"));
    }

    proptest! {
        #[test]
        fn accepted_passwords_satisfy_every_rule(input in "\\PC{0,140}") {
            if let Ok(pw) = Password::parse(&input, None) {
                let s = pw.expose();
                let n = s.chars().count();
                prop_assert!((8..=128).contains(&n));
                prop_assert!(s.chars().any(char::is_uppercase));
                prop_assert!(s.chars().any(char::is_lowercase));
                prop_assert!(s.chars().any(|c| c.is_ascii_digit()));
                prop_assert!(!is_common(s));
            }
        }

        #[test]
        fn strong_random_passwords_are_accepted(
            core in "[A-Z][a-z]{6,20}[0-9]{2}[!#%&*+=?-][a-z]{3}[A-Z]",
        ) {
            // long random cores are never on the list
            prop_assert!(Password::parse(&core, None).is_ok(), "{core}");
        }
    }
}
