//! The native signing core of Portcullis: certificate authorities and everything that signs.
//!
//! The crate is pure: no network, no storage, and no clock other than the `now: SystemTime`
//! each call is given. It signs:
//!
//! - **TLS** ([`TlsAuthority`], ECDSA P-256 keys): server certificates, client certificates
//!   carrying an [`Identity`] in their subject, and host certificates ([`HostTlsRequest`]).
//!   Every issued certificate's Authority Key Identifier equals [`TlsAuthority::key_id`]
//!   (the CA's Subject Key Identifier, or the SHA-1 of its public key bits for old CA
//!   certificates without one), which [`authority_key_id`] reads back so a verifier can tell
//!   which CA key signed a certificate during a rotation.
//! - **SSH** ([`SshAuthority`], Ed25519, ECDSA P-256 or RSA-3072 signing `rsa-sha2-512`): user
//!   and host certificates and the `authorized_keys`/`known_hosts` trust lines.
//! - **JWT** ([`JwtAuthority`], Ed25519 `EdDSA` or RSA-2048 `RS256`): app-access tokens and
//!   their JWK sets.
//!
//! The rotation state machine ([`plan`], [`due`]) decides how an authority moves through
//! standby -> init -> update_clients -> update_servers -> standby (or rollback) and what
//! happens to its keys at each move; the server applies its decisions to the stored keys.
//! [`ClientKey`] is the Ed25519 key pair clients such as `pctl auth sign` generate.
//!
//! The authorities' keys may also be held outside the process ([`ExternalKey`], e.g. in a
//! PKCS#11 token): the TLS, SSH and JWT authorities then ask that key for every signature.
//!
//! [`SubjectKey::from_any`] reads an OpenSSH public key (or SPKI DER/PEM) into the checked key
//! a TLS client certificate is issued for, so one key pair can hold both certificates.
//!
//! # The identity in a certificate subject
//!
//! As in Teleport, each value is its own attribute (UTF8String, one single-valued RDN each),
//! so values containing commas survive unchanged. The subject is authoritative; there is no
//! identity extension.
//!
//! | attribute | OID | value |
//! | --- | --- | --- |
//! | CN | 2.5.4.3 | user name; hosts `HOST_ID.CLUSTER` (or `HOST_ID`) |
//! | O | 2.5.4.10 | one per role; hosts their system role |
//! | L | 2.5.4.7 | one per login |
//! | STREET | 2.5.4.9 | cluster to route to, when set |
//! | POSTALCODE | 2.5.4.17 | traits as JSON (`{"team":["dba"]}`), when any |
//! | [`ACTIVE_REQUESTS_OID`] | 1.3.9999.7.2 | one per active access request id |
//! | [`EXPIRY_OID`] | 1.3.9999.7.3 | expiry, RFC 3339 UTC, the same instant as notAfter |
//! | [`SYSTEM_ROLES_OID`] | 1.3.9999.7.4 | one per system role (hosts, e.g. `Node`) |
//! | [`KUBE_USERS_OID`] | 1.3.9999.7.5 | one per Kubernetes user (roles' `kubernetes_users`) |
//! | [`KUBE_GROUPS_OID`] | 1.3.9999.7.6 | one per Kubernetes group (roles' `kubernetes_groups`) |
//! | [`KUBE_CLUSTER_OID`] | 1.3.9999.7.7 | Kubernetes cluster targeted, when set |
//! | [`APP_SESSION_ID_OID`] | 1.3.9999.7.8 | application session id (app session certificates) |
//! | [`APP_PUBLIC_ADDR_OID`] | 1.3.9999.7.9 | that application's public address |
//! | [`APP_CLUSTER_NAME_OID`] | 1.3.9999.7.10 | the cluster the application runs in |
//!
//! The expiry attribute is what marks a certificate as carrying an identity: server
//! certificates lack it. (`1.3.9999.7.1` was the JSON identity extension of earlier versions
//! and is no longer written or read.)
//!
//! # JWT format
//!
//! Compact JWS with header `{"alg":"EdDSA"|"RS256","typ":"JWT","kid":KID}` and claims
//! `{"iss","sub","username","roles","aud","iat","nbf","exp"}`: `sub` = `username` = the user,
//! `aud` = the app URI, times in Unix seconds, `nbf` = `iat` - 60 s. `KID` is base64url of
//! the first 16 bytes of the SHA-256 of the key's SPKI DER. JWKs follow RFC 7517/8037
//! (`kty` `OKP`/`crv` `Ed25519`/`x`, or `kty` `RSA`/`n`/`e`) with `kid`, `alg` and
//! `use: "sig"`.
//!
//! # Private keys in memory
//!
//! Key material is zeroized on drop: TLS CA keys' PEM (`Zeroizing<String>`), generated
//! certificate keys (returned only as `Zeroizing<String>`), SSH keys (`ssh_key::PrivateKey`)
//! and the Ed25519 and RSA signers prepared from them, JWT keys (`ed25519_dalek::SigningKey`,
//! `rsa::RsaPrivateKey`) and their PEM. Not covered: the ECDSA P-256 signing keys loaded into
//! `ring` (TLS authorities, ECDSA SSH authorities), which signs them several times faster
//! than RustCrypto's `p256` but does not clear its key pairs on drop (as for the server's own
//! TLS key inside rustls); copies the caller makes of the `&str` from
//! [`TlsAuthority::key_pem`]; and short-lived internal copies inside the signing code, which
//! zeroize where those crates do. No `Debug` output contains key material.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod client_key;
mod ecdsa;
mod error;
mod external;
mod identity;
mod jwt;
mod pubkey;
mod rotation;
mod ssh;
mod tls;
mod x509;

pub use client_key::ClientKey;
pub use error::{Error, Result};
pub use external::{ExternalAlgorithm, ExternalKey, SharedKey};
pub use identity::{
    Identity, RouteToApp, ACTIVE_REQUESTS_OID, APP_CLUSTER_NAME_OID, APP_PUBLIC_ADDR_OID,
    APP_SESSION_ID_OID, EXPIRY_OID, KUBE_CLUSTER_OID, KUBE_GROUPS_OID, KUBE_USERS_OID,
    SYSTEM_ROLES_OID,
};
pub use jwt::{
    app_token_key_id, jwks_from_public_pems, verify_app_token, AppTokenClaims, JwtAlgorithm,
    JwtAuthority,
};
pub use pubkey::SubjectKey;
pub use rotation::{
    due, plan, KeyChange, Mode, Phase, RotateRequest, Rotation, RotationError, Schedule,
    Transition, DEFAULT_GRACE_PERIOD,
};
pub use ssh::{HostCertRequest, Permissions, SshAlgorithm, SshAuthority, UserCertRequest};
pub use tls::{fingerprint_pem, HostTlsRequest, IssuedCert, TlsAuthority, SERVER_CERT_TTL};
pub use x509::authority_key_id;
