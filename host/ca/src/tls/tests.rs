//! Tests of the TLS authority: identities in subjects, key identifiers, and verification by
//! the real `openssl` and by rustls/webpki (what the server uses).

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::*;
use crate::x509::{authority_key_id, parse_cert};

const HOUR: Duration = Duration::from_secs(3600);

fn pem_der(pem: &str) -> Vec<u8> {
    first_cert_der(pem, "test").unwrap()
}

fn ca(now: SystemTime) -> TlsAuthority {
    TlsAuthority::generate("example", "user ca", now, HOUR * 24).unwrap()
}

fn alice() -> Identity {
    let mut id = Identity::new("alice", vec!["dba".into(), "dev,ops".into()]);
    id.logins = vec!["root".into(), "alice".into()];
    id.traits
        .insert("team".into(), vec!["dba".into(), "a,b".into()]);
    id.route_to_cluster = "leaf.example".into();
    id.active_requests = vec!["req-1".into(), "req-2".into()];
    id
}

/// `openssl verify` of `cert_pem` against `ca_pem` for `purpose`; returns its output.
fn openssl_verify(ca_pem: &str, cert_pem: &str, purpose: &str) -> String {
    openssl_verify_with(ca_pem, cert_pem, purpose, true)
}

/// `openssl verify`, optionally with `-x509_strict` (which requires the CA to have an SKI).
fn openssl_verify_with(ca_pem: &str, cert_pem: &str, purpose: &str, strict: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    let cert_path = dir.path().join("cert.pem");
    std::fs::write(&ca_path, ca_pem).unwrap();
    std::fs::write(&cert_path, cert_pem).unwrap();
    let out = Command::new("openssl")
        .arg("verify")
        .args(strict.then_some("-x509_strict"))
        .args(["-purpose", purpose, "-CAfile"])
        .arg(&ca_path)
        .arg(&cert_path)
        .output()
        .expect("openssl is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl verify failed: {text}");
    text
}

/// `openssl x509 -text` of a certificate.
fn openssl_text(cert_pem: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cert.pem");
    std::fs::write(&path, cert_pem).unwrap();
    let out = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-text",
            "-nameopt",
            "esc_2253,sep_comma_plus,utf8,sname",
            "-in",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(ca_pems: &[&str]) -> Arc<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for pem in ca_pems {
        roots.add(CertificateDer::from(pem_der(pem))).unwrap();
    }
    Arc::new(roots)
}

