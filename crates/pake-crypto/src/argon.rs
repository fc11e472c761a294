//! argon2id behind the password-hasher port.

use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHasher as _, PasswordVerifier as _, Version,
};
use async_trait::async_trait;
use pake_domain::{Password, PasswordHash};
use pake_ports::{HashError, PasswordCheck, PasswordHasher};
use tokio::sync::Semaphore;

use crate::generate::generate_password;

/// argon2id parameters and the concurrency bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingOptions {
    /// Memory in KiB (OWASP baseline: 19456).
    pub memory_kib: u32,
    /// Iterations (OWASP baseline: 2).
    pub iterations: u32,
    /// Lanes (OWASP baseline: 1).
    pub parallelism: u32,
    /// Hashes allowed to run at once (default: the number of CPUs).
    pub max_concurrent: usize,
}

impl Default for HashingOptions {
    fn default() -> Self {
        Self {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
            max_concurrent: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        }
    }
}

/// The argon2id password hasher.
#[derive(Clone)]
pub struct Argon2Hasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    permits: Semaphore,
    max_concurrent: usize,
    /// Memory blocks of finished hashes, reused by the next: each hash needs `memory_kib` of
    /// working memory, and allocating (and the kernel zeroing) 19 MiB per login costs time and
    /// leaves freed blocks resident in every thread's allocator arena. At most one block per permit
    /// ever exists.
    memory: Mutex<Vec<Vec<Block>>>,
    /// A hash of a random password with the current parameters: unknown users are checked against
    /// it so their failures cost the same time as a wrong password.
    dummy: String,
}

fn internal(err: impl std::fmt::Display) -> HashError {
    HashError::Internal(err.to_string().into())
}

impl Argon2Hasher {
    /// A hasher with `options`; computes the dummy hash once.
    ///
    /// # Errors
    /// [`HashError::Internal`] for parameters argon2 refuses.
    pub fn new(options: HashingOptions) -> Result<Self, HashError> {
        let params = Params::new(
            options.memory_kib,
            options.iterations,
            options.parallelism,
            None,
        )
        .map_err(internal)?;
        let dummy = argon(&params)
            .hash_password(generate_password().expose().as_bytes())
            .map_err(internal)?
            .to_string();
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                permits: Semaphore::new(options.max_concurrent.max(1)),
                max_concurrent: options.max_concurrent.max(1),
                memory: Mutex::new(Vec::new()),
                dummy,
            }),
        })
    }

    /// How many hashes run at once at most (the permits a fair gate in front should hand out).
    pub fn max_concurrent(&self) -> usize {
        self.inner.max_concurrent
    }

    /// Runs `work` on the blocking pool once a hashing permit is free.
    async fn bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self.inner.permits.acquire().await.map_err(internal)?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(internal)
    }
}

