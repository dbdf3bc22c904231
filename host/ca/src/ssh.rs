//! SSH certificate authorities: key pairs, user and host certificates, and the lines
//! OpenSSH reads to trust them (`cert-authority` in authorized_keys, `@cert-authority` in
//! known_hosts).
//!
//! Authority keys are Ed25519 (default), ECDSA P-256 or RSA-3072; RSA authorities sign with
//! `rsa-sha2-512`. Private keys are held by `ssh_key::PrivateKey`, which zeroizes them on drop,
//! and by the signer prepared from it when the authority is loaded ([`signer`]).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use rand_core::OsRng;
use ssh_key::certificate::{Builder, CertType};
use ssh_key::private::{KeypairData, RsaKeypair};
use ssh_key::public::{EcdsaPublicKey, Ed25519PublicKey, KeyData};
use ssh_key::{Algorithm, EcdsaCurve, HashAlg, LineEnding, PrivateKey, PublicKey};
use zeroize::Zeroizing;

use crate::external::{ExternalAlgorithm, SharedKey};
use crate::{Error, Result};

mod rsa_signer;
mod signer;

/// Key algorithms an SSH authority can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SshAlgorithm {
    /// Ed25519 (the default).
    #[default]
    Ed25519,
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// RSA with a 3072-bit modulus; certificates are signed with `rsa-sha2-512`
    /// (PKCS#1 v1.5 over SHA-512).
    Rsa3072,
}

/// Modulus size of generated RSA authority keys.
const RSA_BITS: usize = 3072;

impl std::str::FromStr for SshAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ed25519" => Ok(Self::Ed25519),
            "rsa3072" | "rsa-3072" | "rsa" => Ok(Self::Rsa3072),
            "ecdsa-p256" | "ecdsa" | "p256" => Ok(Self::EcdsaP256),
            other => Err(Error::Ssh(format!(
                "unknown SSH key algorithm `{other}` (known: ed25519, ecdsa-p256, rsa3072)"
            ))),
        }
    }
}

/// The standard OpenSSH permissions a user certificate may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    /// `permit-pty`.
    pub pty: bool,
    /// `permit-port-forwarding`.
    pub port_forwarding: bool,
    /// `permit-agent-forwarding`.
    pub agent_forwarding: bool,
    /// `permit-X11-forwarding`.
    pub x11_forwarding: bool,
}

impl Default for Permissions {
    fn default() -> Self {
        Self {
            pty: true,
            port_forwarding: true,
            agent_forwarding: false,
            x11_forwarding: false,
        }
    }
}

/// What goes into an SSH user certificate.
#[derive(Debug, Clone, Default)]
pub struct UserCertRequest {
    /// The subject's public key in OpenSSH (`authorized_keys`) format.
    pub public_key: String,
    /// Key id: the user name.
    pub key_id: String,
    /// Principals: the logins the certificate is valid for.
    pub principals: Vec<String>,
    /// Standard permissions.
    pub permissions: Permissions,
    /// Further extensions (name -> value), e.g. the holder's roles.
    pub extensions: BTreeMap<String, String>,
    /// How long the certificate is valid from now.
    pub ttl: Duration,
}

/// What goes into an SSH host certificate.
#[derive(Debug, Clone, Default)]
pub struct HostCertRequest {
    /// The host's public key in OpenSSH format.
    pub public_key: String,
    /// Key id: the host id.
    pub key_id: String,
    /// Principals: host id, node name and extra addresses.
    pub principals: Vec<String>,
    /// How long the certificate is valid from now.
    pub ttl: Duration,
}

/// An SSH certificate authority: one signing key pair.
pub struct SshAuthority {
    /// `None` when the key is held outside the process.
    key: Option<PrivateKey>,
    public: PublicKey,
    signer: signer::CaSigner,
}

impl std::fmt::Debug for SshAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshAuthority")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

fn ssh_err(what: &str) -> impl Fn(ssh_key::Error) -> Error + '_ {
    move |e| Error::Ssh(format!("{what}: {e}"))
}

impl SshAuthority {
    /// Generates a new authority key pair.
    pub fn generate(algorithm: SshAlgorithm) -> Result<Self> {
        let key = match algorithm {
            SshAlgorithm::Ed25519 => PrivateKey::random(&mut OsRng, Algorithm::Ed25519),
            SshAlgorithm::EcdsaP256 => PrivateKey::random(
                &mut OsRng,
                Algorithm::Ecdsa {
                    curve: EcdsaCurve::NistP256,
                },
            ),
            SshAlgorithm::Rsa3072 => RsaKeypair::random(&mut OsRng, RSA_BITS)
                .and_then(|pair| PrivateKey::new(KeypairData::from(pair), "")),
        }
        .map_err(ssh_err("cannot generate an SSH key"))?;
        Self::new(key)
    }

