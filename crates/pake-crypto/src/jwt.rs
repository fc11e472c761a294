//! Access tokens: EdDSA (Ed25519) JWTs with a `kid`, verified with the algorithm pinned and every
//! claim checked, behind a cache of already-verified tokens so the hot path pays for a signature
//! check once per token, not once per request.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use pake_domain::{Role, SessionId, TenantId, UserId};
use pake_ports::{AccessClaims, IssuedToken, TokenError, TokenIssuer, TokenVerifier};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::keys::KeySet;

/// The JWT `typ` header of access tokens (RFC 9068).
pub const HEADER_TYP: &str = "at+jwt";
/// The `typ` claim of access tokens.
pub const CLAIM_TYP: &str = "access";

/// Who issues and who may accept the tokens.
#[derive(Debug, Clone)]
pub struct JwtOptions {
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
    /// Verified tokens kept in the cache.
    pub cache_capacity: u64,
}

impl Default for JwtOptions {
    fn default() -> Self {
        Self {
            issuer: "pake".into(),
            audience: "pake-api".into(),
            leeway_secs: 30,
            cache_capacity: 100_000,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    tid: String,
    role: String,
    sid: String,
    jti: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    typ: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pwd_change: bool,
}

/// Signs and verifies access tokens.
pub struct JwtTokens {
    keys: RwLock<Arc<KeySet>>,
    options: JwtOptions,
    validation: Validation,
    verified: moka::sync::Cache<String, Arc<AccessClaims>>,
}

impl JwtTokens {
    /// Tokens signed with `keys`.
    pub fn new(keys: KeySet, options: JwtOptions) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&options.issuer]);
        validation.set_audience(&[&options.audience]);
        validation.leeway = options.leeway_secs;
        validation.validate_nbf = true;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        let verified = moka::sync::Cache::builder()
            .max_capacity(options.cache_capacity)
            // Entries die well before they could matter: expiry is re-checked on every hit.
            .time_to_live(Duration::from_secs(3600))
            .build();
        Self {
            keys: RwLock::new(Arc::new(keys)),
            options,
            validation,
            verified,
        }
    }

    /// The key set in force.
    pub fn keys(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Puts a reloaded key set in force (keys added by another replica or `pake keys rotate`).
    /// Tokens already verified stay verified; new ones are checked against `keys`.
    pub fn replace_keys(&self, keys: KeySet) {
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
    }

    fn verify_uncached(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        if header.typ.as_deref() != Some(HEADER_TYP) {
            return Err(TokenError::Claims);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let keys = self.keys();
        let key = keys.keys.get(&kid).ok_or(TokenError::UnknownKey)?;
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidSignature => TokenError::Signature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    TokenError::Algorithm
                }
                ErrorKind::InvalidIssuer
                | ErrorKind::InvalidAudience
                | ErrorKind::InvalidSubject
                | ErrorKind::MissingRequiredClaim(_) => TokenError::Claims,
                _ => TokenError::Malformed,
            },
        )?;
        let c = data.claims;
        if c.typ != CLAIM_TYP {
            return Err(TokenError::Claims);
        }
        let time = |t: i64| OffsetDateTime::from_unix_timestamp(t).map_err(|_| TokenError::Claims);
        Ok(AccessClaims {
            user_id: UserId::parse(&c.sub).map_err(|_| TokenError::Claims)?,
            tenant_id: TenantId::parse(&c.tid).map_err(|_| TokenError::Claims)?,
            role: Role::parse(&c.role).map_err(|_| TokenError::Claims)?,
            session_id: SessionId::parse(&c.sid).map_err(|_| TokenError::Claims)?,
            token_id: c.jti,
            issued_at: time(c.iat)?,
            expires_at: time(c.exp)?,
            password_change_required: c.pwd_change,
        })
    }
}

impl TokenIssuer for JwtTokens {
    fn issue(&self, claims: AccessClaims) -> Result<IssuedToken, TokenError> {
        let keys = self.keys();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys.signing_kid.clone());
        header.typ = Some(HEADER_TYP.into());
        let key = keys
            .keys
            .get(&keys.signing_kid)
            .ok_or(TokenError::Signing)?;
        let body = Claims {
            iss: self.options.issuer.clone(),
            aud: self.options.audience.clone(),
            sub: claims.user_id.to_string(),
            tid: claims.tenant_id.to_string(),
            role: claims.role.as_str().into(),
            sid: claims.session_id.to_string(),
            jti: claims.token_id.clone(),
            iat: claims.issued_at.unix_timestamp(),
            nbf: claims.issued_at.unix_timestamp(),
            exp: claims.expires_at.unix_timestamp(),
            typ: CLAIM_TYP.into(),
            pwd_change: claims.password_change_required,
        };
        let token =
            jsonwebtoken::encode(&header, &body, &key.encoding).map_err(|_| TokenError::Signing)?;
        Ok(IssuedToken { token, claims })
    }

    fn jwks(&self) -> serde_json::Value {
        self.keys().jwks()
    }
}

impl TokenVerifier for JwtTokens {
    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        if let Some(claims) = self.verified.get(token) {
            // The exact same bytes verified before; only time can have made it invalid since.
            let leeway =
                time::Duration::seconds(i64::try_from(self.options.leeway_secs).unwrap_or(0));
            if claims.expires_at + leeway <= OffsetDateTime::now_utc() {
                self.verified.invalidate(token);
                return Err(TokenError::Expired);
            }
            return Ok((*claims).clone());
        }
        let claims = self.verify_uncached(token)?;
        self.verified
            .insert(token.to_owned(), Arc::new(claims.clone()));
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::hmac;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn tokens(dir: &tempfile::TempDir, options: JwtOptions) -> JwtTokens {
        JwtTokens::new(KeySet::load_or_generate(dir.path(), None).unwrap(), options)
    }

