//! Protobuf enums (`i32` fields in prost) written by name.

use std::fmt;

use serde::de::{self, Visitor};

/// Reads an enum from its name (case-insensitive) or its number.
pub(crate) struct EnumVisitor {
    /// Name of the enum type, for messages.
    pub(crate) type_name: &'static str,
    /// Number of a name (prost's `from_str_name`).
    pub(crate) from_name: fn(&str) -> Option<i32>,
    /// Whether a number is a known value.
    pub(crate) known: fn(i32) -> bool,
}

impl EnumVisitor {
    fn number<E: de::Error>(&self, value: i64) -> Result<i32, E> {
        match i32::try_from(value) {
            Ok(n) if (self.known)(n) => Ok(n),
            _ => Err(E::custom(format!(
                "unknown {} value `{value}`",
                self.type_name
            ))),
        }
    }
}

impl Visitor<'_> for EnumVisitor {
    type Value = i32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} name or number", self.type_name)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i32, E> {
        (self.from_name)(v.trim())
            .or_else(|| (self.from_name)(&v.trim().to_ascii_uppercase()))
            .ok_or_else(|| E::custom(format!("unknown {} `{v}`", self.type_name)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
        self.number(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
        self.number(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

/// Defines a serde adapter module for an `i32` field holding a prost enum.
macro_rules! enum_by_name {
    ($(#[$doc:meta])* $module:ident, $ty:ty, $type_name:literal) => {
        $(#[$doc])*
        pub mod $module {
            use serde::{Deserializer, Serializer};

            /// Serializes the value's name (a number not in the enum is
            /// written as the number).
            pub fn serialize<S: Serializer>(value: &i32, s: S) -> Result<S::Ok, S::Error> {
                match <$ty>::try_from(*value) {
                    Ok(known) => s.serialize_str(known.as_str_name()),
                    Err(_) => s.serialize_i32(*value),
                }
            }

            /// Deserializes a name (any case) or a known number.
            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
                d.deserialize_any(super::EnumVisitor {
                    type_name: $type_name,
                    from_name: |name| <$ty>::from_str_name(name).map(|v| v as i32),
                    known: |n| <$ty>::try_from(n).is_ok(),
                })
            }
        }
    };
}

enum_by_name!(
    /// `services.RequestState` as "NONE", "PENDING", "APPROVED" or "DENIED".
    request_state,
    crate::services::RequestState,
    "RequestState"
);
enum_by_name!(
    /// `auth.Operation` as "INIT", "PUT" or "DELETE".
    operation,
    crate::auth::Operation,
    "Operation"
);
enum_by_name!(
    /// `services.PrivateKeyType` as "RAW" or "PKCS11".
    private_key_type,
    crate::services::PrivateKeyType,
    "PrivateKeyType"
);
enum_by_name!(
    /// `services.CertAuthoritySpecV2.SigningAlgType` as "UNKNOWN", "RSA_SHA1",
    /// "RSA_SHA2_256" or "RSA_SHA2_512".
    signing_alg,
    crate::services::cert_authority_spec_v2::SigningAlgType,
    "SigningAlgType"
);
enum_by_name!(
    /// `services.KeepAlive.KeepAliveType` as "NODE", "APP" or "PROXY".
    keep_alive_type,
    crate::services::keep_alive::KeepAliveType,
    "KeepAliveType"
);
