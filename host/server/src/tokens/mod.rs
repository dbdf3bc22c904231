//! Provisioning tokens: the secrets hosts (and leaf clusters) exchange for membership.
//!
//! A token names the system roles a host joining with it may take (`Node`, `Proxy`,
//! `Trusted_cluster`, ...), expires (30 minutes by default, at most 48 hours when
//! generated), and may carry labels that a leaf cluster joining with it inherits. Tokens are
//! stored under `/tokens/VALUE`; the store keeps an expired token for another
//! [`EXPIRED_KEPT`] so that a join can say "expired" rather than "unknown". Static tokens
//! come from the configuration file (`tokens: ["node,proxy:VALUE"]`), never expire, and
//! cannot be changed or deleted by RPC. Tokens are valid until they expire, for any number
//! of hosts.

pub mod join;
pub mod limit;
mod listing;
mod statics;

use std::time::{Duration, SystemTime};

use portcullis_api::services::{Metadata, ProvisionTokenSpecV2, ProvisionTokenV2};
use rand::RngCore;

use crate::issuance::host::system_role;
use crate::resources::{to_system_time, Collection, Resource, ResourceError};

pub use statics::{parse_static_token, StaticToken};

pub use portcullis_api::kinds::KIND_TOKEN;
pub use portcullis_api::tokens::{redact, DEFAULT_TOKEN_TTL as DEFAULT_TTL};

/// Longest lifetime of a generated token.
pub const MAX_TTL: Duration = Duration::from_secs(48 * 3600);

/// How long an expired token stays in the store (to explain a late join).
pub const EXPIRED_KEPT: Duration = Duration::from_secs(3600);

/// Shortest token value accepted from a caller.
pub const MIN_VALUE_LEN: usize = 8;

impl Resource for ProvisionTokenV2 {
    const KIND: &'static str = KIND_TOKEN;
    const PREFIX: &'static str = "/tokens/";
    fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }
    fn metadata_mut(&mut self) -> &mut Metadata {
        self.metadata.get_or_insert_with(Default::default)
    }
    /// Kept [`EXPIRED_KEPT`] past its expiry, to explain late joins.
    fn store_expiry(&self) -> Option<SystemTime> {
        expires(self).map(|at| at + EXPIRED_KEPT)
    }
}

/// Why a token cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No such token (never existed, deleted, or expired long ago).
    #[error("the provisioning token is not valid")]
    Unknown,
    /// It expired.
    #[error("the provisioning token has expired")]
    Expired,
    /// It does not allow the role asked for.
    #[error("the provisioning token does not allow joining as `{role}`")]
    WrongRole {
        /// The role asked for.
        role: String,
    },
}

/// The token's system roles.
pub fn roles(token: &ProvisionTokenV2) -> &[String] {
    token.spec.as_ref().map_or(&[], |s| s.roles.as_slice())
}

/// When the token expires, if it does.
pub fn expires(token: &ProvisionTokenV2) -> Option<SystemTime> {
    token
        .metadata
        .as_ref()
        .and_then(|m| m.expires)
        .and_then(to_system_time)
}

/// Whether the token has expired at `now`.
pub fn expired(token: &ProvisionTokenV2, now: SystemTime) -> bool {
    expires(token).is_some_and(|e| e <= now)
}

/// A random token value: 16 bytes from the operating system's CSPRNG, hex-encoded.
pub fn random_value() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a token value a caller chose.
pub fn validate_value(value: &str) -> Result<(), ResourceError> {
    if value.chars().count() < MIN_VALUE_LEN {
        return Err(ResourceError::invalid(format!(
            "a provisioning token must be at least {MIN_VALUE_LEN} characters long"
        )));
    }
    crate::resources::validate::validate_name(KIND_TOKEN, value)
        .map_err(|_| ResourceError::invalid("a provisioning token may not contain `/`, spaces or control characters, and is at most 255 bytes"))
}

/// The canonical system role names of `roles` (case-insensitive), at least one.
pub fn canonical_roles(roles: &[String]) -> Result<Vec<String>, ResourceError> {
    if roles.is_empty() {
        return Err(ResourceError::invalid(
            "a provisioning token needs at least one role (e.g. Node, Proxy, Trusted_cluster)",
        ));
    }
    let mut out = Vec::new();
    for role in roles {
        let role = system_role(role).map_err(|e| ResourceError::invalid(e.to_string()))?;
        if !out.iter().any(|r| r == role) {
            out.push(role.to_owned());
        }
    }
    Ok(out)
}

/// Validates and normalizes a token resource given whole (UpsertToken): header, value,
/// roles. Expiry and labels are kept as given.
pub fn normalize(token: &mut ProvisionTokenV2) -> Result<(), ResourceError> {
    match token.kind.as_str() {
        "" | KIND_TOKEN => token.kind = KIND_TOKEN.to_owned(),
        other => {
            return Err(ResourceError::invalid(format!(
                "kind `{other}` is not `{KIND_TOKEN}`"
            )))
        }
    }
    match token.version.as_str() {
        "" | "v2" => token.version = "v2".to_owned(),
        other => {
            return Err(ResourceError::invalid(format!(
                "token version `{other}` is not supported (only v2)"
            )))
        }
    }
    validate_value(token.name())?;
    let spec = token.spec.get_or_insert_with(ProvisionTokenSpecV2::default);
    spec.roles = canonical_roles(&spec.roles)?;
    Ok(())
}

