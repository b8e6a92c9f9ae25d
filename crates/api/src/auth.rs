//! Bearer tokens: verifying them into a [`Principal`] and minting them for operators.
//!
//! The algorithm is pinned by configuration: HS256 with a shared secret (the embedded default),
//! or RS256 / EdDSA public keys selected by the token's `kid` for an external identity
//! provider. Expired, not-yet-valid, wrong-issuer and wrong-audience tokens are refused.

use aidgraph_domain::access::Principal;
use aidgraph_domain::vocab::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// The claims aidgraph reads and writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token is for.
    pub sub: String,
    /// Role, lower case: admin, coordinator, provider, recipient, viewer.
    pub role: String,
    /// A provider's organisation reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// A recipient's country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// Why a token was refused; the text is safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header or token.
    #[error("a bearer token is required")]
    Missing,
    /// Expired.
    #[error("the token has expired")]
    Expired,
    /// Signature, issuer, audience, algorithm or shape is wrong.
    #[error("the token is not valid: {0}")]
    Invalid(String),
    /// The keys or secret configured cannot be used.
    #[error("{0}")]
    Setup(String),
}

/// A secret that does not show itself in logs or debug output.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// How tokens are checked.
#[derive(Clone)]
pub struct Authenticator {
    issuer: String,
    audience: String,
    keys: Keys,
}

#[derive(Clone)]
enum Keys {
    Shared {
        encoding: EncodingKey,
        decoding: DecodingKey,
    },
    Public {
        algorithm: Algorithm,
        by_kid: HashMap<String, DecodingKey>,
    },
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Parses a role name as written in tokens and on the command line.
pub fn parse_role(text: &str) -> Option<Role> {
    text.to_ascii_uppercase().parse().ok()
}

impl Authenticator {
    /// HS256 with a shared secret; this side can also mint tokens.
    pub fn shared_secret(secret: &Secret, issuer: &str, audience: &str) -> Result<Self, AuthError> {
        if secret.0.len() < 32 {
            return Err(AuthError::Setup(
                "the signing secret must have at least 32 bytes".into(),
            ));
        }
        let encoding =
            EncodingKey::from_secret(&secret.0).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let decoding =
            DecodingKey::from_secret(&secret.0).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let auth = Authenticator {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys: Keys::Shared { encoding, decoding },
        };
        auth.self_test()?;
        Ok(auth)
    }

    /// RS256 or EdDSA public keys by key id (PEM), for tokens from an identity provider.
    pub fn public_keys(
        algorithm: Algorithm,
        pems: &[(String, Vec<u8>)],
        issuer: &str,
        audience: &str,
    ) -> Result<Self, AuthError> {
        let mut by_kid = HashMap::new();
        for (kid, pem) in pems {
            let key = match algorithm {
                Algorithm::RS256 => DecodingKey::from_rsa_pem(pem),
                Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
                other => {
                    return Err(AuthError::Setup(format!(
                        "public-key algorithm {other:?} is not supported; use RS256 or EdDSA"
                    )));
                }
            }
            .map_err(|e| AuthError::Setup(format!("key `{kid}`: {e}")))?;
            by_kid.insert(kid.clone(), key);
        }
        if by_kid.is_empty() {
            return Err(AuthError::Setup("no public keys were given".into()));
        }
        Ok(Authenticator {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys: Keys::Public { algorithm, by_kid },
        })
    }

    /// Signs and verifies a throw-away token, so that a missing crypto backend fails at
    /// start-up rather than on the first request.
    fn self_test(&self) -> Result<(), AuthError> {
        let token = self.issue("self-test", Role::Viewer, None, None, 60)?;
        self.verify(&token).map(|_| ())
    }

    /// Mints a token valid for `ttl_seconds`; only with a shared secret.
    pub fn issue(
        &self,
        subject: &str,
        role: Role,
        org: Option<&str>,
        country: Option<&str>,
        ttl_seconds: i64,
    ) -> Result<String, AuthError> {
        let Keys::Shared { encoding, .. } = &self.keys else {
            return Err(AuthError::Invalid(
                "tokens are issued by the identity provider when public keys are configured".into(),
            ));
        };
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role: role.as_str().to_ascii_lowercase(),
            org: org.map(str::to_owned),
            country: country.map(|c| c.to_ascii_uppercase()),
            exp: now + ttl_seconds,
            iat: now,
            nbf: Some(now),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, encoding)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }

    /// Verifies a token and reads its caller.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        self.verify_until(token).map(|v| v.principal)
    }

    /// Verifies a token and reads its caller and until when it is honoured: its expiry plus
    /// the [`LEEWAY_SECONDS`] allowed for clocks that disagree.
    pub fn verify_until(&self, token: &str) -> Result<Verified, AuthError> {
        let (algorithm, key) = match &self.keys {
            Keys::Shared { decoding, .. } => (Algorithm::HS256, decoding),
            Keys::Public { algorithm, by_kid } => {
                let header = jsonwebtoken::decode_header(token)
                    .map_err(|e| AuthError::Invalid(e.to_string()))?;
                let kid = header
                    .kid
                    .ok_or_else(|| AuthError::Invalid("the token names no key (kid)".into()))?;
                let key = by_kid
                    .get(&kid)
                    .ok_or_else(|| AuthError::Invalid(format!("unknown key `{kid}`")))?;
                (*algorithm, key)
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS.unsigned_abs();
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
            jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                AuthError::Invalid("the token is not valid yet".into())
            }
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                AuthError::Invalid("wrong issuer".into())
            }
            jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                AuthError::Invalid("wrong audience".into())
            }
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                AuthError::Invalid("bad signature".into())
            }
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                AuthError::Invalid("wrong algorithm".into())
            }
            _ => AuthError::Invalid("malformed token".into()),
        })?;
        let until =
            chrono::DateTime::from_timestamp(data.claims.exp.saturating_add(LEEWAY_SECONDS), 0)
                .ok_or_else(|| AuthError::Invalid("the expiry (exp) is out of range".into()))?;
        Ok(Verified {
            principal: principal_of(data.claims)?,
            until,
        })
    }
}

/// Seconds a token is still honoured after its expiry (and before its `nbf`), for clocks that
/// disagree.
pub const LEEWAY_SECONDS: i64 = 30;

/// A verified token.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Who called.
    pub principal: Principal,
    /// When the token stops being honoured.
    pub until: chrono::DateTime<chrono::Utc>,
}

fn principal_of(claims: Claims) -> Result<Principal, AuthError> {
    let role = parse_role(&claims.role)
        .ok_or_else(|| AuthError::Invalid(format!("unknown role `{}`", claims.role)))?;
    match role {
        Role::Provider if claims.org.is_none() => {
            return Err(AuthError::Invalid(
                "a provider token must name its organisation (org)".into(),
            ));
        }
        Role::Recipient if claims.country.is_none() => {
            return Err(AuthError::Invalid(
                "a recipient token must name its country (country)".into(),
            ));
        }
        _ => {}
    }
    Ok(Principal {
        subject: claims.sub,
        role,
        org: claims.org,
        country: claims.country.map(|c| c.to_ascii_uppercase()),
    })
}

/// Reads the token from an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::Missing)?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or(AuthError::Missing)?
        .trim();
    if token.is_empty() {
        Err(AuthError::Missing)
    } else {
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(secret: &str) -> Authenticator {
        Authenticator::shared_secret(&Secret::new(secret), "aidgraph", "aidgraph")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn issued_tokens_verify_and_carry_scope() {
        let a = auth("0123456789abcdef0123456789abcdef");
        let token = a
            .issue("ops", Role::Provider, Some("GB-GOV-1"), None, 3600)
            .unwrap_or_default();
        let p = a.verify(&token).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.role, Role::Provider);
        assert_eq!(p.org.as_deref(), Some("GB-GOV-1"));
    }

    #[test]
    fn refuses_expired_and_foreign_tokens() {
        let a = auth("0123456789abcdef0123456789abcdef");
        let b = auth("fedcba9876543210fedcba9876543210");
        let expired = a
            .issue("ops", Role::Viewer, None, None, -3600)
            .unwrap_or_default();
        assert_eq!(a.verify(&expired).err(), Some(AuthError::Expired));
        let foreign = b
            .issue("ops", Role::Viewer, None, None, 3600)
            .unwrap_or_default();
        assert!(matches!(a.verify(&foreign), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn reads_bearer_headers() {
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("Basic abc")), Err(AuthError::Missing));
        assert_eq!(bearer(None), Err(AuthError::Missing));
    }
}