    fn claims(issued: OffsetDateTime, ttl: time::Duration) -> AccessClaims {
        AccessClaims {
            user_id: UserId::new(),
            tenant_id: TenantId::new(),
            role: Role::User,
            session_id: SessionId::new(),
            token_id: "jti-1".into(),
            issued_at: issued.replace_nanosecond(0).unwrap(),
            expires_at: (issued + ttl).replace_nanosecond(0).unwrap(),
            password_change_required: false,
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn b64(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    fn payload_of(token: &str) -> serde_json::Value {
        let part = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn issued_tokens_verify_with_every_claim() {
        let dir = tempfile::tempdir().unwrap();
        let t = tokens(&dir, JwtOptions::default());
        let c = claims(now(), time::Duration::minutes(15));
        let issued = t.issue(c.clone()).unwrap();
        assert_eq!(t.verify(&issued.token).unwrap(), c);
        assert_eq!(t.verify(&issued.token).unwrap(), c, "cached path");
        let header = jsonwebtoken::decode_header(&issued.token).unwrap();
        assert_eq!(
            (header.alg, header.typ.as_deref()),
            (Algorithm::EdDSA, Some(HEADER_TYP))
        );
        assert_eq!(header.kid.as_deref(), Some(t.keys().signing_kid()));
        let p = payload_of(&issued.token);
        for claim in [
            "iss", "aud", "sub", "tid", "role", "sid", "jti", "iat", "nbf", "exp", "typ",
        ] {
            assert!(p.get(claim).is_some(), "{claim} present");
        }
        assert_eq!(t.jwks()["keys"][0]["kid"], t.keys().signing_kid());
    }

    #[test]
    fn expired_and_not_yet_valid_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let t = tokens(&dir, JwtOptions::default());
        let old = t
            .issue(claims(
                now() - time::Duration::hours(1),
                time::Duration::minutes(15),
            ))
            .unwrap();
        assert_eq!(t.verify(&old.token), Err(TokenError::Expired));
        let future = t
            .issue(claims(
                now() + time::Duration::minutes(10),
                time::Duration::minutes(15),
            ))
            .unwrap();
        assert_eq!(t.verify(&future.token), Err(TokenError::NotYetValid));
    }

    #[test]
    fn wrong_audience_issuer_type_or_key_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let t = tokens(&dir, JwtOptions::default());
        let c = claims(now(), time::Duration::minutes(15));
        let same_keys =
            |options| JwtTokens::new(KeySet::load_or_generate(dir.path(), None).unwrap(), options);
        let other_aud = same_keys(JwtOptions {
            audience: "someone-else".into(),
            ..JwtOptions::default()
        });
        assert_eq!(
            t.verify(&other_aud.issue(c.clone()).unwrap().token),
            Err(TokenError::Claims)
        );
        let other_iss = same_keys(JwtOptions {
            issuer: "evil".into(),
            ..JwtOptions::default()
        });
        assert_eq!(
            t.verify(&other_iss.issue(c.clone()).unwrap().token),
            Err(TokenError::Claims)
        );

        let other_dir = tempfile::tempdir().unwrap();
        let stranger = tokens(&other_dir, JwtOptions::default());
        assert_eq!(
            t.verify(&stranger.issue(c.clone()).unwrap().token),
            Err(TokenError::UnknownKey)
        );

        // a JWT with typ "JWT" instead of "at+jwt", correctly signed
        let keys = t.keys();
        let key = keys.keys.get(keys.signing_kid()).unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(t.keys().signing_kid().to_owned());
        let body = payload_of(&t.issue(c.clone()).unwrap().token);
        let untyped = jsonwebtoken::encode(&header, &body, &key.encoding).unwrap();
        assert_eq!(t.verify(&untyped), Err(TokenError::Claims));
        // a refresh-typed claim set
        header.typ = Some(HEADER_TYP.into());
        let mut refresh = body.clone();
        refresh["typ"] = "refresh".into();
        let wrong_typ = jsonwebtoken::encode(&header, &refresh, &key.encoding).unwrap();
        assert_eq!(t.verify(&wrong_typ), Err(TokenError::Claims));
    }

    #[test]
    fn alg_none_hmac_confusion_and_tampering_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let t = tokens(&dir, JwtOptions::default());
        let issued = t.issue(claims(now(), time::Duration::minutes(15))).unwrap();
        let kid = t.keys().signing_kid().to_owned();
        let mut payload = payload_of(&issued.token);

        let none = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg": "none", "typ": HEADER_TYP, "kid": kid})),
            b64(&payload)
        );
        assert!(t.verify(&none).is_err());

        // HS256 "signed" with the public key as the HMAC secret
        let public = URL_SAFE_NO_PAD
            .decode(t.jwks()["keys"][0]["x"].as_str().unwrap())
            .unwrap();
        let signing_input = format!(
            "{}.{}",
            b64(&serde_json::json!({"alg": "HS256", "typ": HEADER_TYP, "kid": kid})),
            b64(&payload)
        );
        let mac = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &public),
            signing_input.as_bytes(),
        );
        let confused = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
        assert_eq!(t.verify(&confused), Err(TokenError::Algorithm));

        // a promoted role under the original signature
        payload["role"] = "super_admin".into();
        let mut parts: Vec<&str> = issued.token.split('.').collect();
        let forged_payload = b64(&payload);
        parts[1] = &forged_payload;
        assert_eq!(t.verify(&parts.join(".")), Err(TokenError::Signature));

        assert_eq!(t.verify("garbage"), Err(TokenError::Malformed));
    }
}