/// What the server does: rustls' WebPkiClientVerifier over the CA.
fn webpki_client_verify(ca_pems: &[&str], cert_pem: &str, now: SystemTime) -> Result<(), String> {
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots(ca_pems), provider())
            .build()
            .unwrap();
    let now = UnixTime::since_unix_epoch(now.duration_since(SystemTime::UNIX_EPOCH).unwrap());
    verifier
        .verify_client_cert(&CertificateDer::from(pem_der(cert_pem)), &[], now)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn webpki_server_verify(ca_pem: &str, cert_pem: &str, name: &str, now: SystemTime) {
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots(&[ca_pem]), provider())
            .build()
            .unwrap();
    let now = UnixTime::since_unix_epoch(now.duration_since(SystemTime::UNIX_EPOCH).unwrap());
    verifier
        .verify_server_cert(
            &CertificateDer::from(pem_der(cert_pem)),
            &[],
            &ServerName::try_from(name.to_owned()).unwrap(),
            &[],
            now,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

#[test]
fn client_cert_round_trips_identity_in_the_subject() {
    let now = SystemTime::now();
    let ca = ca(now);
    let id = alice();
    let issued = ca
        .issue_client_cert(&id, None, now, Duration::from_secs(600))
        .unwrap();
    assert!(issued.key_pem.is_some());
    let back = Identity::from_certificate_der(&pem_der(&issued.cert_pem)).unwrap();
    let expires = back.expires.unwrap();
    assert_eq!(
        Identity {
            expires: None,
            ..back
        },
        id
    );
    let left = expires.duration_since(now).unwrap();
    assert!(left <= Duration::from_secs(600) && left >= Duration::from_secs(599));

    // One attribute per value, readable by openssl.
    let text = openssl_text(&issued.cert_pem);
    let subject = text
        .lines()
        .find(|l| l.trim_start().starts_with("Subject:"))
        .unwrap();
    for needle in [
        "CN=alice",
        "O=dba",
        "O=dev\\,ops",
        "L=root",
        "L=alice",
        "street=leaf.example",
        "1.3.9999.7.2=req-1",
        "1.3.9999.7.2=req-2",
        "1.3.9999.7.3=",
    ] {
        assert!(subject.contains(needle), "{needle} missing: {subject}");
    }
    assert!(
        subject.contains(r#"postalCode={\"team\":[\"dba\"\,\"a\,b\"]}"#),
        "{subject}"
    );
    assert!(
        !subject.contains("1.3.9999.7.4"),
        "users have no system roles: {subject}"
    );
    assert!(!text.contains("1.3.9999.7.1"), "the JSON extension is gone");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");

    // The expiry attribute is the notAfter instant.
    let cert = parse_cert(&pem_der(&issued.cert_pem)).unwrap();
    let not_after = cert.tbs_certificate.validity.not_after.to_system_time();
    assert_eq!(not_after, expires);
    let stated = time::OffsetDateTime::from(expires)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert!(stated.ends_with('Z'), "{stated}");
    assert!(
        subject.contains(&format!("1.3.9999.7.3={stated}")),
        "{subject}"
    );

    openssl_verify(ca.cert_pem(), &issued.cert_pem, "sslclient");
    webpki_client_verify(&[ca.cert_pem()], &issued.cert_pem, now).unwrap();
}

#[test]
fn minimal_identity_and_refusals() {
    let now = SystemTime::now();
    let ca = ca(now);
    let id = Identity::new("bob", vec![]);
    let issued = ca.issue_client_cert(&id, None, now, HOUR).unwrap();
    let back = Identity::from_certificate_der(&pem_der(&issued.cert_pem)).unwrap();
    assert_eq!(back.username, "bob");
    assert!(back.roles.is_empty() && back.traits.is_empty() && back.logins.is_empty());
    assert!(back.route_to_cluster.is_empty() && back.system_roles.is_empty());

    let err = ca
        .issue_client_cert(&Identity::default(), None, now, HOUR)
        .unwrap_err();
    assert!(err.to_string().contains("empty user name"), "{err}");
    assert!(ca
        .issue_client_cert(&id, None, now, Duration::ZERO)
        .is_err());
    let err = crate::SubjectKey::from_pem("not a key").unwrap_err();
    assert!(err.to_string().contains("public key"), "{err}");
}

#[test]
fn kubernetes_and_app_routes_round_trip_one_attribute_per_value() {
    let now = SystemTime::now();
    let ca = ca(now);
    let mut id = Identity::new("alice", vec!["dev".into()]);
    id.kubernetes_users = vec!["alice@corp".into()];
    id.kubernetes_groups = vec!["system:masters".into(), "viewers,ops".into()];
    id.kubernetes_cluster = "prod-k8s".into();
    id.route_to_app = Some(crate::RouteToApp {
        session_id: "0123abcd".into(),
        public_addr: "grafana.example.com".into(),
        cluster_name: "example".into(),
    });
    let issued = ca.issue_client_cert(&id, None, now, HOUR).unwrap();
    let back = Identity::from_certificate_der(&pem_der(&issued.cert_pem)).unwrap();
    assert_eq!(
        Identity {
            expires: None,
            ..back
        },
        id
    );
    let text = openssl_text(&issued.cert_pem);
    for needle in [
        "1.3.9999.7.5=alice@corp",
        "1.3.9999.7.6=system:masters",
        "1.3.9999.7.6=viewers\\,ops",
        "1.3.9999.7.7=prod-k8s",
        "1.3.9999.7.8=0123abcd",
        "1.3.9999.7.9=grafana.example.com",
        "1.3.9999.7.10=example",
    ] {
        assert!(text.contains(needle), "{needle} missing: {text}");
    }

    // An app route missing a part is no identity.
    id.route_to_app = Some(crate::RouteToApp {
        session_id: "0123abcd".into(),
        ..Default::default()
    });
    let partial = ca.issue_client_cert(&id, None, now, HOUR).unwrap();
    let err = Identity::from_certificate_der(&pem_der(&partial.cert_pem)).unwrap_err();
    assert!(
        err.to_string()
            .contains("id, public address and cluster name"),
        "{err}"
    );
}

#[test]
fn server_certs_verify_and_carry_no_identity() {
    let now = SystemTime::now();
    let ca = TlsAuthority::generate("example", "host ca", now, HOUR).unwrap();
    let again = TlsAuthority::from_pem(ca.cert_pem(), ca.key_pem().unwrap()).unwrap();
    assert_eq!(ca.fingerprint(), again.fingerprint());
    assert_eq!(ca.key_id(), again.key_id());
    let server = again
        .issue_server_cert(
            "auth",
            &["localhost".into()],
            &["127.0.0.1".parse().unwrap()],
            now,
            SERVER_CERT_TTL,
        )
        .unwrap();
    let der = pem_der(&server.cert_pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let ca_der = pem_der(ca.cert_pem());
    let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
    cert.verify_signature(Some(ca_cert.public_key())).unwrap();
    let err = Identity::from_certificate_der(&der).unwrap_err();
    assert!(err.to_string().contains("expiry attribute"), "{err}");
    assert_eq!(authority_key_id(&der).unwrap(), Some(ca.key_id()));
    openssl_verify(ca.cert_pem(), &server.cert_pem, "sslserver");
    webpki_server_verify(ca.cert_pem(), &server.cert_pem, "localhost", now);
    assert!(ca
        .issue_server_cert("auth", &["bad name!".into()], &[], now, HOUR)
        .is_err());
}

#[test]
fn keys_from_ssh_and_spki_sign_verifiable_client_certs() {
    let now = SystemTime::now();
    let ca = ca(now);
    let id = alice();
    let ed = ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).unwrap();
    let line = ed.public_key().to_openssh().unwrap();
    let ed_pem = crate::SubjectKey::from_any(line.as_bytes())
        .unwrap()
        .to_pem()
        .unwrap();
    let p256_pem = {
        let key = SigningKey::random(&mut OsRng);
        let spki = public_spki(&key).unwrap();
        crate::pubkey::spki_to_pem(&spki).unwrap()
    };
    for pem in [&ed_pem, &p256_pem] {
        let key = crate::SubjectKey::from_pem(pem).unwrap();
        let issued = ca.issue_client_cert(&id, Some(&key), now, HOUR).unwrap();
        assert!(issued.key_pem.is_none());
        let der = pem_der(&issued.cert_pem);
        let cert = parse_cert(&der).unwrap();
        let spki_pem =
            crate::pubkey::spki_to_pem(&cert.tbs_certificate.subject_public_key_info).unwrap();
        assert_eq!(&spki_pem, pem, "the certificate is for the given key");
        openssl_verify(ca.cert_pem(), &issued.cert_pem, "sslclient");
        webpki_client_verify(&[ca.cert_pem()], &issued.cert_pem, now).unwrap();
        assert_eq!(
            Identity::from_certificate_der(&der).unwrap().username,
            "alice"
        );
    }
}

#[test]
fn host_certs_carry_system_roles_and_names() {
    let now = SystemTime::now();
    let ca = TlsAuthority::generate("example", "host ca", now, HOUR).unwrap();
    let req = HostTlsRequest {
        host_id: "5b3bd2a4-7d1e-4c7e-9a54-3f0b8f6d1c2a".into(),
        node_name: "node-1".into(),
        cluster_name: "example".into(),
        system_role: "Node".into(),
        dns_names: vec!["node-1.example.com".into()],
        ips: vec!["10.0.0.7".parse().unwrap(), "::1".parse().unwrap()],
        public_key: None,
    };
    let issued = ca.issue_host_cert(&req, now, HOUR).unwrap();
    assert!(issued.key_pem.is_some());
    let der = pem_der(&issued.cert_pem);
    let id = Identity::from_certificate_der(&der).unwrap();
    assert_eq!(id.username, "5b3bd2a4-7d1e-4c7e-9a54-3f0b8f6d1c2a.example");
    assert_eq!(id.roles, vec!["Node".to_owned()]);
    assert_eq!(id.system_roles, vec!["Node".to_owned()]);
    assert!(id.logins.is_empty());
    assert_eq!(authority_key_id(&der).unwrap(), Some(ca.key_id()));

    let text = openssl_text(&issued.cert_pem);
    for needle in [
        "DNS:node-1.example.com",
        "DNS:node-1",
        "DNS:5b3bd2a4-7d1e-4c7e-9a54-3f0b8f6d1c2a",
        "IP Address:10.0.0.7",
        "IP Address:0:0:0:0:0:0:0:1",
        "1.3.9999.7.4=Node",
        "O=Node",
        "TLS Web Server Authentication, TLS Web Client Authentication",
    ] {
        assert!(text.contains(needle), "{needle} missing: {text}");
    }
    openssl_verify(ca.cert_pem(), &issued.cert_pem, "sslserver");
    openssl_verify(ca.cert_pem(), &issued.cert_pem, "sslclient");
    webpki_client_verify(&[ca.cert_pem()], &issued.cert_pem, now).unwrap();
    webpki_server_verify(ca.cert_pem(), &issued.cert_pem, "node-1.example.com", now);
    webpki_server_verify(ca.cert_pem(), &issued.cert_pem, "10.0.0.7", now);

    // Without a cluster the CN is the host id; node names that are no DNS names are left out.
    let req = HostTlsRequest {
        cluster_name: String::new(),
        node_name: "my node".into(),
        dns_names: vec![],
        ..req
    };
    let issued = ca.issue_host_cert(&req, now, HOUR).unwrap();
    let id = Identity::from_certificate_der(&pem_der(&issued.cert_pem)).unwrap();
    assert_eq!(id.username, req.host_id);
    assert!(!openssl_text(&issued.cert_pem).contains("my node"));
    let err = ca
        .issue_host_cert(
            &HostTlsRequest {
                system_role: String::new(),
                ..req
            },
            now,
            HOUR,
        )
        .unwrap_err();
    assert!(err.to_string().contains("no system role"), "{err}");
}

#[test]
fn key_ids_tell_rotated_authorities_apart() {
    let now = SystemTime::now();
    let old = ca(now);
    let new = ca(now);
    assert_ne!(old.key_id(), new.key_id());
    assert_eq!(old.key_id().len(), 20);
    let ca_cert = parse_cert(&pem_der(old.cert_pem())).unwrap();
    assert_eq!(subject_key_id(&ca_cert).unwrap(), Some(old.key_id()));
    let by_old = old.issue_client_cert(&alice(), None, now, HOUR).unwrap();
    let by_new = new.issue_client_cert(&alice(), None, now, HOUR).unwrap();
    assert_eq!(
        authority_key_id(&pem_der(&by_old.cert_pem)).unwrap(),
        Some(old.key_id())
    );
    assert_eq!(
        authority_key_id(&pem_der(&by_new.cert_pem)).unwrap(),
        Some(new.key_id())
    );
    // A verifier trusting both accepts both; one trusting only the new refuses the old.
    webpki_client_verify(&[old.cert_pem(), new.cert_pem()], &by_old.cert_pem, now).unwrap();
    assert!(webpki_client_verify(&[new.cert_pem()], &by_old.cert_pem, now).is_err());
    // The CA certificate itself has no AKI.
    assert_eq!(authority_key_id(&pem_der(old.cert_pem())).unwrap(), None);
    assert!(authority_key_id(b"junk").is_err());
}

/// A CA as an older version stored it: made by rcgen, P-256, PKCS#8 from ring.
#[test]
fn authorities_stored_by_rcgen_still_load_and_sign() {
    let now = SystemTime::now();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "example");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "user ca");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let cert = params.self_signed(&key).unwrap();
    let ca = TlsAuthority::from_pem(&cert.pem(), &key.serialize_pem()).unwrap();
    let ski = parse_cert(cert.der()).unwrap();
    assert_eq!(subject_key_id(&ski).unwrap(), Some(ca.key_id()));
    let issued = ca.issue_client_cert(&alice(), None, now, HOUR).unwrap();
    openssl_verify(ca.cert_pem(), &issued.cert_pem, "sslclient");
    webpki_client_verify(&[ca.cert_pem()], &issued.cert_pem, now).unwrap();
}

