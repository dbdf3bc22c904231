//! Tests against real SoftHSM2 tokens.
//!
//! A process initializes a PKCS#11 library once, with the configuration `SOFTHSM2_CONF`
//! names at that moment, so every test of this binary uses one SoftHSM2 configuration made
//! before the first token is opened; each test has its own token in it (its own label and
//! PIN), initialized by the real `softhsm2-util`.

use std::sync::Arc;

use portcullis_ca::{ExternalAlgorithm, ExternalKey};
use zeroize::Zeroizing;

use crate::softhsm::{self, SoftHsm};
use crate::{HsmError, KeyHandle, Token};

/// Tokens of this test binary, one per test, and their PINs.
const TOKENS: [&str; 6] = [
    "keys",
    "restart",
    "concurrent",
    "missing",
    "wrong-pin",
    "handles",
];

fn pin(label: &str) -> Zeroizing<String> {
    Zeroizing::new(softhsm::test_pin(label))
}

fn softhsm() -> &'static SoftHsm {
    softhsm::for_tests(&TOKENS).unwrap()
}

fn open(label: &str) -> Arc<Token> {
    let hsm = softhsm();
    assert!(TOKENS.contains(&label));
    Token::open(&hsm.module, label, &pin(label)).unwrap()
}

fn verify(key: &dyn ExternalKey, message: &[u8], signature: &[u8]) {
    match key.algorithm() {
        ExternalAlgorithm::Ed25519 => {
            use ed25519_dalek::Verifier;
            let public =
                ed25519_dalek::VerifyingKey::from_bytes(key.public_key().try_into().unwrap())
                    .unwrap();
            let sig = ed25519_dalek::Signature::from_slice(signature).unwrap();
            public.verify(message, &sig).unwrap();
            assert!(public.verify(b"another message", &sig).is_err());
        }
        ExternalAlgorithm::EcdsaP256 => {
            use p256::ecdsa::signature::Verifier;
            let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(key.public_key()).unwrap();
            let sig = p256::ecdsa::Signature::from_slice(signature).unwrap();
            public.verify(message, &sig).unwrap();
            assert!(public.verify(b"another message", &sig).is_err());
        }
    }
}

#[test]
fn generated_keys_sign_and_never_leave_the_token() {
    let token = open("keys");
    for algorithm in [ExternalAlgorithm::Ed25519, ExternalAlgorithm::EcdsaP256] {
        let key = token.generate(algorithm, "portcullis test").unwrap();
        assert_eq!(key.algorithm(), algorithm);
        assert!(
            key.is_locked_in().unwrap(),
            "{algorithm}: sensitive, not extractable"
        );
        let message = b"to be signed by the token";
        let signature = ExternalKey::sign(&key, message).unwrap();
        verify(&key, message, &signature);
        assert_eq!(key.handle().token, "keys");
        assert_eq!(key.handle().id.len(), 16);
    }
}

#[test]
fn keys_are_found_again_by_their_handle_after_reopening() {
    let token = open("restart");
    let ed = token.generate(ExternalAlgorithm::Ed25519, "a").unwrap();
    let ec = token.generate(ExternalAlgorithm::EcdsaP256, "b").unwrap();
    let handles = [ed.handle().to_uri(), ec.handle().to_uri()];
    drop((ed, ec, token));

    let token = open("restart");
    for (uri, algorithm, public) in [
        (&handles[0], ExternalAlgorithm::Ed25519, 32),
        (&handles[1], ExternalAlgorithm::EcdsaP256, 65),
    ] {
        let key = token.find(&KeyHandle::parse(uri).unwrap()).unwrap();
        assert_eq!(key.algorithm(), algorithm);
        assert_eq!(key.public_key().len(), public);
        let signature = ExternalKey::sign(&key, b"after a restart").unwrap();
        verify(&key, b"after a restart", &signature);
    }
    let unknown = KeyHandle {
        token: "restart".into(),
        id: vec![1, 2, 3],
    };
    let err = token.find(&unknown).unwrap_err();
    assert!(matches!(err, HsmError::NoKey { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("pkcs11:token=restart;id=%01%02%03"),
        "{err}"
    );
    let elsewhere = KeyHandle {
        token: "other".into(),
        id: vec![1],
    };
    assert!(matches!(
        token.find(&elsewhere),
        Err(HsmError::NoKey { .. })
    ));
}

#[test]
fn many_threads_sign_at_once() {
    let token = open("concurrent");
    let keys: Vec<_> = [ExternalAlgorithm::Ed25519, ExternalAlgorithm::EcdsaP256]
        .into_iter()
        .map(|a| Arc::new(token.generate(a, "concurrent").unwrap()))
        .collect();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let keys = keys.clone();
            std::thread::spawn(move || {
                for n in 0..50 {
                    let key = &keys[(i + n) % keys.len()];
                    let message = format!("thread {i} message {n}");
                    let signature = ExternalKey::sign(key.as_ref(), message.as_bytes()).unwrap();
                    verify(key.as_ref(), message.as_bytes(), &signature);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_missing_token_is_named_with_the_tokens_present() {
    let hsm = softhsm();
    let err = Token::open(&hsm.module, "no-such-token", &pin("missing")).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("no PKCS#11 token labelled `no-such-token`"),
        "{text}"
    );
    assert!(
        text.contains("`missing`"),
        "the present tokens are listed: {text}"
    );
    let err = Token::open(
        std::path::Path::new("/nonexistent/libpkcs11.so"),
        "x",
        &pin("x"),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot load the PKCS#11 module `/nonexistent/libpkcs11.so`"),
        "{err}"
    );
}

#[test]
fn a_wrong_pin_is_refused_clearly() {
    let hsm = softhsm();
    let err = Token::open(&hsm.module, "wrong-pin", &Zeroizing::new("nope".into())).unwrap_err();
    assert!(matches!(err, HsmError::WrongPin { .. }), "{err}");
    assert!(
        err.to_string().contains("`wrong-pin` refused the PIN"),
        "{err}"
    );
}

#[test]
fn handles_round_trip_as_pkcs11_uris() {
    let handle = KeyHandle {
        token: "my token;1".into(),
        id: vec![0x00, 0xab, 0x41],
    };
    let uri = handle.to_uri();
    assert_eq!(uri, "pkcs11:token=my%20token%3b1;id=%00%ab%41");
    assert_eq!(KeyHandle::parse(&uri).unwrap(), handle);
    for bad in [
        "-----BEGIN PRIVATE KEY-----",
        "pkcs11:token=a",
        "pkcs11:id=%01",
        "pkcs11:token=a;id=%0",
        "pkcs11:token=a;id=%zz",
        "pkcs11:token=a;id=%01;object=x",
    ] {
        let err = KeyHandle::parse(bad).unwrap_err();
        assert!(matches!(err, HsmError::Handle { .. }), "{bad}: {err}");
    }
    // Keys generated in the token carry handles that parse back.
    let token = open("handles");
    let key = token.generate(ExternalAlgorithm::Ed25519, "h").unwrap();
    assert_eq!(
        &KeyHandle::parse(&key.handle().to_uri()).unwrap(),
        key.handle()
    );
}
