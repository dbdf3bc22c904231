//! Static tokens from the configuration file: `tokens: ["node,proxy:VALUE", ...]`.

use portcullis_api::services::{Metadata, ProvisionTokenSpecV2, ProvisionTokenV2};

use super::{canonical_roles, validate_value, KIND_TOKEN};
use crate::resources::ResourceError;

/// A token configured in the file: it never expires and cannot be changed by RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticToken {
    /// The system roles it allows.
    pub roles: Vec<String>,
    /// The token value.
    pub value: String,
}

impl StaticToken {
    /// The token as a resource (no expiry; label `static: "true"`).
    pub fn resource(&self) -> ProvisionTokenV2 {
        ProvisionTokenV2 {
            kind: KIND_TOKEN.to_owned(),
            sub_kind: String::new(),
            version: "v2".to_owned(),
            metadata: Some(Metadata {
                name: self.value.clone(),
                labels: [("static".to_owned(), "true".to_owned())].into(),
                ..Metadata::default()
            }),
            spec: Some(ProvisionTokenSpecV2 {
                roles: self.roles.clone(),
            }),
        }
    }
}

/// Parses `ROLES:VALUE` (roles comma-separated, case-insensitive).
pub fn parse_static_token(text: &str) -> Result<StaticToken, ResourceError> {
    let (roles, value) = text.split_once(':').ok_or_else(|| {
        ResourceError::invalid("expected `ROLES:TOKEN`, e.g. `node,proxy:7f3c...`")
    })?;
    let roles: Vec<String> = roles.split(',').map(|r| r.trim().to_owned()).collect();
    let roles = canonical_roles(&roles)?;
    validate_value(value)?;
    Ok(StaticToken {
        roles,
        value: value.to_owned(),
    })
}
