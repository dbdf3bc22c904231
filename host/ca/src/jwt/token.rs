//! The compact JWS form of app tokens (RFC 7515 / RFC 7519).

use std::time::{Duration, SystemTime};

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::{Deserialize, Serialize};

use super::key::PublicKey;
use super::AppTokenClaims;
use crate::x509::CLOCK_SKEW;
use crate::{Error, Result};

/// The JOSE header.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Header {
    pub(super) alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) kid: Option<String>,
}

/// The claims as they appear in the token.
#[derive(Debug, Serialize, Deserialize)]
struct WireClaims {
    iss: String,
    sub: String,
    username: String,
    #[serde(default)]
    roles: Vec<String>,
    aud: String,
    iat: u64,
    nbf: u64,
    exp: u64,
}

fn unix_secs(t: SystemTime) -> Result<u64> {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Error::Validity("time before 1970".into()))
}

fn b64_json<T: Serialize>(value: &T) -> Result<String> {
    let json = serde_json::to_vec(value).map_err(|e| Error::Jwt(format!("encoding: {e}")))?;
    Ok(Base64UrlUnpadded::encode_string(&json))
}

fn json_b64<T: for<'de> Deserialize<'de>>(part: &str, what: &str) -> Result<T> {
    let bytes = Base64UrlUnpadded::decode_vec(part)
        .map_err(|e| Error::Jwt(format!("token {what} is not base64url: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Jwt(format!("token {what}: {e}")))
}

/// The `header.claims` part to sign, for a token valid from `now - CLOCK_SKEW` to
/// `now + ttl`.
pub(super) fn signing_input(
    header: &Header,
    claims: &AppTokenClaims,
    now: SystemTime,
    ttl: Duration,
) -> Result<String> {
    if ttl.is_zero() {
        return Err(Error::Validity("time to live must be positive".into()));
    }
    let iat = unix_secs(now)?;
    let wire = WireClaims {
        iss: claims.issuer.clone(),
        sub: claims.username.clone(),
        username: claims.username.clone(),
        roles: claims.roles.clone(),
        aud: claims.uri.clone(),
        iat,
        nbf: iat.saturating_sub(CLOCK_SKEW.as_secs()),
        exp: iat
            .checked_add(ttl.as_secs().max(1))
            .ok_or_else(|| Error::Validity("time to live is too long".into()))?,
    };
    Ok(format!("{}.{}", b64_json(header)?, b64_json(&wire)?))
}

/// Appends the signature.
pub(super) fn finish(input: String, signature: &[u8]) -> String {
    format!("{input}.{}", Base64UrlUnpadded::encode_string(signature))
}

/// Splits a compact JWS into its three parts.
fn split(token: &str) -> Result<(&str, &str, &str)> {
    let mut parts = token.trim().split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(c), Some(s), None) => Ok((h, c, s)),
        _ => Err(Error::Jwt("a token has three dot-separated parts".into())),
    }
}

/// The unverified header of a token.
pub(super) fn header(token: &str) -> Result<Header> {
    let (header, _, _) = split(token)?;
    json_b64(header, "header")
}

/// Verifies a token's signature with `key` and its validity at `now`, and returns its claims.
pub(super) fn verify(token: &str, key: &PublicKey, now: SystemTime) -> Result<AppTokenClaims> {
    let (header_part, claims_part, signature_part) = split(token)?;
    let header: Header = json_b64(header_part, "header")?;
    let expected = key.algorithm().jws_name();
    if header.alg != expected {
        return Err(Error::Jwt(format!(
            "token algorithm `{}` does not match the key's `{expected}`",
            header.alg
        )));
    }
    let signature = Base64UrlUnpadded::decode_vec(signature_part)
        .map_err(|e| Error::Jwt(format!("token signature is not base64url: {e}")))?;
    let signed_len = header_part.len() + 1 + claims_part.len();
    let signed = token.trim().get(..signed_len).unwrap_or_default();
    key.verify(signed.as_bytes(), &signature)?;
    let wire: WireClaims = json_b64(claims_part, "claims")?;
    let now = unix_secs(now)?;
    if now < wire.nbf {
        return Err(Error::Jwt("token is not valid yet".into()));
    }
    if now >= wire.exp {
        return Err(Error::Jwt("token has expired".into()));
    }
    if wire.sub != wire.username {
        return Err(Error::Jwt("token subject and username differ".into()));
    }
    Ok(AppTokenClaims {
        username: wire.username,
        roles: wire.roles,
        uri: wire.aud,
        issuer: wire.iss,
    })
}
