//! Key handles: what the store keeps instead of a private key.
//!
//! A handle names the token (its label) and the key's `CKA_ID`, written as an RFC 7512 URI,
//! `pkcs11:token=portcullis;id=%1f%a0...`: attribute values are percent-encoded where they
//! are not unreserved characters (and the id always is, byte by byte).

use crate::{HsmError, Result};

/// Where a key lives: the token's label and the key's `CKA_ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHandle {
    /// The token's label.
    pub token: String,
    /// The key's `CKA_ID` (the same on its private and public object).
    pub id: Vec<u8>,
}

/// The URI scheme of a handle.
pub const SCHEME: &str = "pkcs11:";

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn encode(bytes: &[u8], all: bool) -> String {
    bytes
        .iter()
        .map(|&b| {
            if !all && unreserved(b) {
                (b as char).to_string()
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

fn decode(text: &str, handle: &str) -> Result<Vec<u8>> {
    let bad = |reason: String| HsmError::Handle {
        handle: handle.to_owned(),
        reason,
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .ok_or_else(|| bad(format!("truncated escape in `{text}`")))?;
            out.push(
                u8::from_str_radix(hex, 16)
                    .map_err(|_| bad(format!("bad escape `%{hex}` in `{text}`")))?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

impl KeyHandle {
    /// The handle as a `pkcs11:` URI.
    pub fn to_uri(&self) -> String {
        format!(
            "{SCHEME}token={};id={}",
            encode(self.token.as_bytes(), false),
            encode(&self.id, true)
        )
    }

    /// Reads a handle written by [`KeyHandle::to_uri`] (attributes in any order; others
    /// are refused).
    pub fn parse(uri: &str) -> Result<Self> {
        let bad = |reason: &str| HsmError::Handle {
            handle: uri.to_owned(),
            reason: reason.to_owned(),
        };
        let path = uri
            .trim()
            .strip_prefix(SCHEME)
            .ok_or_else(|| bad("it does not start with `pkcs11:`"))?;
        let (mut token, mut id) = (None, None);
        for part in path.split(';') {
            match part.split_once('=') {
                Some(("token", value)) => {
                    let raw = decode(value, uri)?;
                    token = Some(
                        String::from_utf8(raw).map_err(|_| bad("the token label is not UTF-8"))?,
                    );
                }
                Some(("id", value)) => id = Some(decode(value, uri)?),
                _ => return Err(bad(&format!("unexpected attribute `{part}`"))),
            }
        }
        match (token, id) {
            (Some(token), Some(id)) if !token.is_empty() && !id.is_empty() => {
                Ok(Self { token, id })
            }
            _ => Err(bad("it needs a token label and an id")),
        }
    }
}

impl std::fmt::Display for KeyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_uri())
    }
}