    /// Loads an authority from its OpenSSH private key.
    pub fn from_openssh(private_key: &str) -> Result<Self> {
        let key = PrivateKey::from_openssh(private_key)
            .map_err(ssh_err("invalid SSH authority private key"))?;
        Self::new(key)
    }

    fn new(key: PrivateKey) -> Result<Self> {
        let signer = signer::CaSigner::new(&key)?;
        Ok(Self {
            public: key.public_key().clone(),
            key: Some(key),
            signer,
        })
    }

    /// An authority whose Ed25519 or ECDSA P-256 key is held outside the process: every
    /// certificate is signed by `key`.
    pub fn from_external(key: SharedKey) -> Result<Self> {
        let bytes = key.public_key();
        let data = match key.algorithm() {
            ExternalAlgorithm::Ed25519 => {
                let raw: [u8; 32] = bytes.try_into().map_err(|_| {
                    Error::Ssh(format!(
                        "{}: an Ed25519 public key has 32 bytes, not {}",
                        key.describe(),
                        bytes.len()
                    ))
                })?;
                KeyData::Ed25519(Ed25519PublicKey(raw))
            }
            ExternalAlgorithm::EcdsaP256 => KeyData::Ecdsa(
                EcdsaPublicKey::from_sec1_bytes(bytes)
                    .map_err(ssh_err("invalid P-256 public key of an external SSH key"))?,
            ),
        };
        let public = PublicKey::new(data.clone(), "");
        Ok(Self {
            key: None,
            public,
            signer: signer::CaSigner::external(key, data),
        })
    }

    /// Whether the private key is held outside the process.
    pub fn is_external(&self) -> bool {
        self.key.is_none()
    }

    /// The private key in OpenSSH format. Handle with care. Fails for an external key.
    pub fn private_key_openssh(&self) -> Result<Zeroizing<String>> {
        let Some(key) = &self.key else {
            return Err(Error::Ssh(
                "the SSH authority key is held outside the process and cannot be exported".into(),
            ));
        };
        key.to_openssh(LineEnding::LF)
            .map_err(ssh_err("cannot encode the SSH private key"))
    }

    /// The public key in OpenSSH format (`ssh-ed25519 AAAA...`).
    pub fn public_key_openssh(&self) -> Result<String> {
        let mut public = self.public.clone();
        public.set_comment("");
        public
            .to_openssh()
            .map_err(ssh_err("cannot encode the SSH public key"))
    }

    /// The `authorized_keys` line that makes sshd trust user certificates from this CA.
    pub fn authorized_keys_line(&self) -> Result<String> {
        Ok(format!("cert-authority {}", self.public_key_openssh()?))
    }

    /// The `known_hosts` line that makes ssh trust host certificates from this CA for hosts
    /// matching `pattern` (e.g. `*`).
    pub fn known_hosts_line(&self, pattern: &str) -> Result<String> {
        Ok(format!(
            "@cert-authority {pattern} {}",
            self.public_key_openssh()?
        ))
    }

