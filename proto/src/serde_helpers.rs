//! Serde adapters used by the generated messages (chosen per field by the
//! build script): timestamps as RFC 3339 strings, nanosecond durations as
//! Go-style strings ("8h", "1h30m"), enums by name, bytes as base64 and
//! booleans that also accept "yes"/"no".

mod bytes;
mod duration_fmt;
mod enums;
mod flex;
mod time_fmt;

pub use bytes::{base64, base64_seq};
pub use duration_fmt::duration;
pub use enums::{keep_alive_type, operation, private_key_type, request_state, signing_alg};
pub use flex::{flex_bool, flex_bool_opt};
pub use time_fmt::timestamp;

/// Whether a value equals its default; fields for which this holds are left
/// out when serializing, so written resources stay short.
pub fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

#[cfg(test)]
mod tests;
