//! Random values from the operating system.

use pake_domain::Password;

/// Fills a fresh array with OS randomness.
///
/// # Panics
/// When the operating system has no randomness to give, which leaves nothing safe to do.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    #[expect(
        clippy::expect_used,
        reason = "a failure here is a broken machine, not a request error"
    )]
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

/// A generated one-time password: 20 characters drawn uniformly from letters, digits and symbols
/// (about 120 bits), regenerated until it satisfies the password policy.
pub fn generate_password() -> Password {
    // No look-alike characters (0/O, 1/l/I), so a password read aloud or retyped survives.
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%*+-=?@^_";
    loop {
        let bytes = random_bytes::<64>();
        // Rejection sampling keeps the draw uniform: bytes past the last whole multiple are skipped.
        let limit = 256 - 256 % ALPHABET.len();
        let text: String = bytes
            .iter()
            .filter(|b| usize::from(**b) < limit)
            .take(20)
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        if text.len() == 20
            && let Ok(password) = Password::parse(&text, None)
        {
            return password;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let a = generate_password();
        let b = generate_password();
        assert_eq!(a.expose().chars().count(), 20);
        assert!(Password::parse(a.expose(), None).is_ok());
        assert_ne!(a, b);
    }
}

/// The secret generator port on the operating system's random source.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsSecrets;

impl pake_ports::SecretGenerator for OsSecrets {
    fn one_time_password(&self) -> Password {
        generate_password()
    }

    fn token_bytes(&self) -> [u8; 32] {
        random_bytes()
    }

    fn digest(&self, data: &[u8]) -> [u8; 32] {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }
}