/// A new token resource.
pub fn new_token(
    value: String,
    roles: Vec<String>,
    expires: SystemTime,
    labels: std::collections::BTreeMap<String, String>,
) -> ProvisionTokenV2 {
    ProvisionTokenV2 {
        kind: KIND_TOKEN.to_owned(),
        sub_kind: String::new(),
        version: "v2".to_owned(),
        metadata: Some(Metadata {
            name: value,
            expires: Some(prost_types::Timestamp::from(expires)),
            labels,
            ..Metadata::default()
        }),
        spec: Some(ProvisionTokenSpecV2 { roles }),
    }
}

/// The lifetime a caller asks for: `ttl_nanos` (0 = [`DEFAULT_TTL`]), at most [`MAX_TTL`].
pub fn ttl(ttl_nanos: i64) -> Result<Duration, ResourceError> {
    crate::resources::validate::requested_ttl("ttl", ttl_nanos, DEFAULT_TTL, MAX_TTL)
}

/// What a caller asks of GenerateToken.
#[derive(Debug, Clone, Default)]
pub struct Generate {
    /// System roles, in any case; at least one.
    pub roles: Vec<String>,
    /// The value the caller chose, or empty for a random one.
    pub value: String,
    /// Lifetime in nanoseconds (0 = [`DEFAULT_TTL`]).
    pub ttl_nanos: i64,
    /// Labels a leaf cluster joining with it inherits.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Stored and static tokens.
#[derive(Clone)]
pub struct Tokens {
    stored: Collection<ProvisionTokenV2>,
    statics: Vec<StaticToken>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("statics", &self.statics.len())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Creates a token as `request` asks, expiring its lifetime after `now`; returns its
    /// value (the only time a random value is told).
    pub async fn generate(
        &self,
        request: Generate,
        now: SystemTime,
    ) -> Result<String, ResourceError> {
        let roles = canonical_roles(&request.roles)?;
        let value = if request.value.is_empty() {
            random_value()
        } else {
            validate_value(&request.value)?;
            request.value
        };
        let expires = now + ttl(request.ttl_nanos)?;
        let token = new_token(value.clone(), roles, expires, request.labels);
        self.create(&token).await?;
        Ok(value)
    }

    /// The tokens in `stored`, and the static ones.
    pub fn new(stored: Collection<ProvisionTokenV2>, statics: Vec<StaticToken>) -> Self {
        Self { stored, statics }
    }

    fn static_token(&self, value: &str) -> Option<ProvisionTokenV2> {
        self.statics
            .iter()
            .find(|s| s.value == value)
            .map(StaticToken::resource)
    }

    /// Whether `value` is a static token.
    pub fn is_static(&self, value: &str) -> bool {
        self.statics.iter().any(|s| s.value == value)
    }

    /// The live token `value` (expired ones are absent).
    pub async fn get(&self, value: &str) -> Result<ProvisionTokenV2, ResourceError> {
        let not_found = || ResourceError::NotFound {
            kind: KIND_TOKEN,
            name: redact(value),
        };
        if let Some(token) = self.static_token(value) {
            return Ok(token);
        }
        match self.stored.find(value).await? {
            Some(token) if !expired(&token, portcullis_clock::now()) => Ok(token),
            _ => Err(not_found()),
        }
    }

    /// Every live token: static ones first, then stored ones by value (listings page with
    /// [`Tokens::page`]).
    pub async fn list(&self) -> Result<Vec<ProvisionTokenV2>, ResourceError> {
        let now = portcullis_clock::now();
        let mut out: Vec<_> = self.statics.iter().map(StaticToken::resource).collect();
        out.extend(
            self.stored
                .list()
                .await?
                .into_iter()
                .filter(|t| !expired(t, now)),
        );
        Ok(out)
    }

    /// Stores a new token; fails if the value is taken (or static).
    pub async fn create(&self, token: &ProvisionTokenV2) -> Result<(), ResourceError> {
        self.refuse_static(token.name())?;
        match self.stored.find(token.name()).await? {
            // An expired token kept for explanations may be replaced.
            Some(old) if expired(&old, portcullis_clock::now()) => {
                self.stored.update(token).await?;
            }
            Some(_) => {
                return Err(ResourceError::AlreadyExists {
                    kind: KIND_TOKEN,
                    name: redact(token.name()),
                })
            }
            None => {
                self.stored.create(token).await?;
            }
        }
        Ok(())
    }

    /// Creates or replaces a stored token.
    pub async fn upsert(&self, token: &ProvisionTokenV2) -> Result<(), ResourceError> {
        self.refuse_static(token.name())?;
        self.stored.upsert(token).await.map(drop)
    }

    /// Deletes a stored token.
    pub async fn delete(&self, value: &str) -> Result<(), ResourceError> {
        self.refuse_static(value)?;
        self.stored.delete(value).await.map_err(|e| match e {
            ResourceError::NotFound { kind, .. } => ResourceError::NotFound {
                kind,
                name: redact(value),
            },
            other => other,
        })
    }

    fn refuse_static(&self, value: &str) -> Result<(), ResourceError> {
        if self.is_static(value) {
            return Err(ResourceError::invalid(
                "this is a static token from the configuration file: change it there",
            ));
        }
        Ok(())
    }

    /// The token `value` if a host may join with it as `role` now.
    pub async fn check_join(
        &self,
        value: &str,
        role: &str,
        now: SystemTime,
    ) -> Result<Result<ProvisionTokenV2, TokenError>, ResourceError> {
        let token = match self.static_token(value) {
            Some(token) => token,
            None => match self.stored.find(value).await? {
                Some(token) => token,
                None => return Ok(Err(TokenError::Unknown)),
            },
        };
        if expired(&token, now) {
            return Ok(Err(TokenError::Expired));
        }
        if !roles(&token).iter().any(|r| r == role) {
            return Ok(Err(TokenError::WrongRole {
                role: role.to_owned(),
            }));
        }
        Ok(Ok(token))
    }
}

#[cfg(test)]
mod tests;
