//! Tests of JWT authorities.

use super::*;
use base64ct::{Base64UrlUnpadded, Encoding};

fn claims() -> AppTokenClaims {
    AppTokenClaims {
        username: "alice".into(),
        roles: vec!["dev".into(), "ops,admin".into()],
        uri: "https://grafana.example.com".into(),
        issuer: "example-cluster".into(),
    }
}

fn part(token: &str, i: usize) -> Value {
    let bytes = Base64UrlUnpadded::decode_vec(token.split('.').nth(i).unwrap()).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn b64(v: &Value) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(v.as_str().unwrap()).unwrap()
}

/// Verifies with ring, from the key material published in the JWK only.
fn ring_verify(jwk: &Value, token: &str) {
    let (signed, sig) = token.rsplit_once('.').unwrap();
    let sig = Base64UrlUnpadded::decode_vec(sig).unwrap();
    match jwk["kty"].as_str().unwrap() {
        "OKP" => ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, b64(&jwk["x"]))
            .verify(signed.as_bytes(), &sig)
            .unwrap(),
        "RSA" => ring::signature::RsaPublicKeyComponents {
            n: b64(&jwk["n"]),
            e: b64(&jwk["e"]),
        }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &sig,
        )
        .unwrap(),
        other => panic!("kty {other}"),
    }
}

#[test]
fn tokens_sign_verify_and_interoperate() {
    let now = SystemTime::now();
    let ttl = Duration::from_secs(300);
    for (alg, alg_name, kty) in [
        (JwtAlgorithm::Ed25519, "EdDSA", "OKP"),
        (JwtAlgorithm::Rs256, "RS256", "RSA"),
    ] {
        let ca = JwtAuthority::generate(alg).unwrap();
        assert_eq!(ca.algorithm(), alg);
        let token = ca.sign_app_token(&claims(), now, ttl).unwrap();
        let header = part(&token, 0);
        assert_eq!(header["alg"], alg_name);
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], ca.key_id().as_str());
        assert_eq!(app_token_key_id(&token).unwrap(), Some(ca.key_id()));
        let body = part(&token, 1);
        let iat = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(body["iss"], "example-cluster");
        assert_eq!(body["sub"], "alice");
        assert_eq!(body["username"], "alice");
        assert_eq!(body["aud"], "https://grafana.example.com");
        assert_eq!(body["roles"], json!(["dev", "ops,admin"]));
        assert_eq!(body["iat"], iat);
        assert_eq!(body["nbf"], iat - 60);
        assert_eq!(body["exp"], iat + 300);

        let back = verify_app_token(&token, &ca.public_key_pem(), now).unwrap();
        assert_eq!(back, claims());

        let jwk = ca.jwk();
        assert_eq!(jwk["kty"], kty);
        assert_eq!(jwk["alg"], alg_name);
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], ca.key_id().as_str());
        ring_verify(&jwk, &token);

        // Validity window.
        assert!(verify_app_token(&token, &ca.public_key_pem(), now + ttl)
            .unwrap_err()
            .to_string()
            .contains("expired"));
        let early = now - Duration::from_secs(61);
        assert!(verify_app_token(&token, &ca.public_key_pem(), early)
            .unwrap_err()
            .to_string()
            .contains("not valid yet"));

        // Tampering and wrong keys.
        let mut forged = claims();
        forged.roles.push("root".into());
        let other = ca.sign_app_token(&forged, now, ttl).unwrap();
        let spliced = format!(
            "{}.{}.{}",
            token.split('.').next().unwrap(),
            other.split('.').nth(1).unwrap(),
            token.split('.').nth(2).unwrap()
        );
        assert!(verify_app_token(&spliced, &ca.public_key_pem(), now).is_err());
        let stranger = JwtAuthority::generate(alg).unwrap();
        assert!(verify_app_token(&token, &stranger.public_key_pem(), now).is_err());
        assert_ne!(stranger.key_id(), ca.key_id());
    }
}

