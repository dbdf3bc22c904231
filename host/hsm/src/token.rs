//! Opening a token, and the sessions signatures run in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use portcullis_ca::ExternalAlgorithm;
use zeroize::Zeroizing;

use crate::key::{self, TokenKey};
use crate::{HsmError, KeyHandle, Result};

/// Sessions kept open for signing when idle; more are opened under load and closed after.
const IDLE_SESSIONS: usize = 8;

/// Bytes of a generated key's `CKA_ID`.
const ID_BYTES: u32 = 16;

/// The libraries loaded so far, by path: a PKCS#11 library is initialized once per process.
fn modules() -> &'static Mutex<HashMap<PathBuf, Pkcs11>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    MODULES.get_or_init(Default::default)
}

fn load_module(path: &Path) -> Result<Pkcs11> {
    let mut loaded = modules().lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(module) = loaded.get(path) {
        return Ok(module.clone());
    }
    let fail = |reason: String| HsmError::Module {
        path: path.to_owned(),
        reason,
    };
    let module = Pkcs11::new(path).map_err(|e| fail(e.to_string()))?;
    match module.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(fail(format!("initialization failed: {e}"))),
    }
    loaded.insert(path.to_owned(), module.clone());
    Ok(module)
}

/// A logged-in PKCS#11 token.
pub struct Token {
    label: String,
    slot: Slot,
    module: Pkcs11,
    /// Holds the login, and makes keys (read-write).
    admin: Mutex<Session>,
    /// Idle read-only sessions for signing.
    idle: Mutex<Vec<Session>>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// Loads the PKCS#11 library at `module`, finds the token labelled `label` and logs in as
    /// its user with `pin`.
    pub fn open(module: &Path, label: &str, pin: &Zeroizing<String>) -> Result<Arc<Self>> {
        let pkcs11 = load_module(module)?;
        let call = |what: &'static str| {
            let label = label.to_owned();
            move |source| HsmError::Call {
                label: label.clone(),
                what,
                source,
            }
        };
        let mut present = Vec::new();
        let mut found = None;
        for slot in pkcs11
            .get_slots_with_token()
            .map_err(call("listing the slots"))?
        {
            let info = pkcs11
                .get_token_info(slot)
                .map_err(call("reading a token's description"))?;
            let name = info.label().trim_end().to_owned();
            if name == label {
                found = Some(slot);
                break;
            }
            present.push(format!("`{name}`"));
        }
        let Some(slot) = found else {
            return Err(HsmError::NoToken {
                label: label.to_owned(),
                module: module.to_owned(),
                present: if present.is_empty() {
                    "none".into()
                } else {
                    present.join(", ")
                },
            });
        };
        let admin = pkcs11
            .open_rw_session(slot)
            .map_err(call("opening a session"))?;
        let secret = AuthPin::from(pin.trim_end_matches(['\n', '\r']).to_owned());
        match admin.login(UserType::User, Some(&secret)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinLocked | RvError::PinLenRange,
                _,
            )) => {
                return Err(HsmError::WrongPin {
                    label: label.to_owned(),
                })
            }
            Err(e) => return Err(call("logging in")(e)),
        }
        Ok(Arc::new(Self {
            label: label.to_owned(),
            slot,
            module: pkcs11,
            admin: Mutex::new(admin),
            idle: Mutex::new(Vec::new()),
        }))
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn error(&self, what: &'static str) -> impl Fn(CkError) -> HsmError + '_ {
        move |source| HsmError::Call {
            label: self.label.clone(),
            what,
            source,
        }
    }

    /// Generates a key pair in the token; its private half cannot leave it. `label` becomes
    /// both objects' `CKA_LABEL` (for operators listing the token), a random `CKA_ID` links
    /// them and is what the returned key's [`TokenKey::handle`] names.
    pub fn generate(
        self: &Arc<Self>,
        algorithm: ExternalAlgorithm,
        label: &str,
    ) -> Result<TokenKey> {
        let session = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let id = session
            .generate_random_vec(ID_BYTES)
            .map_err(self.error("drawing a key id"))?;
        let (mechanism, params) = match algorithm {
            ExternalAlgorithm::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, key::ED25519_PARAMS),
            ExternalAlgorithm::EcdsaP256 => (Mechanism::EccKeyPairGen, key::P256_PARAMS),
        };
        let common = [
            Attribute::Token(true),
            Attribute::Id(id.clone()),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let mut public = vec![
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params.to_vec()),
        ];
        public.extend(common.iter().cloned());
        let mut private = vec![
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ];
        private.extend(common);
        let (public_handle, private_handle) = session
            .generate_key_pair(&mechanism, &public, &private)
            .map_err(self.error("generating a key pair"))?;
        let point =
            ec_point(&session, public_handle).map_err(self.error("reading a public key"))?;
        drop(session);
        let handle = KeyHandle {
            token: self.label.clone(),
            id,
        };
        TokenKey::new(self.clone(), handle, private_handle, algorithm, &point)
    }

    /// Finds the key `handle` names (generated earlier, maybe by another process).
    pub fn find(self: &Arc<Self>, handle: &KeyHandle) -> Result<TokenKey> {
        if handle.token != self.label {
            return Err(HsmError::NoKey {
                handle: handle.to_uri(),
                label: self.label.clone(),
            });
        }
        let session = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let one = |class: ObjectClass| -> Result<ObjectHandle> {
            let found = session
                .find_objects(&[Attribute::Class(class), Attribute::Id(handle.id.clone())])
                .map_err(self.error("looking up a key"))?;
            match found.as_slice() {
                [one] => Ok(*one),
                [] => Err(HsmError::NoKey {
                    handle: handle.to_uri(),
                    label: self.label.clone(),
                }),
                _ => Err(HsmError::KeyKind {
                    handle: handle.to_uri(),
                    reason: format!("{} objects of one class share its id", found.len()),
                }),
            }
        };
        let private_handle = one(ObjectClass::PRIVATE_KEY)?;
        let public_handle = one(ObjectClass::PUBLIC_KEY)?;
        let attributes = session
            .get_attributes(
                public_handle,
                &[AttributeType::KeyType, AttributeType::EcParams],
            )
            .map_err(self.error("reading a public key"))?;
        let mut key_type = None;
        let mut params = Vec::new();
        for attribute in attributes {
            match attribute {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::EcParams(p) => params = p,
                _ => {}
            }
        }
        let algorithm = match key_type {
            Some(t) if t == KeyType::EC_EDWARDS => ExternalAlgorithm::Ed25519,
            Some(t) if t == KeyType::EC && params == key::P256_PARAMS => {
                ExternalAlgorithm::EcdsaP256
            }
            other => {
                return Err(HsmError::KeyKind {
                    handle: handle.to_uri(),
                    reason: format!("key type {other:?}"),
                })
            }
        };
        let point =
            ec_point(&session, public_handle).map_err(self.error("reading a public key"))?;
        drop(session);
        TokenKey::new(
            self.clone(),
            handle.clone(),
            private_handle,
            algorithm,
            &point,
        )
    }

    /// Runs `f` in an idle session (opening one when all are busy) and keeps the session
    /// for the next call.
    pub(crate) fn in_session<T>(
        &self,
        what: &'static str,
        f: impl FnOnce(&Session) -> std::result::Result<T, CkError>,
    ) -> Result<T> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let session = match idle {
            Some(session) => session,
            None => self
                .module
                .open_ro_session(self.slot)
                .map_err(self.error("opening a session"))?,
        };
        let out = f(&session).map_err(self.error(what))?;
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < IDLE_SESSIONS {
            idle.push(session);
        }
        Ok(out)
    }

    /// Signs `data` with the private key `key` and `mechanism`.
    pub(crate) fn sign(
        &self,
        mechanism: &Mechanism,
        key: ObjectHandle,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        self.in_session("signing", |session| session.sign(mechanism, key, data))
    }
}

/// The `CKA_EC_POINT` of a public key object.
fn ec_point(session: &Session, public: ObjectHandle) -> std::result::Result<Vec<u8>, CkError> {
    let attributes = session.get_attributes(public, &[AttributeType::EcPoint])?;
    Ok(attributes
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p),
            _ => None,
        })
        .unwrap_or_default())
}
