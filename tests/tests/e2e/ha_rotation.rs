//! High availability: authority rotations moved through one server change the other's
//! trust, the keys it signs with, the certificate it presents, and the admin identity it
//! keeps.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use portcullis_api::auth::GetCertAuthorityRequest;
use portcullis_api::services::TlsKeyPair;
use portcullis_tests::{rt, s, write_file, Server};

use super::{add_alice, call_as, eventually, phase, sign, signer, Ha, WAIT};

/// `pctl auth rotate --type CA --manual --phase PHASE` through `server`.
fn rotate(server: &Server, ca: &str, phase: &str) {
    server.pctl_ok(&["auth", "rotate", "--type", ca, "--manual", "--phase", phase]);
}

/// Waits until the identity at `prefix` is accepted by `server` (`who` names it).
fn eventually_works(server: &Server, who: &str, prefix: &Path, when: &str) {
    eventually(
        &format!("{} accepted by {who} {when}", prefix.display()),
        WAIT,
        || call_as(server, prefix),
    );
}

/// Waits until the identity at `prefix` is refused by `server` (`who` names it).
fn eventually_refused(server: &Server, who: &str, prefix: &Path, when: &str) {
    eventually(
        &format!("{} refused by {who} {when}", prefix.display()),
        WAIT,
        || match call_as(server, prefix) {
            Ok(()) => Err("accepted".into()),
            Err(_) => Ok(()),
        },
    );
}

/// Waits until `server` reports the `ca` rotation in `expected`.
fn eventually_in_phase(server: &Server, who: &str, ca: &str, expected: &str) {
    let rt = rt();
    eventually(&format!("{who} sees {ca} in {expected}"), WAIT, || {
        let now = rt.block_on(phase(server, ca));
        if now == expected {
            Ok(())
        } else {
            Err(now)
        }
    });
}

/// The `ca` authority's key pairs through `server`'s admin, with secrets: (active,
/// additionally trusted).
fn key_pairs(server: &Server, ca: &str) -> (Vec<TlsKeyPair>, Vec<TlsKeyPair>) {
    rt().block_on(async {
        let client = server.admin_client().await;
        let spec = client
            .rpc()
            .get_cert_authority(GetCertAuthorityRequest {
                r#type: ca.into(),
                domain_name: String::new(),
                with_secrets: true,
            })
            .await
            .unwrap()
            .into_inner()
            .spec
            .unwrap();
        let tls = |set: Option<portcullis_api::services::CaKeySet>| set.unwrap_or_default().tls;
        (tls(spec.active_keys), tls(spec.additional_trusted_keys))
    })
}

/// Issues alice (role `ops`) a certificate with the authority key `pair` itself, at
/// `dir/name.{crt,key,cas}`, trusting the host authorities of `cas_from`'s `.cas`.
fn mint(pair: &TlsKeyPair, dir: &Path, name: &str, cas_from: &Path) -> PathBuf {
    let authority = portcullis_ca::TlsAuthority::from_pem(
        std::str::from_utf8(&pair.cert).unwrap(),
        std::str::from_utf8(&pair.key).unwrap(),
    )
    .unwrap();
    let identity = portcullis_ca::Identity::new("alice", vec!["ops".into()]);
    let issued = authority
        .issue_client_cert(&identity, None, SystemTime::now(), Duration::from_secs(600))
        .unwrap();
    let prefix = dir.join(name);
    write_file(dir, &format!("{name}.crt"), &issued.cert_pem);
    portcullis_tests::openssh::write_private_key(
        &dir.join(format!("{name}.key")),
        issued.key_pem.as_ref().unwrap(),
    );
    std::fs::copy(cas_from.with_extension("cas"), prefix.with_extension("cas")).unwrap();
    prefix
}

