//! Bytes as base64 strings, as Go's encoding/json writes `[]byte`.

use std::fmt;

use ::base64::engine::general_purpose::STANDARD;
use ::base64::Engine as _;
use serde::de::{self, SeqAccess, Visitor};

fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("base64-encoded bytes")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        let compact: String = v.split_whitespace().collect();
        STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| E::custom(format!("invalid base64: {e}")))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<u8>, E> {
        Ok(Vec::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::new();
        while let Some(byte) = seq.next_element::<u8>()? {
            out.push(byte);
        }
        Ok(out)
    }
}

/// Serde adapter for `bytes` fields (`Vec<u8>`): a standard base64 string
/// (an array of byte values is read too).
pub mod base64 {
    use serde::{Deserializer, Serializer};

    /// Serializes the bytes as standard base64.
    pub fn serialize<S: Serializer>(value: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(value))
    }

    /// Deserializes base64 (whitespace is ignored).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_any(super::BytesVisitor)
    }
}

/// Serde adapter for `repeated bytes` fields (`Vec<Vec<u8>>`): a list of
/// base64 strings.
pub mod base64_seq {
    use serde::de::{Deserialize, Deserializer};
    use serde::ser::{SerializeSeq, Serializer};

    struct Item(Vec<u8>);

    impl<'de> Deserialize<'de> for Item {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(super::BytesVisitor).map(Item)
        }
    }

    /// Serializes each element as standard base64.
    pub fn serialize<S: Serializer>(value: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(value.len()))?;
        for item in value {
            seq.serialize_element(&super::encode(item))?;
        }
        seq.end()
    }

    /// Deserializes a list of base64 strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let items = Option::<Vec<Item>>::deserialize(d)?;
        Ok(items.unwrap_or_default().into_iter().map(|i| i.0).collect())
    }
}
