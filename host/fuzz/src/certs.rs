//! `identity` and `ssh_pubkey`: what a client presents — its certificate, read into an
//! identity after the handshake, and the public keys it asks to have signed
//! (GenerateUserCerts, GenerateHostCerts).

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use portcullis_ca::{
    HostCertRequest, Identity, SshAlgorithm, SshAuthority, SubjectKey, UserCertRequest,
};

/// Decodes `data` as a DER client certificate's identity. An identity it yields has a
/// user name and the certificate's expiry.
pub fn identity(data: &[u8]) {
    if let Ok(identity) = Identity::from_certificate_der(data) {
        assert!(!identity.username.is_empty(), "an identity without a user");
        assert!(identity.expires.is_some(), "an identity without an expiry");
    }
}

fn ssh_authority() -> Option<&'static SshAuthority> {
    static CA: OnceLock<Option<SshAuthority>> = OnceLock::new();
    CA.get_or_init(|| SshAuthority::generate(SshAlgorithm::Ed25519).ok())
        .as_ref()
}

/// Reads `data` as the public key of a certificate request: as the TLS key (SPKI PEM or
/// DER, or an OpenSSH line), which then survives a PEM round trip, and, when it is text,
/// as the OpenSSH key of a user and of a host certificate.
pub fn ssh_pubkey(data: &[u8]) {
    if let Ok(key) = SubjectKey::from_any(data) {
        let pem = key.to_pem();
        let again = pem.as_deref().map(SubjectKey::from_pem);
        assert!(
            matches!(&again, Ok(Ok(k)) if *k == key),
            "a key read from {data:?} does not survive PEM: {again:?}"
        );
    }
    let (Ok(text), Some(ca)) = (std::str::from_utf8(data), ssh_authority()) else {
        return;
    };
    let now = SystemTime::now();
    let ttl = Duration::from_secs(3600);
    let user = UserCertRequest {
        public_key: text.to_owned(),
        key_id: "alice".into(),
        principals: vec!["root".into()],
        ttl,
        ..UserCertRequest::default()
    };
    let _ = ca.sign_user_cert(&user, now);
    let host = HostCertRequest {
        public_key: text.to_owned(),
        key_id: "host-1".into(),
        principals: vec!["host-1".into(), "node.example.com".into()],
        ttl,
    };
    let _ = ca.sign_host_cert(&host, now);
}