#[test]
fn algorithm_confusion_is_refused() {
    let now = SystemTime::now();
    let ed = JwtAuthority::generate(JwtAlgorithm::Ed25519).unwrap();
    let rsa = JwtAuthority::generate(JwtAlgorithm::Rs256).unwrap();
    let token = ed
        .sign_app_token(&claims(), now, Duration::from_secs(60))
        .unwrap();
    let err = verify_app_token(&token, &rsa.public_key_pem(), now).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    assert!(verify_app_token("a.b", &ed.public_key_pem(), now).is_err());
    assert!(ed.sign_app_token(&claims(), now, Duration::ZERO).is_err());
}

#[test]
fn keys_round_trip_through_pem_and_jwks() {
    let now = SystemTime::now();
    let ed = JwtAuthority::generate(JwtAlgorithm::default()).unwrap();
    let rsa = JwtAuthority::generate(JwtAlgorithm::Rs256).unwrap();
    for ca in [&ed, &rsa] {
        let pem = ca.private_key_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(ca
            .public_key_pem()
            .starts_with("-----BEGIN PUBLIC KEY-----"));
        let again = JwtAuthority::from_pem(&pem).unwrap();
        assert_eq!(again.algorithm(), ca.algorithm());
        assert_eq!(again.key_id(), ca.key_id());
        assert_eq!(again.public_key_pem(), ca.public_key_pem());
        assert_eq!(again.jwk(), ca.jwk());
        let token = again
            .sign_app_token(&claims(), now, Duration::from_secs(60))
            .unwrap();
        verify_app_token(&token, &ca.public_key_pem(), now).unwrap();
        // Debug never shows the private key.
        let debug = format!("{ca:?}");
        assert!(!debug.contains(pem.lines().nth(1).unwrap()), "{debug}");
        assert!(debug.contains(&ca.key_id()), "{debug}");
    }
    let rsa_jwk = rsa.jwk();
    assert_eq!(b64(&rsa_jwk["n"]).len(), 256);
    assert_eq!(b64(&rsa_jwk["e"]), vec![1, 0, 1]);
    assert_eq!(b64(&ed.jwk()["x"]).len(), 32);
    assert_eq!(ed.jwk()["crv"], "Ed25519");

    let ed_pem = ed.public_key_pem();
    let rsa_pem = rsa.public_key_pem();
    let set = jwks_from_public_pems(&[&ed_pem, &rsa_pem, &ed_pem]).unwrap();
    assert_eq!(set, json!({ "keys": [ed.jwk(), rsa.jwk()] }));
    assert!(jwks_from_public_pems(&["nope"]).is_err());
    // A private key is not a public key.
    assert!(jwks_from_public_pems(&[&ed.private_key_pem().unwrap()]).is_err());
}

#[test]
fn bad_input_is_named() {
    assert_eq!(
        "ed25519".parse::<JwtAlgorithm>().unwrap(),
        JwtAlgorithm::Ed25519
    );
    assert_eq!(
        "rs256".parse::<JwtAlgorithm>().unwrap(),
        JwtAlgorithm::Rs256
    );
    let err = "hs256".parse::<JwtAlgorithm>().unwrap_err();
    assert!(
        err.to_string().contains("`hs256`") && err.to_string().contains("ed25519, rs256"),
        "{err}"
    );
    let err = JwtAuthority::from_pem("nope").unwrap_err();
    assert!(err.to_string().contains("JWT private key"), "{err}");
    // A P-256 PKCS#8 key is well-formed but not a JWT key.
    let p256_pem = p256::SecretKey::random(&mut OsRng)
        .to_pkcs8_pem(der::pem::LineEnding::LF)
        .unwrap();
    let err = JwtAuthority::from_pem(&p256_pem).unwrap_err();
    assert!(err.to_string().contains("unsupported"), "{err}");
}
