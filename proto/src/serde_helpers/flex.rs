//! Booleans that also accept "yes"/"no", like Teleport's `Bool` option type.

use std::fmt;

use serde::de::{self, Visitor};

fn parse(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

struct FlexBool;

impl Visitor<'_> for FlexBool {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean (true/false, yes/no, on/off)")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        parse(v).ok_or_else(|| {
            E::custom(format!(
                "invalid boolean `{v}`, expected true/false or yes/no"
            ))
        })
    }
}

/// Serde adapter for `bool` fields: written as a boolean, read from a boolean
/// or from "yes"/"no", "true"/"false", "on"/"off".
pub mod flex_bool {
    use serde::{Deserializer, Serializer};

    /// Serializes a plain boolean.
    pub fn serialize<S: Serializer>(value: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(*value)
    }

    /// Deserializes a boolean or a yes/no string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        d.deserialize_any(super::FlexBool)
    }
}

/// Serde adapter for `optional bool` fields (`Option<bool>`), like
/// [`flex_bool`](super::flex_bool) with null/absent meaning unset.
pub mod flex_bool_opt {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    /// Serializes a boolean, or null when unset.
    pub fn serialize<S: Serializer>(value: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_bool(*v),
            None => s.serialize_none(),
        }
    }

    /// Deserializes a boolean, a yes/no string or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        d.deserialize_option(OptVisitor)
    }

    struct OptVisitor;

    impl<'de> Visitor<'de> for OptVisitor {
        type Value = Option<bool>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean (true/false, yes/no, on/off) or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(super::FlexBool).map(Some)
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            super::FlexBool.visit_str(v).map(Some)
        }
    }
}