/// A CA certificate without a Subject Key Identifier: key_id falls back to method 1.
#[test]
fn authorities_without_ski_use_the_sha1_of_the_key() {
    let now = SystemTime::now();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("ca.key");
    let cert = dir.path().join("ca.pem");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/O=example/CN=old ca",
            "-days",
            "2",
            "-addext",
            "subjectKeyIdentifier=none",
            "-addext",
            "authorityKeyIdentifier=none",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert_pem = std::fs::read_to_string(&cert).unwrap();
    let key_pem = std::fs::read_to_string(&key).unwrap();
    let parsed = parse_cert(&pem_der(&cert_pem)).unwrap();
    assert_eq!(
        subject_key_id(&parsed).unwrap(),
        None,
        "no SKI in the test CA"
    );
    let ca = TlsAuthority::from_pem(&cert_pem, &key_pem).unwrap();
    let expected = sha1::Sha1::digest(
        parsed
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    )
    .to_vec();
    assert_eq!(ca.key_id(), expected);
    let issued = ca.issue_client_cert(&alice(), None, now, HOUR).unwrap();
    assert_eq!(
        authority_key_id(&pem_der(&issued.cert_pem)).unwrap(),
        Some(expected)
    );
    openssl_verify_with(&cert_pem, &issued.cert_pem, "sslclient", false);
    webpki_client_verify(&[&cert_pem], &issued.cert_pem, now).unwrap();
}

