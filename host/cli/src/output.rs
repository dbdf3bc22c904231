//! Printing resources as YAML or JSON.

use serde::Serialize;
use serde_json::Value;

/// Output formats of `pctl get`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// YAML documents separated by `---`, ready for `pctl create -f`.
    Yaml,
    /// A JSON array.
    Json,
}

/// Drops nulls and empty strings, lists and maps, so output shows what is set.
fn prune(value: &mut Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => {
            items.retain_mut(prune);
            !items.is_empty()
        }
        Value::Object(map) => {
            map.retain(|_, v| prune(v));
            !map.is_empty()
        }
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// Renders resources in `format`.
pub fn render<T: Serialize>(items: &[T], format: Format) -> anyhow::Result<String> {
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        let mut v = serde_json::to_value(item)?;
        prune(&mut v);
        values.push(v);
    }
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(&values)? + "\n",
        Format::Yaml => {
            let mut out = String::new();
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str("---\n");
                }
                out.push_str(&serde_norway::to_string(v)?);
            }
            out
        }
    })
}
