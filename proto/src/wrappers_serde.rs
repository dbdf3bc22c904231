//! Hand-written serde for the `wrappers` messages, plus small constructors.
//!
//! A [`StringValues`] is written as a list of strings and read from a single
//! string or a list (so `'*': '*'` and `logins: [root]` both load); a
//! [`LabelValues`] is a plain map of those.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::wrappers::{LabelValues, StringValues};

impl Serialize for StringValues {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.values.serialize(s)
    }
}

impl<'de> Deserialize<'de> for StringValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringValuesVisitor)
    }
}

struct StringValuesVisitor;

impl<'de> Visitor<'de> for StringValuesVisitor {
    type Value = StringValues;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a list of strings")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StringValues, E> {
        Ok(StringValues::from([v]))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<StringValues, E> {
        Ok(StringValues::from([v.to_string()]))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StringValues, E> {
        Ok(StringValues::from([v.to_string()]))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StringValues, E> {
        Ok(StringValues::from([v.to_string()]))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<StringValues, E> {
        Ok(StringValues::from([v.to_string()]))
    }

    fn visit_unit<E: de::Error>(self) -> Result<StringValues, E> {
        Ok(StringValues::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<StringValues, E> {
        Ok(StringValues::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringValues, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(value) = seq.next_element::<String>()? {
            values.push(value);
        }
        Ok(StringValues { values })
    }
}

impl Serialize for LabelValues {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.values.serialize(s)
    }
}

impl<'de> Deserialize<'de> for LabelValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let values = Option::<BTreeMap<String, StringValues>>::deserialize(d)?;
        Ok(LabelValues {
            values: values.unwrap_or_default(),
        })
    }
}

impl StringValues {
    /// Builds a list from anything yielding strings.
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        values.into_iter().collect()
    }
}

impl<S: Into<String>> FromIterator<S> for StringValues {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        StringValues {
            values: iter.into_iter().map(Into::into).collect(),
        }
    }
}

impl<S: Into<String>, const N: usize> From<[S; N]> for StringValues {
    fn from(values: [S; N]) -> Self {
        values.into_iter().collect()
    }
}

impl From<Vec<String>> for StringValues {
    fn from(values: Vec<String>) -> Self {
        StringValues { values }
    }
}

impl From<BTreeMap<String, StringValues>> for LabelValues {
    fn from(values: BTreeMap<String, StringValues>) -> Self {
        LabelValues { values }
    }
}