#[test]
fn mismatched_or_bad_pem_is_named() {
    let err = TlsAuthority::from_pem("nope", "nope").unwrap_err();
    assert!(
        err.to_string().contains("certificate authority key"),
        "{err}"
    );
    let now = SystemTime::now();
    let a = ca(now);
    let b = ca(now);
    let err = TlsAuthority::from_pem(a.cert_pem(), b.key_pem().unwrap()).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn debug_hides_private_keys() {
    let now = SystemTime::now();
    let ca = ca(now);
    let key_line = ca.key_pem().unwrap().lines().nth(1).unwrap().to_owned();
    let debug = format!("{ca:?}");
    assert!(!debug.contains(&key_line), "{debug}");
    assert!(debug.contains("SHA256:"), "{debug}");
    let issued = ca.issue_client_cert(&alice(), None, now, HOUR).unwrap();
    let key_pem = issued.key_pem.clone().unwrap();
    let debug = format!("{issued:?}");
    assert!(!debug.contains(key_pem.lines().nth(1).unwrap()), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
}

#[test]
fn fingerprint_format() {
    let ca = TlsAuthority::generate("c", "n", SystemTime::now(), Duration::from_secs(60)).unwrap();
    let fp = ca.fingerprint();
    assert!(
        fp.starts_with("SHA256:") && fp.len() == 7 + 32 * 3 - 1,
        "{fp}"
    );
}

#[test]
fn traits_survive_awkward_values() {
    let now = SystemTime::now();
    let ca = ca(now);
    let mut id = Identity::new("ünïcode user", vec!["role=with+special;chars".into()]);
    id.traits = BTreeMap::from([
        ("k8s_groups".into(), vec!["system:masters".into()]),
        ("quote\"d".into(), vec![String::new()]),
    ]);
    let issued = ca.issue_client_cert(&id, None, now, HOUR).unwrap();
    let back = Identity::from_certificate_der(&pem_der(&issued.cert_pem)).unwrap();
    assert_eq!(back.username, id.username);
    assert_eq!(back.roles, id.roles);
    assert_eq!(back.traits, id.traits);
    openssl_verify(ca.cert_pem(), &issued.cert_pem, "sslclient");
}
