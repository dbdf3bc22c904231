//! Client TLS credentials from `.crt`/`.key`/`.cas` files, like the Go
//! client's `LoadTLSConfig` in the API reference.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::error::{Error, Result};
use crate::AUTH_SERVER_NAME;

/// The three PEM files of a client identity: its certificate, its private key
/// and the CA certificates that the server's certificate must chain to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// Client certificate (PEM).
    pub cert: PathBuf,
    /// Client private key (PEM).
    pub key: PathBuf,
    /// CA certificates to trust (PEM, one or more).
    pub cas: PathBuf,
}

impl TlsFiles {
    /// The files named explicitly.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>, cas: impl Into<PathBuf>) -> Self {
        TlsFiles {
            cert: cert.into(),
            key: key.into(),
            cas: cas.into(),
        }
    }

    /// `<prefix>.crt`, `<prefix>.key` and `<prefix>.cas`, as written by
    /// `auth sign --format=tls --out=<prefix>` (e.g. `certs/api-admin`).
    pub fn from_prefix(prefix: impl AsRef<Path>) -> Self {
        let prefix = prefix.as_ref().as_os_str();
        let with = |ext: &str| {
            let mut name = prefix.to_owned();
            name.push(ext);
            PathBuf::from(name)
        };
        TlsFiles {
            cert: with(".crt"),
            key: with(".key"),
            cas: with(".cas"),
        }
    }

    /// `<dir>/<name>.crt`, `<dir>/<name>.key` and `<dir>/<name>.cas`.
    pub fn in_dir(dir: impl AsRef<Path>, name: &str) -> Self {
        Self::from_prefix(dir.as_ref().join(name))
    }

    /// One identity file, as written by `auth sign --format=file --out=<path>`: the private
    /// key, then the client certificate, then the CA certificates to trust (all PEM; other
    /// lines, such as an SSH certificate, are ignored).
    pub fn identity_file(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        TlsFiles {
            cert: path.clone(),
            key: path.clone(),
            cas: path,
        }
    }

    fn is_identity_file(&self) -> bool {
        self.cert == self.key && self.key == self.cas
    }
}

/// The `CERTIFICATE` blocks of a PEM document, each as its own PEM text.
fn certificate_blocks(pem: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        let end = start + len + END.len();
        blocks.push(format!("{}\n", &rest[start..end]));
        rest = &rest[end..];
    }
    blocks
}

/// PEM documents one after the other, each ending with one newline (a `.cas` file).
pub fn pem_list(pems: &[String]) -> String {
    let mut out = String::new();
    for pem in pems {
        out.push_str(pem.trim_end());
        out.push('\n');
    }
    out
}

/// Reads and checks the PEM files and builds a client TLS configuration that
/// presents the certificate and trusts only the given CAs, verifying the
/// server as [`AUTH_SERVER_NAME`].
pub fn load_tls_config(files: &TlsFiles) -> Result<ClientTlsConfig> {
    if files.is_identity_file() {
        return load_identity_file(&files.cert);
    }
    let cert = read(&files.cert)?;
    if parse_certs(&files.cert, &cert)? == 0 {
        return Err(Error::NoCertificate {
            path: files.cert.clone(),
        });
    }

    let key = read(&files.key)?;
    let found =
        rustls_pemfile::private_key(&mut key.as_slice()).map_err(|source| Error::InvalidPem {
            path: files.key.clone(),
            source,
        })?;
    if found.is_none() {
        return Err(Error::NoPrivateKey {
            path: files.key.clone(),
        });
    }

    let cas = read(&files.cas)?;
    if parse_certs(&files.cas, &cas)? == 0 {
        return Err(Error::InvalidCaPem {
            path: files.cas.clone(),
        });
    }

    Ok(ClientTlsConfig::new()
        .domain_name(AUTH_SERVER_NAME)
        .ca_certificate(Certificate::from_pem(cas))
        .identity(Identity::from_pem(cert, key)))
}

fn load_identity_file(path: &Path) -> Result<ClientTlsConfig> {
    let text = read(path)?;
    let text = String::from_utf8_lossy(&text);
    let found =
        rustls_pemfile::private_key(&mut text.as_bytes()).map_err(|source| Error::InvalidPem {
            path: path.to_owned(),
            source,
        })?;
    if found.is_none() {
        return Err(Error::NoPrivateKey {
            path: path.to_owned(),
        });
    }
    parse_certs(path, text.as_bytes())?;
    let blocks = certificate_blocks(&text);
    let Some((cert, cas)) = blocks.split_first() else {
        return Err(Error::NoCertificate {
            path: path.to_owned(),
        });
    };
    if cas.is_empty() {
        return Err(Error::InvalidCaPem {
            path: path.to_owned(),
        });
    }
    Ok(ClientTlsConfig::new()
        .domain_name(AUTH_SERVER_NAME)
        .ca_certificate(Certificate::from_pem(cas.concat()))
        .identity(Identity::from_pem(cert, text.as_bytes())))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::ReadFile {
        path: path.to_owned(),
        source,
    })
}

/// Number of certificates in a PEM file.
fn parse_certs(path: &Path, pem: &[u8]) -> Result<usize> {
    let mut count = 0;
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        cert.map_err(|source| Error::InvalidPem {
            path: path.to_owned(),
            source,
        })?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests;
