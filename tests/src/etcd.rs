//! A real etcd (Debian's `etcd-server` and `etcd-client`, which scripts/setup installs) on
//! loopback for the
//! tests of the etcd storage backend and of several auth servers on one cluster: one member,
//! its own data directory, and client TLS with client certificates (a throwaway CA signs the
//! server's certificate for 127.0.0.1 and a client certificate; etcd refuses clients without
//! one).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

use crate::openssh::free_port;

/// How long etcd may take to say it serves clients.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The client side of an etcd's TLS: PEM files a client presents and trusts.
#[derive(Debug, Clone)]
pub struct EtcdTls {
    /// The CA that signed the server's certificate (and the client's).
    pub ca: PathBuf,
    /// The client certificate.
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
}

/// A running etcd member; stopped (and waited for) on drop.
pub struct Etcd {
    child: Child,
    /// `https://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The client's TLS files.
    pub tls: EtcdTls,
}

impl Etcd {
    /// Starts etcd with its data and certificates under `dir`; returns once it serves
    /// clients (it says so on its log), or panics with its log.
    pub fn start(dir: &Path) -> Etcd {
        let pki = dir.join("etcd-pki");
        std::fs::create_dir_all(&pki).expect("create the etcd PKI directory");
        let (server, tls) = write_pki(&pki);
        let (client_port, peer_port) = (free_port(), free_port());
        let endpoint = format!("https://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let mut child = Command::new("etcd")
            .args(["--name", "portcullis-test"])
            .arg("--data-dir")
            .arg(dir.join("etcd-data"))
            .args(["--listen-client-urls", &endpoint])
            .args(["--advertise-client-urls", &endpoint])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("portcullis-test={peer}")])
            .arg("--cert-file")
            .arg(&server.0)
            .arg("--key-file")
            .arg(&server.1)
            .arg("--trusted-ca-file")
            .arg(&tls.ca)
            .arg("--client-cert-auth")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run etcd (scripts/setup installs Debian's etcd-server): {e}")
            });
        let stderr = child.stderr.take().expect("etcd's stderr");
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut log = String::new();
            let mut ready = Some(ready_tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log.push_str(&line);
                log.push('\n');
                if line.contains("ready to serve client requests") {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(Ok(()));
                    }
                }
            }
            // The log ended before etcd was ready: it exited.
            if let Some(tx) = ready {
                let _ = tx.send(Err(log));
            }
        });
        match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(())) => Etcd {
                child,
                endpoint,
                tls,
            },
            Ok(Err(log)) => panic!("etcd exited before serving clients:\n{log}"),
            Err(_) => {
                let _ = child.kill();
                panic!("etcd did not serve clients within {START_TIMEOUT:?}")
            }
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a CA, a server certificate for 127.0.0.1 and a client certificate under `dir`;
/// returns the server's (cert, key) paths and the client's files.
fn write_pki(dir: &Path) -> ((PathBuf, PathBuf), EtcdTls) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params
        .distinguished_name
        .push(DnType::CommonName, "etcd test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("CA key");
    let ca = CertifiedIssuer::self_signed(params, ca_key).expect("self-signed CA");
    let leaf = |name: &str, purpose: ExtendedKeyUsagePurpose| {
        let sans = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let mut params = CertificateParams::new(sans).expect("leaf parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &ca).expect("sign a leaf");
        let (cert_path, key_path) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).expect("write a certificate");
        portcullis_api::private::write_private(&key_path, key.serialize_pem().as_bytes())
            .expect("write a private key");
        (cert_path, key_path)
    };
    let server = leaf("server", ExtendedKeyUsagePurpose::ServerAuth);
    let (cert, key) = leaf("client", ExtendedKeyUsagePurpose::ClientAuth);
    let ca_path = dir.join("ca.crt");
    std::fs::write(&ca_path, ca.pem()).expect("write the CA certificate");
    let tls = EtcdTls {
        ca: ca_path,
        cert,
        key,
    };
    (server, tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// etcd starts with client TLS and answers a client with a certificate, and refuses one
    /// without (so the backend's tests really exercise client certificates).
    #[test]
    fn etcd_serves_only_clients_with_certificates() {
        let tmp = tempfile::tempdir().unwrap();
        let etcd = Etcd::start(tmp.path());
        let etcdctl = |with_certificate: bool| {
            let mut cmd = Command::new("etcdctl");
            cmd.env("ETCDCTL_API", "3")
                .args(["--endpoints", &etcd.endpoint, "--dial-timeout", "3s"])
                .arg("--cacert")
                .arg(&etcd.tls.ca);
            if with_certificate {
                cmd.arg("--cert").arg(&etcd.tls.cert);
                cmd.arg("--key").arg(&etcd.tls.key);
            }
            cmd.args(["endpoint", "health"]).output().unwrap()
        };
        let with = etcdctl(true);
        let said = String::from_utf8_lossy(&with.stdout).into_owned()
            + &String::from_utf8_lossy(&with.stderr);
        assert!(
            with.status.success() && said.contains("is healthy"),
            "{said}"
        );
        let without = etcdctl(false);
        assert!(!without.status.success(), "{without:?}");
    }
}
