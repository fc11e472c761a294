//! Ed25519 signing keys: loaded from PEM files, or generated once into a key directory.
//!
//! Every private key (`*.pem`, PKCS#8) in the directory verifies tokens and is published in the
//! JWK set; one of them signs: the one named by `signing_kid`, else the newest file by name (files
//! are named `ed25519-<unix time>-<kid>.pem`). Rotation: add a key, publish it (it appears in the
//! JWK set at once), switch signing to it, and delete the old file once the longest access-token
//! lifetime has passed.
//!
//! Replicas that share a PostgreSQL store share their keys through it instead
//! ([`KeySet::from_stored`]): the private halves are sealed with AES-256-GCM under a key-encryption
//! key from the configuration ([`KeySealer`]), so the database alone never holds a usable key.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, EncodingKey};
use pake_ports::StoredSigningKey;
use time::OffsetDateTime;

/// A key could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing a key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not an Ed25519 PKCS#8 PEM key.
    #[error("key file {0} is not an Ed25519 private key in PKCS#8 PEM")]
    Invalid(PathBuf),
    /// Generating a key failed.
    #[error("cannot generate a key")]
    Generate,
    /// `signing_kid` names no loaded key.
    #[error("no key with kid {0}")]
    UnknownKid(String),
    /// The key-encryption key is not 32 bytes in base64.
    #[error("the key-encryption key must be 32 random bytes in base64 (openssl rand -base64 32)")]
    BadKeyEncryptionKey,
    /// A stored key does not open with the configured key-encryption key.
    #[error(
        "stored signing key {0} does not open with the configured key-encryption key \
         (every replica needs the same auth.key_encryption_key)"
    )]
    Sealed(String),
    /// The store holds no key.
    #[error("the store holds no signing key")]
    Empty,
}

/// Seals and opens private keys with AES-256-GCM under the key-encryption key; the kid is bound
/// as associated data, so a sealed key cannot be swapped under another kid.
pub struct KeySealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for KeySealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySealer(..)")
    }
}

impl KeySealer {
    /// A sealer from the base64 text of 32 random bytes.
    ///
    /// # Errors
    /// [`KeyError::BadKeyEncryptionKey`].
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let raw = STANDARD
            .decode(text.trim())
            .map_err(|_| KeyError::BadKeyEncryptionKey)?;
        if raw.len() != 32 {
            return Err(KeyError::BadKeyEncryptionKey);
        }
        let key = UnboundKey::new(&AES_256_GCM, &raw).map_err(|_| KeyError::BadKeyEncryptionKey)?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// `nonce ‖ ciphertext ‖ tag`.
    fn seal(&self, kid: &str, secret: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Generate)?;
        let mut body = secret.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut body,
            )
            .map_err(|_| KeyError::Generate)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&body);
        Ok(out)
    }

    fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let fail = || KeyError::Sealed(kid.to_owned());
        if sealed.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| fail())?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut body)
            .map_err(|_| fail())?;
        Ok(plain.to_vec())
    }
}

/// One key pair.
pub(crate) struct LoadedKey {
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    /// The raw public key, base64url (the JWK `x`).
    pub(crate) x: String,
}

