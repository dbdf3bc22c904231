//! Printing resources as YAML or JSON.

use std::collections::BTreeMap;

use portcullis_api::services::{CommandLabelV2, ServerV2};
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
    let mut printer = Printer::new(format);
    let mut out = printer.render(items)?;
    out.push_str(&printer.end());
    Ok(out)
}

/// Renders a listing a page at a time, as [`render`] renders it whole: YAML documents
/// separated by `---`, or one JSON array.
#[derive(Debug)]
pub struct Printer {
    format: Format,
    /// How many items were rendered.
    count: usize,
}

impl Printer {
    /// A printer of nothing yet.
    pub fn new(format: Format) -> Self {
        Self { format, count: 0 }
    }

    /// The text of the next items.
    pub fn render<T: Serialize>(&mut self, items: &[T]) -> anyhow::Result<String> {
        let mut out = String::new();
        for item in items {
            let mut v = serde_json::to_value(item)?;
            prune(&mut v);
            match self.format {
                Format::Json => {
                    out.push_str(if self.count == 0 { "[\n" } else { ",\n" });
                    // Indented as an element of a pretty-printed array.
                    let text = serde_json::to_string_pretty(&v)?;
                    let lines: Vec<String> = text.lines().map(|l| format!("  {l}")).collect();
                    out.push_str(&lines.join("\n"));
                }
                Format::Yaml => {
                    if self.count > 0 {
                        out.push_str("---\n");
                    }
                    out.push_str(&serde_norway::to_string(&v)?);
                }
            }
            self.count += 1;
        }
        Ok(out)
    }

    /// Prints the next items on standard output.
    pub fn print<T: Serialize>(&mut self, items: &[T]) -> anyhow::Result<()> {
        use std::io::Write;
        let text = self.render(items)?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }

    /// What ends the output (the JSON array's bracket).
    pub fn end(&self) -> String {
        match (self.format, self.count) {
            (Format::Json, 0) => "[]\n".to_owned(),
            (Format::Json, _) => "\n]\n".to_owned(),
            (Format::Yaml, _) => String::new(),
        }
    }
}

/// Prints a paged listing as its pages arrive (`fetch` reads the page after a key, see
/// [`portcullis_api::for_each_page`]): one JSON array with `json`, otherwise one `line` per
/// item under `header` (if any, printed before the first item), or `empty` when there is
/// nothing.
pub async fn print_pages<T, F, Fut>(
    fetch: F,
    json: bool,
    header: Option<&str>,
    line: fn(&T) -> String,
    empty: &str,
) -> anyhow::Result<()>
where
    T: Serialize,
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = portcullis_api::Result<portcullis_api::Page<T>>>,
{
    let mut json = json.then(|| Printer::new(Format::Json));
    let mut printed = 0usize;
    portcullis_api::for_each_page(fetch, |items| {
        match json.as_mut() {
            Some(printer) => printer.print(&items)?,
            None => {
                for item in &items {
                    if printed == 0 {
                        if let Some(header) = header {
                            println!("{header}");
                        }
                    }
                    printed += 1;
                    println!("{}", line(item));
                }
            }
        }
        anyhow::Ok(())
    })
    .await?;
    match json {
        Some(printer) => print!("{}", printer.end()),
        None if printed == 0 => println!("{empty}"),
        None => {}
    }
    Ok(())
}

/// Prints `rows` under `header`, each column as wide as its widest cell.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

/// Static labels and the results of command labels (which win), as `K=V,K=V`.
pub fn labels(
    statics: &BTreeMap<String, String>,
    commands: &BTreeMap<String, CommandLabelV2>,
) -> String {
    let mut all: BTreeMap<&str, &str> = statics
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend(
        commands
            .iter()
            .map(|(k, c)| (k.as_str(), c.result.as_str())),
    );
    let pairs: Vec<String> = all.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

/// Prints `servers` as JSON, or as a table under `header` with the rows `rows` makes of
/// each server (`no WHAT` when there are none).
pub fn print_served(
    servers: &[ServerV2],
    json: bool,
    what: &str,
    header: &[&str],
    rows: impl Fn(&ServerV2) -> Vec<Vec<String>>,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(servers)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = servers.iter().flat_map(rows).collect();
    if rows.is_empty() {
        println!("no {what}");
    } else {
        print_table(header, &rows);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pages_render_as_the_whole_listing_would() {
        let items: Vec<Value> = (0..5)
            .map(|i| serde_json::json!({"name": format!("r{i}"), "labels": {"a": i}}))
            .collect();
        let whole = serde_json::to_string_pretty(&items).unwrap() + "\n";
        for format in [Format::Json, Format::Yaml] {
            let mut printer = Printer::new(format);
            let mut paged = String::new();
            for page in items.chunks(2) {
                paged.push_str(&printer.render(page).unwrap());
            }
            paged.push_str(&printer.end());
            assert_eq!(paged, render(&items, format).unwrap());
            if let Format::Json = format {
                assert_eq!(paged, whole);
            }
        }
        assert_eq!(render::<Value>(&[], Format::Json).unwrap(), "[]\n");
    }
}