#[test]
fn a_user_rotation_moved_through_one_server_changes_the_trust_of_the_other() {
    let ha = Ha::start("");
    let (a, b, dir) = (&ha.a, &ha.b, ha.dir());
    add_alice(a, dir);
    let old = sign(a, dir, "old");
    eventually_works(b, "B", &old, "before the rotation");

    rotate(a, "user", "init");
    eventually_in_phase(b, "B", "user", "init");
    // The new key exists since init; B trusts a certificate it signed.
    let (_, trusted) = key_pairs(a, "user");
    assert_eq!(trusted.len(), 1, "the new key is trusted in init");
    let new_key = trusted[0].clone();
    let minted = mint(&new_key, dir, "minted", &old);
    assert_ne!(signer(&minted), signer(&old));
    eventually_works(b, "B", &minted, "in init");
    eventually_works(a, "A", &minted, "in init");
    eventually_works(b, "B", &old, "in init");

    rotate(a, "user", "update_clients");
    // B signs with the new key now.
    let new = eventually("B signs with the new key in update_clients", WAIT, || {
        let new = sign(b, dir, "new");
        if signer(&new) == signer(&minted) {
            Ok(new)
        } else {
            Err("B still signs with the old key".into())
        }
    });
    for (server, who) in [(a, "A"), (b, "B")] {
        eventually_works(server, who, &old, "in update_clients");
        eventually_works(server, who, &new, "in update_clients");
    }

    rotate(a, "user", "update_servers");
    rotate(a, "user", "standby");
    eventually_in_phase(b, "B", "user", "standby");
    for (server, who) in [(a, "A"), (b, "B")] {
        eventually_refused(server, who, &old, "after standby");
        eventually_works(server, who, &new, "after standby");
        eventually_works(server, who, &minted, "after standby");
    }
    // B serves the new authority, and renewed its own admin identity along the way.
    let (active, trusted) = key_pairs(b, "user");
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].cert, new_key.cert, "B serves the new user CA");
    assert!(trusted.is_empty(), "the old key is no longer trusted");
    eventually(
        "B's own admin identity works after the rotation",
        WAIT,
        || {
            let out = b.pctl(&["status"]);
            if out.status.success() {
                Ok(())
            } else {
                Err(portcullis_tests::stderr(&out))
            }
        },
    );
}

#[test]
fn a_host_rotation_moved_through_one_server_switches_the_certificate_of_the_other() {
    let ha = Ha::start("");
    let (a, b, dir) = (&ha.a, &ha.b, ha.dir());
    add_alice(a, dir);
    // Trusts only the old host CA.
    let before = sign(a, dir, "before");
    eventually_works(b, "B", &before, "before the rotation");

    rotate(a, "host", "init");
    // Identities B issues from now on trust the old and the new host CA.
    let during = eventually("B hands out the new host CA in init", WAIT, || {
        let during = sign(b, dir, "during");
        let cas = std::fs::read_to_string(during.with_extension("cas")).unwrap();
        match cas.matches("BEGIN CERTIFICATE").count() {
            3 => Ok(during),
            n => Err(format!("{n} certificates in {}", s(&during))),
        }
    });
    rotate(a, "host", "update_clients");
    for (server, who) in [(a, "A"), (b, "B")] {
        eventually_works(
            server,
            who,
            &before,
            "in update_clients (old server certificate)",
        );
        eventually_works(server, who, &during, "in update_clients");
    }

    rotate(a, "host", "update_servers");
    for (server, who) in [(a, "A"), (b, "B")] {
        eventually_refused(
            server,
            who,
            &before,
            "once it presents a certificate from the new host CA",
        );
        eventually_works(server, who, &during, "in update_servers");
    }
    rotate(a, "host", "standby");
    for (server, who) in [(a, "A"), (b, "B")] {
        eventually_works(server, who, &during, "after standby");
    }
    eventually(
        "B's own admin identity works after the rotation",
        WAIT,
        || {
            let out = b.pctl(&["status"]);
            if out.status.success() {
                Ok(())
            } else {
                Err(portcullis_tests::stderr(&out))
            }
        },
    );
}