fn argon(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

impl Inner {
    /// Runs `f` with a reusable memory block for the current parameters.
    fn with_memory<T>(&self, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let taken = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let mut blocks = taken.unwrap_or_else(|| vec![Block::default(); self.params.block_count()]);
        let result = f(&mut blocks);
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(blocks);
        result
    }

    /// argon2id of `password` with `salt` under the current parameters, into a PHC string.
    fn hash_phc(&self, password: &[u8], salt: &[u8]) -> Result<String, HashError> {
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.with_memory(|blocks| {
            argon(&self.params).hash_password_into_with_memory(password, salt, &mut out, blocks)
        })
        .map_err(internal)?;
        let phc = argon2::PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(internal)?,
            salt: Some(Salt::new(salt).map_err(internal)?),
            hash: Some(Output::new(&out).map_err(internal)?),
        };
        Ok(phc.to_string())
    }

    /// Whether `candidate` matches the parsed hash. Hashes with the current parameters are
    /// recomputed in pooled memory; older ones through the library (they are rehashed on login).
    fn matches(&self, candidate: &[u8], parsed: &argon2::PasswordHash) -> Result<bool, HashError> {
        if self.is_current(parsed)
            && let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash)
        {
            let mut out = vec![0u8; expected.len()];
            let params = Params::new(
                self.params.m_cost(),
                self.params.t_cost(),
                self.params.p_cost(),
                Some(expected.len()),
            )
            .map_err(internal)?;
            self.with_memory(|blocks| {
                argon(&params).hash_password_into_with_memory(
                    candidate,
                    salt.as_ref(),
                    &mut out,
                    blocks,
                )
            })
            .map_err(|_| HashError::Malformed)?;
            return Ok(aws_lc_rs::constant_time::verify_slices_are_equal(
                &out,
                expected.as_bytes(),
            )
            .is_ok());
        }
        match argon(&self.params).verify_password(candidate, parsed) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(_) => Err(HashError::Malformed),
        }
    }

    /// Whether a stored hash uses argon2id with the current parameters.
    fn is_current(&self, parsed: &argon2::PasswordHash) -> bool {
        parsed.algorithm.as_str() == argon2::ARGON2ID_IDENT.as_str()
            && Params::try_from(parsed).is_ok_and(|p| {
                (p.m_cost(), p.t_cost(), p.p_cost())
                    == (
                        self.params.m_cost(),
                        self.params.t_cost(),
                        self.params.p_cost(),
                    )
            })
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let bytes = password.expose().as_bytes().to_vec();
        let salt: [u8; 16] = crate::random_bytes();
        self.bounded(move |inner| inner.hash_phc(&bytes, &salt))
            .await?
            .map(PasswordHash::new)
    }

    async fn verify(
        &self,
        candidate: &str,
        hash: Option<&PasswordHash>,
    ) -> Result<PasswordCheck, HashError> {
        let candidate = candidate.as_bytes().to_vec();
        let stored = hash.map(|h| h.as_str().to_owned());
        self.bounded(move |inner| {
            let known = stored.is_some();
            let phc = stored.unwrap_or_else(|| inner.dummy.clone());
            let parsed = argon2::PasswordHash::new(&phc).map_err(|_| HashError::Malformed)?;
            let matches = inner.matches(&candidate, &parsed)?;
            if !(known && matches) {
                return Ok(PasswordCheck::Mismatch);
            }
            Ok(PasswordCheck::Match {
                needs_rehash: !inner.is_current(&parsed),
            })
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> HashingOptions {
        HashingOptions {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        }
    }

    #[tokio::test]
    async fn hashes_verify_and_mismatch() {
        let hasher = Argon2Hasher::new(cheap()).unwrap();
        let pw = Password::parse("Correct-Horse-9-Battery", None).unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert_eq!(
            hasher
                .verify("Correct-Horse-9-Battery", Some(&hash))
                .await
                .unwrap(),
            PasswordCheck::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher.verify("wrong", Some(&hash)).await.unwrap(),
            PasswordCheck::Mismatch
        );
        // unknown user: checked against the dummy, never a match
        assert_eq!(
            hasher
                .verify("Correct-Horse-9-Battery", None)
                .await
                .unwrap(),
            PasswordCheck::Mismatch
        );
        let garbage = PasswordHash::new("not-a-phc".into());
        assert!(matches!(
            hasher.verify("x", Some(&garbage)).await,
            Err(HashError::Malformed)
        ));
    }

    #[tokio::test]
    async fn default_parameters_are_the_owasp_baseline() {
        let hasher = Argon2Hasher::new(HashingOptions::default()).unwrap();
        let pw = Password::parse("Correct-Horse-9-Battery", None).unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
    }

    #[tokio::test]
    async fn pooled_hashes_are_standard_phc_strings() {
        // what the pooled path writes, the library verifies, and the other way round
        let hasher = Argon2Hasher::new(cheap()).unwrap();
        let pw = Password::parse("Correct-Horse-9-Battery", None).unwrap();
        let ours = hasher.hash(&pw).await.unwrap();
        let parsed = argon2::PasswordHash::new(ours.as_str()).unwrap();
        let params = Params::new(1024, 1, 1, None).unwrap();
        assert!(
            argon(&params)
                .verify_password(pw.expose().as_bytes(), &parsed)
                .is_ok()
        );
        let library = argon(&params)
            .hash_password(pw.expose().as_bytes())
            .unwrap()
            .to_string();
        assert_eq!(
            hasher
                .verify(pw.expose(), Some(&PasswordHash::new(library)))
                .await
                .unwrap(),
            PasswordCheck::Match {
                needs_rehash: false
            }
        );
        assert_ne!(
            hasher.hash(&pw).await.unwrap(),
            ours,
            "a fresh salt each time"
        );
    }

    #[tokio::test]
    async fn outdated_parameters_ask_for_a_rehash() {
        let old = Argon2Hasher::new(cheap()).unwrap();
        let pw = Password::parse("Correct-Horse-9-Battery", None).unwrap();
        let old_hash = old.hash(&pw).await.unwrap();
        let new = Argon2Hasher::new(HashingOptions {
            memory_kib: 2048,
            ..cheap()
        })
        .unwrap();
        assert_eq!(
            new.verify(pw.expose(), Some(&old_hash)).await.unwrap(),
            PasswordCheck::Match { needs_rehash: true }
        );
    }
}
