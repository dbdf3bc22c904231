//! Limits on a module's shape, checked at upload before anything is compiled: how many
//! functions it defines, how large one function's body is, how many locals one function
//! declares, how many bytes its data segments hold and how large its tables start. They
//! bound the time and memory compiling and instantiating a module can take, so an upload
//! cannot tie up the server (compilation is roughly linear in these, and their product is
//! what a hostile module would raise).

use wasmparser::{Parser, Payload};

use crate::error::{PolicyError, Result};

/// The most functions a module may define (imports not counted).
pub const DEFAULT_MAX_FUNCTIONS: u32 = 50_000;
/// The largest body of one function, in bytes.
pub const DEFAULT_MAX_FUNCTION_BYTES: u32 = 512 * 1024;
/// The most locals one function may declare (parameters not counted).
pub const DEFAULT_MAX_LOCALS: u32 = 10_000;
/// The most bytes all data segments together may hold.
pub const DEFAULT_MAX_DATA_BYTES: u64 = 4 * 1024 * 1024;
/// The most elements a table may start with (the instance pool's table size).
pub const DEFAULT_MAX_TABLE_ELEMENTS: u64 = 10_000;

/// The shape limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeLimits {
    /// See [`DEFAULT_MAX_FUNCTIONS`].
    pub max_functions: u32,
    /// See [`DEFAULT_MAX_FUNCTION_BYTES`].
    pub max_function_bytes: u32,
    /// See [`DEFAULT_MAX_LOCALS`].
    pub max_locals: u32,
    /// See [`DEFAULT_MAX_DATA_BYTES`].
    pub max_data_bytes: u64,
    /// See [`DEFAULT_MAX_TABLE_ELEMENTS`].
    pub max_table_elements: u64,
}

impl Default for ShapeLimits {
    fn default() -> Self {
        ShapeLimits {
            max_functions: DEFAULT_MAX_FUNCTIONS,
            max_function_bytes: DEFAULT_MAX_FUNCTION_BYTES,
            max_locals: DEFAULT_MAX_LOCALS,
            max_data_bytes: DEFAULT_MAX_DATA_BYTES,
            max_table_elements: DEFAULT_MAX_TABLE_ELEMENTS,
        }
    }
}

fn over(what: String, value: u64, limit: u64) -> PolicyError {
    PolicyError::OverLimit { what, value, limit }
}

fn invalid(e: wasmparser::BinaryReaderError) -> PolicyError {
    PolicyError::InvalidWasm {
        reason: e.to_string(),
    }
}

/// Checks `bytes` (already validated Wasm) against `limits`.
pub(crate) fn check_shape(bytes: &[u8], limits: &ShapeLimits) -> Result<()> {
    let mut function = 0u64;
    let mut data_bytes = 0u64;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::FunctionSection(reader) => {
                let count = u64::from(reader.count());
                if count > u64::from(limits.max_functions) {
                    let what = "functions defined".to_owned();
                    return Err(over(what, count, limits.max_functions.into()));
                }
            }
            Payload::CodeSectionEntry(body) => {
                let size = body.range().len() as u64;
                if size > u64::from(limits.max_function_bytes) {
                    let what = format!("bytes in the body of defined function {function}");
                    return Err(over(what, size, limits.max_function_bytes.into()));
                }
                let mut locals = 0u64;
                for group in body.get_locals_reader().map_err(invalid)? {
                    let (count, _) = group.map_err(invalid)?;
                    locals += u64::from(count);
                }
                if locals > u64::from(limits.max_locals) {
                    let what = format!("locals in defined function {function}");
                    return Err(over(what, locals, limits.max_locals.into()));
                }
                function += 1;
            }
            Payload::DataSection(reader) => {
                for segment in reader {
                    data_bytes += segment.map_err(invalid)?.data.len() as u64;
                }
                if data_bytes > limits.max_data_bytes {
                    let what = "bytes in data segments".to_owned();
                    return Err(over(what, data_bytes, limits.max_data_bytes));
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let initial = table.map_err(invalid)?.ty.initial;
                    if initial > limits.max_table_elements {
                        let what = "initial table elements".to_owned();
                        return Err(over(what, initial, limits.max_table_elements));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}