/// The keys in force.
pub struct KeySet {
    pub(crate) signing_kid: String,
    pub(crate) keys: BTreeMap<String, LoadedKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("signing_kid", &self.signing_kid)
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn kid_of(public: &[u8]) -> String {
    let d = digest::digest(&digest::SHA256, public);
    d.as_ref()[..8]
        .iter()
        .fold(String::with_capacity(16), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn load_der(der: &[u8]) -> Option<(String, LoadedKey)> {
    let pair = Ed25519KeyPair::from_pkcs8(der).ok()?;
    let public = pair.public_key().as_ref().to_vec();
    let kid = kid_of(&public);
    Some((
        kid,
        LoadedKey {
            encoding: EncodingKey::from_ed_der(der),
            decoding: DecodingKey::from_ed_der(&public),
            x: URL_SAFE_NO_PAD.encode(&public),
        },
    ))
}

fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN PRIVATE KEY-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    STANDARD.decode(body.trim()).ok()
}

fn der_to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

impl KeySet {
    /// Loads every `*.pem` key in `dir`, generating a first key (file mode 0600) when there is
    /// none. `signing_kid` picks the signing key; by default the newest file signs.
    ///
    /// # Errors
    /// [`KeyError`] for unreadable or invalid files, or an unknown `signing_kid`.
    pub fn load_or_generate(dir: &Path, signing_kid: Option<&str>) -> Result<Self, KeyError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| KeyError::Io { path, source }
        };
        // a new directory is the owner's only (0700), whatever the umask
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "pem"))
            .collect();
        if files.is_empty() {
            files.push(Self::generate_into(dir)?);
        }
        files.sort();
        let mut keys = BTreeMap::new();
        let mut newest = String::new();
        for path in &files {
            let text = std::fs::read_to_string(path).map_err(io(path))?;
            let (kid, key) = pem_to_der(&text)
                .and_then(|d| load_der(&d))
                .ok_or_else(|| KeyError::Invalid(path.clone()))?;
            newest.clone_from(&kid);
            keys.insert(kid, key);
        }
        let signing_kid = match signing_kid {
            Some(kid) if keys.contains_key(kid) => kid.to_owned(),
            Some(kid) => return Err(KeyError::UnknownKid(kid.to_owned())),
            None => newest,
        };
        Ok(Self { signing_kid, keys })
    }

    /// Generates a new key file in `dir` (mode 0600) and returns its path.
    ///
    /// # Errors
    /// [`KeyError`] when generation or writing fails.
    pub fn generate_into(dir: &Path) -> Result<PathBuf, KeyError> {
        let doc =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Generate)?;
        let (kid, _) = load_der(doc.as_ref()).ok_or(KeyError::Generate)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let path = dir.join(format!("ed25519-{now:012}-{kid}.pem"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| KeyError::Io {
                path: path.clone(),
                source,
            })?;
        file.write_all(der_to_pem(doc.as_ref()).as_bytes())
            .map_err(|source| KeyError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(path)
    }

    /// A new key to store: active from `activates_at` (every replica verifies with it as soon as
    /// it has loaded it, so a key stored ahead of its activation never splits the fleet).
    ///
    /// # Errors
    /// [`KeyError::Generate`].
    pub fn generate_stored(
        sealer: &KeySealer,
        now: OffsetDateTime,
        activates_at: OffsetDateTime,
    ) -> Result<StoredSigningKey, KeyError> {
        let doc =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Generate)?;
        let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).map_err(|_| KeyError::Generate)?;
        let public = pair.public_key().as_ref().to_vec();
        let kid = kid_of(&public);
        Ok(StoredSigningKey {
            sealed_key: sealer.seal(&kid, doc.as_ref())?,
            kid,
            public_key: public,
            created_at: now,
            activates_at,
        })
    }

    /// The set of stored keys: every one verifies; the newest active at `now` signs (before any
    /// is active, the first to become active).
    ///
    /// # Errors
    /// [`KeyError::Empty`]; [`KeyError::Sealed`] when a key does not open with `sealer`.
    pub fn from_stored(
        stored: &[StoredSigningKey],
        sealer: &KeySealer,
        now: OffsetDateTime,
    ) -> Result<Self, KeyError> {
        let mut keys = BTreeMap::new();
        for k in stored {
            let der = sealer.open(&k.kid, &k.sealed_key)?;
            let (kid, key) = load_der(&der).ok_or_else(|| KeyError::Sealed(k.kid.clone()))?;
            if kid != k.kid {
                return Err(KeyError::Sealed(k.kid.clone()));
            }
            keys.insert(kid, key);
        }
        let by_activation = |k: &&StoredSigningKey| (k.activates_at, k.created_at);
        let signer = stored
            .iter()
            .filter(|k| k.activates_at <= now)
            .max_by_key(by_activation)
            .or_else(|| stored.iter().min_by_key(by_activation))
            .ok_or(KeyError::Empty)?;
        Ok(Self {
            signing_kid: signer.kid.clone(),
            keys,
        })
    }

    /// The kid of the signing key.
    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// Every kid.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// The public keys as a JWK set.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self
            .keys
            .iter()
            .map(|(kid, k)| {
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": k.x})
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn first_load_generates_a_private_0600_key_and_reloads_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = KeySet::load_or_generate(dir.path(), None).unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(
            std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = KeySet::load_or_generate(dir.path(), None).unwrap();
        assert_eq!(
            first.signing_kid(),
            again.signing_kid(),
            "the same key, not a new one"
        );
    }

    #[test]
    fn a_second_key_verifies_and_can_be_chosen_to_sign() {
        let dir = tempfile::tempdir().unwrap();
        let old = KeySet::load_or_generate(dir.path(), None).unwrap();
        let old_kid = old.signing_kid().to_owned();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        KeySet::generate_into(dir.path()).unwrap();
        let both = KeySet::load_or_generate(dir.path(), None).unwrap();
        assert_eq!(both.kids().count(), 2);
        assert_ne!(
            both.signing_kid(),
            old_kid,
            "the newest key signs by default"
        );
        let pinned = KeySet::load_or_generate(dir.path(), Some(&old_kid)).unwrap();
        assert_eq!(pinned.signing_kid(), old_kid);
        assert_eq!(both.jwks()["keys"].as_array().unwrap().len(), 2);
        assert!(KeySet::load_or_generate(dir.path(), Some("nope")).is_err());
    }

    #[test]
    fn stored_keys_open_only_with_their_key_encryption_key_and_activate_on_time() {
        let kek = STANDARD.encode([7u8; 32]);
        let sealer = KeySealer::from_base64(&kek).unwrap();
        let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let first = KeySet::generate_stored(&sealer, t0, t0).unwrap();
        let later = t0 + time::Duration::minutes(1);
        let second = KeySet::generate_stored(&sealer, t0, later).unwrap();
        assert!(
            !first
                .sealed_key
                .windows(16)
                .any(|w| w == &first.public_key[..16])
        );
        let both = [first.clone(), second.clone()];
        let now = KeySet::from_stored(&both, &sealer, t0).unwrap();
        assert_eq!(now.signing_kid(), first.kid, "the second is not active yet");
        assert_eq!(now.kids().count(), 2, "but it verifies already");
        let after = KeySet::from_stored(&both, &sealer, later).unwrap();
        assert_eq!(after.signing_kid(), second.kid);
        let other = KeySealer::from_base64(&STANDARD.encode([8u8; 32])).unwrap();
        assert!(matches!(
            KeySet::from_stored(&both, &other, t0),
            Err(KeyError::Sealed(_))
        ));
        let mut swapped = first.clone();
        swapped.kid.clone_from(&second.kid);
        assert!(KeySet::from_stored(&[swapped], &sealer, t0).is_err());
        assert!(KeySealer::from_base64("short").is_err());
        assert!(matches!(
            KeySet::from_stored(&[], &sealer, t0),
            Err(KeyError::Empty)
        ));
    }

    #[test]
    fn garbage_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.pem"), "not a key").unwrap();
        assert!(matches!(
            KeySet::load_or_generate(dir.path(), None),
            Err(KeyError::Invalid(_))
        ));
    }
}