    /// SHA-256 fingerprint of the public key, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        self.public.fingerprint(HashAlg::Sha256).to_string()
    }

    /// A builder with the fields every certificate has: subject key, validity, a random
    /// serial, type, key id and principals.
    fn builder(
        &self,
        public_key: &str,
        cert_type: CertType,
        key_id: &str,
        principals: &[String],
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Builder> {
        if ttl.is_zero() {
            return Err(Error::Validity("time to live must be positive".into()));
        }
        let subject = PublicKey::from_openssh(public_key.trim())
            .map_err(ssh_err("invalid SSH public key"))?;
        let secs = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .map_err(|_| Error::Validity("time before 1970".into()))
        };
        // Backdated a minute to tolerate clock differences, as for X.509.
        let after = secs(now)?.saturating_sub(60);
        let before = secs(now)?.saturating_add(ttl.as_secs());
        let mut builder = Builder::new_with_random_nonce(&mut OsRng, subject, after, before)
            .map_err(ssh_err("invalid certificate validity"))?;
        let mut serial = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut serial);
        builder
            .serial(u64::from_be_bytes(serial))
            .and_then(|b| b.cert_type(cert_type))
            .and_then(|b| b.key_id(key_id))
            .map_err(ssh_err("certificate fields"))?;
        for principal in principals {
            builder
                .valid_principal(principal.as_str())
                .map_err(ssh_err("principal"))?;
        }
        Ok(builder)
    }

    fn finish(&self, builder: Builder) -> Result<String> {
        let cert = builder
            .sign(&self.signer)
            .map_err(ssh_err("cannot sign the certificate"))?;
        cert.to_openssh()
            .map_err(ssh_err("cannot encode the certificate"))
    }

    /// Signs a user certificate; returns it in OpenSSH format (`...-cert-v01@openssh.com`).
    pub fn sign_user_cert(&self, req: &UserCertRequest, now: SystemTime) -> Result<String> {
        if req.principals.is_empty() {
            return Err(Error::Ssh(format!(
                "user `{}` has no logins: a certificate without principals would be valid for every login",
                req.key_id
            )));
        }
        let mut builder = self.builder(
            &req.public_key,
            CertType::User,
            &req.key_id,
            &req.principals,
            now,
            req.ttl,
        )?;
        let p = req.permissions;
        let standard = [
            ("permit-pty", p.pty),
            ("permit-port-forwarding", p.port_forwarding),
            ("permit-agent-forwarding", p.agent_forwarding),
            ("permit-X11-forwarding", p.x11_forwarding),
        ];
        for (name, on) in standard {
            if on {
                builder.extension(name, "").map_err(ssh_err("extension"))?;
            }
        }
        for (name, value) in &req.extensions {
            builder
                .extension(name.as_str(), value.as_str())
                .map_err(ssh_err("extension"))?;
        }
        self.finish(builder)
    }

    /// Signs a host certificate; returns it in OpenSSH format.
    pub fn sign_host_cert(&self, req: &HostCertRequest, now: SystemTime) -> Result<String> {
        if req.principals.is_empty() {
            return Err(Error::Ssh(format!(
                "host `{}` has no principals",
                req.key_id
            )));
        }
        let builder = self.builder(
            &req.public_key,
            CertType::Host,
            &req.key_id,
            &req.principals,
            now,
            req.ttl,
        )?;
        self.finish(builder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A subject key pair made by the real `ssh-keygen`; returns its public key line.
    fn subject_key(dir: &std::path::Path) -> String {
        let path = dir.join("id");
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&path)
            .output()
            .expect("ssh-keygen is installed (openssh-client)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(path.with_extension("pub")).unwrap()
    }

    /// What `ssh-keygen -L` says about a certificate.
    fn describe(dir: &std::path::Path, cert: &str) -> String {
        let path = dir.join("id-cert.pub");
        std::fs::write(&path, cert).unwrap();
        let out = Command::new("ssh-keygen")
            .arg("-L")
            .arg("-f")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn user_certificates_read_back_with_ssh_keygen() {
        let dir = tempfile::tempdir().unwrap();
        let public_key = subject_key(dir.path());
        for (alg, label) in [
            (SshAlgorithm::Ed25519, "Signing CA: ED25519 "),
            (SshAlgorithm::EcdsaP256, "Signing CA: ECDSA "),
            (SshAlgorithm::Rsa3072, "Signing CA: RSA "),
        ] {
            let ca = SshAuthority::generate(alg).unwrap();
            let req = UserCertRequest {
                public_key: public_key.clone(),
                key_id: "alice".into(),
                principals: vec!["alice".into(), "root".into()],
                permissions: Permissions {
                    agent_forwarding: true,
                    ..Permissions::default()
                },
                extensions: BTreeMap::from([(
                    "portcullis-roles@portcullis".into(),
                    "dev,ops".into(),
                )]),
                ttl: Duration::from_secs(3600),
            };
            let now = SystemTime::now();
            let cert = ca
                .sign_user_cert(&req, now)
                .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
            let parsed = ssh_key::Certificate::from_openssh(&cert).unwrap();
            let unix = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let ca_fp = PrivateKey::from_openssh(ca.private_key_openssh().unwrap())
                .unwrap()
                .fingerprint(HashAlg::Sha256);
            parsed.validate_at(unix, [&ca_fp]).unwrap();
            let other = SshAuthority::generate(SshAlgorithm::Ed25519).unwrap();
            let other_fp = other.public.fingerprint(HashAlg::Sha256);
            assert!(parsed.validate_at(unix, [&other_fp]).is_err());
            if alg == SshAlgorithm::Rsa3072 {
                assert_eq!(parsed.signature().algorithm().as_str(), "rsa-sha2-512");
                assert!(
                    describe(dir.path(), &cert).contains("(using rsa-sha2-512)"),
                    "RSA signature algorithm"
                );
                assert!(ca.public_key_openssh().unwrap().starts_with("ssh-rsa AAAA"));
            }
            let text = describe(dir.path(), &cert);
            assert!(text.contains(label), "{alg:?}: {text}");
            assert!(
                text.contains("ssh-ed25519-cert-v01@openssh.com user certificate"),
                "{text}"
            );
            assert!(text.contains("Key ID: \"alice\""), "{text}");
            assert!(
                text.contains("alice\n") && text.contains("root\n"),
                "{text}"
            );
            for ext in [
                "permit-pty",
                "permit-port-forwarding",
                "permit-agent-forwarding",
                "portcullis-roles@portcullis",
            ] {
                assert!(text.contains(ext), "{alg:?}: {ext} missing: {text}");
            }
            assert!(!text.contains("permit-X11-forwarding"), "{text}");
            assert!(
                text.contains(&ca.fingerprint()),
                "signed by this CA: {text}"
            );
        }
    }

    #[test]
    fn host_certificates_and_trust_lines() {
        let dir = tempfile::tempdir().unwrap();
        let ca = SshAuthority::generate(SshAlgorithm::Ed25519).unwrap();
        let req = HostCertRequest {
            public_key: subject_key(dir.path()),
            key_id: "host-1".into(),
            principals: vec!["host-1".into(), "node.example".into(), "127.0.0.1".into()],
            ttl: Duration::from_secs(600),
        };
        let text = describe(
            dir.path(),
            &ca.sign_host_cert(&req, SystemTime::now()).unwrap(),
        );
        assert!(
            text.contains("host certificate") && text.contains("node.example"),
            "{text}"
        );
        assert!(ca
            .authorized_keys_line()
            .unwrap()
            .starts_with("cert-authority ssh-ed25519 AAAA"));
        assert!(ca
            .known_hosts_line("*")
            .unwrap()
            .starts_with("@cert-authority * ssh-ed25519 AAAA"));
    }

    #[test]
    fn keys_round_trip_and_bad_input_is_named() {
        let ca = SshAuthority::generate(SshAlgorithm::Ed25519).unwrap();
        let again = SshAuthority::from_openssh(&ca.private_key_openssh().unwrap()).unwrap();
        assert_eq!(ca.fingerprint(), again.fingerprint());
        let err = SshAuthority::from_openssh("nope").unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid SSH authority private key"),
            "{err}"
        );
        let mut req = UserCertRequest {
            public_key: "ssh-ed25519 garbage".into(),
            key_id: "bob".into(),
            principals: vec!["bob".into()],
            ttl: Duration::from_secs(60),
            ..Default::default()
        };
        let err = ca.sign_user_cert(&req, SystemTime::now()).unwrap_err();
        assert!(err.to_string().contains("invalid SSH public key"), "{err}");
        req.principals.clear();
        let err = ca.sign_user_cert(&req, SystemTime::now()).unwrap_err();
        assert!(err.to_string().contains("has no logins"), "{err}");
        let err = "dsa".parse::<SshAlgorithm>().unwrap_err();
        assert!(err.to_string().contains("rsa3072"), "{err}");
        for name in ["rsa3072", "rsa-3072", "rsa"] {
            assert_eq!(name.parse::<SshAlgorithm>().unwrap(), SshAlgorithm::Rsa3072);
        }
    }

    #[test]
    fn rsa_keys_round_trip_and_are_3072_bits() {
        let ca = SshAuthority::generate(SshAlgorithm::Rsa3072).unwrap();
        let pem = ca.private_key_openssh().unwrap();
        let again = SshAuthority::from_openssh(&pem).unwrap();
        assert_eq!(ca.fingerprint(), again.fingerprint());
        let ssh_key::private::KeypairData::Rsa(pair) = again.key.as_ref().unwrap().key_data()
        else {
            panic!("not RSA");
        };
        let n = rsa::BigUint::try_from(&pair.public.n).unwrap();
        assert_eq!(n.bits(), 3072);
        assert!(!format!("{again:?}").contains(pem.lines().nth(1).unwrap()));
    }

    #[test]
    fn rsa_keys_made_by_ssh_keygen_sign() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca");
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "3072", "-N", "", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success());
        let ca = SshAuthority::from_openssh(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let req = HostCertRequest {
            public_key: subject_key(dir.path()),
            key_id: "host-1".into(),
            principals: vec!["host-1".into()],
            ttl: Duration::from_secs(600),
        };
        let text = describe(
            dir.path(),
            &ca.sign_host_cert(&req, SystemTime::now()).unwrap(),
        );
        assert!(text.contains("Signing CA: RSA "), "{text}");
        assert!(text.contains(&ca.fingerprint()), "{text}");
    }

    #[test]
    fn debug_hides_private_keys() {
        for alg in [SshAlgorithm::Ed25519, SshAlgorithm::EcdsaP256] {
            let ca = SshAuthority::generate(alg).unwrap();
            let pem = ca.private_key_openssh().unwrap();
            let debug = format!("{ca:?}");
            assert!(!debug.contains(pem.lines().nth(1).unwrap()), "{debug}");
            assert!(debug.contains(&ca.fingerprint()), "{debug}");
        }
    }
}
