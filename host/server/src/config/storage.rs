//! The `storage:` section: the embedded RocksDB store (the default) or an etcd cluster that
//! several auth servers share.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{interval, ConfigError};

/// The etcd key prefix when none is configured.
pub const DEFAULT_ETCD_PREFIX: &str = "/portcullis";

/// How long to wait for a connection to an etcd member when nothing else is configured.
pub const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// The `storage:` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSection {
    /// `rocksdb` (default) or `etcd`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// etcd client URLs, e.g. `https://10.0.0.1:2379`.
    pub endpoints: Vec<String>,
    /// Key prefix in etcd (default `/portcullis`).
    pub prefix: Option<String>,
    /// Client TLS to etcd.
    pub tls: Option<EtcdTlsSection>,
    /// How long to wait for a connection to a member, e.g. `5s` (the default).
    pub dial_timeout: Option<String>,
}

/// `storage.tls`: PEM files.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EtcdTlsSection {
    /// CA certificates that sign etcd's server certificates.
    pub ca: Option<PathBuf>,
    /// The client certificate presented to etcd.
    pub cert: Option<PathBuf>,
    /// Its private key.
    pub key: Option<PathBuf>,
}

/// Where the server keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// RocksDB under `DATA_DIR/store`.
    RocksDb,
    /// An etcd cluster.
    Etcd(EtcdStorage),
}

/// The etcd settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdStorage {
    /// Client URLs.
    pub endpoints: Vec<String>,
    /// Key prefix.
    pub prefix: String,
    /// CA, certificate and key files for TLS to etcd.
    pub tls: Option<EtcdTlsFiles>,
    /// Connection timeout.
    pub dial_timeout: Duration,
}

/// TLS files for etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdTlsFiles {
    /// CA bundle.
    pub ca: PathBuf,
    /// Client certificate.
    pub cert: PathBuf,
    /// Client key.
    pub key: PathBuf,
}

/// Storage settings given as flags, which win over the file.
#[derive(Debug, Default, Clone)]
pub struct StorageFlags {
    /// `--storage`.
    pub kind: Option<String>,
    /// `--etcd-endpoints`.
    pub endpoints: Vec<String>,
    /// `--etcd-prefix`.
    pub prefix: Option<String>,
}

fn invalid(field: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        message: message.into(),
    }
}

impl StorageSection {
    /// Merges the section with the flags and checks it.
    pub fn resolve(self, flags: StorageFlags) -> Result<Storage, ConfigError> {
        let endpoints = if flags.endpoints.is_empty() {
            self.endpoints
        } else {
            flags.endpoints
        };
        // Endpoints on the command line alone mean etcd.
        let implied = (!endpoints.is_empty()).then_some("etcd");
        let kind = flags
            .kind
            .or(self.kind)
            .unwrap_or_else(|| implied.unwrap_or("rocksdb").to_owned());
        match kind.as_str() {
            "rocksdb" => {
                if !endpoints.is_empty() || self.tls.is_some() {
                    return Err(invalid(
                        "storage",
                        "endpoints and tls are etcd settings, but storage.type is rocksdb",
                    ));
                }
                Ok(Storage::RocksDb)
            }
            "etcd" => {
                if endpoints.is_empty() {
                    return Err(invalid(
                        "storage.endpoints",
                        "etcd storage needs at least one endpoint, e.g. https://127.0.0.1:2379",
                    ));
                }
                for endpoint in &endpoints {
                    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                        return Err(invalid(
                            "storage.endpoints",
                            format!("`{endpoint}` is not an http:// or https:// URL"),
                        ));
                    }
                }
                let prefix = flags
                    .prefix
                    .or(self.prefix)
                    .unwrap_or_else(|| DEFAULT_ETCD_PREFIX.to_owned());
                if !prefix.starts_with('/') || prefix.len() < 2 || prefix.ends_with('/') {
                    return Err(invalid(
                        "storage.prefix",
                        format!(
                            "`{prefix}` must start with `/`, name something, and not end with `/`"
                        ),
                    ));
                }
                let tls = self.tls.map(EtcdTlsSection::resolve).transpose()?;
                let plain = endpoints.iter().any(|e| e.starts_with("http://"));
                if tls.is_some() && plain {
                    return Err(invalid(
                        "storage.endpoints",
                        "storage.tls is set but an endpoint is http://; use https:// URLs",
                    ));
                }
                Ok(Storage::Etcd(EtcdStorage {
                    endpoints,
                    prefix,
                    tls,
                    dial_timeout: interval(
                        "storage.dial_timeout",
                        self.dial_timeout,
                        DEFAULT_DIAL_TIMEOUT,
                    )?,
                }))
            }
            other => Err(invalid(
                "storage.type",
                format!("`{other}` is not a storage type (rocksdb or etcd)"),
            )),
        }
    }
}

impl EtcdTlsSection {
    fn resolve(self) -> Result<EtcdTlsFiles, ConfigError> {
        let need = |field: &'static str, value: Option<PathBuf>| {
            value.ok_or_else(|| invalid(field, "TLS to etcd needs ca, cert and key files"))
        };
        Ok(EtcdTlsFiles {
            ca: need("storage.tls.ca", self.ca)?,
            cert: need("storage.tls.cert", self.cert)?,
            key: need("storage.tls.key", self.key)?,
        })
    }
}

impl EtcdStorage {
    /// The store's connection options, with the TLS files read.
    pub fn options(&self) -> Result<portcullis_store::EtcdOptions, ConfigError> {
        let mut options = portcullis_store::EtcdOptions::new(self.endpoints.clone());
        options.prefix = self.prefix.clone().into_bytes();
        options.dial_timeout = self.dial_timeout;
        if let Some(files) = &self.tls {
            let read = |field: &'static str, path: &PathBuf| {
                std::fs::read(path)
                    .map_err(|e| invalid(field, format!("cannot read `{}`: {e}", path.display())))
            };
            options.tls = Some(portcullis_store::EtcdTls {
                ca_pem: read("storage.tls.ca", &files.ca)?,
                cert_pem: read("storage.tls.cert", &files.cert)?,
                key_pem: read("storage.tls.key", &files.key)?,
            });
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> StorageSection {
        portcullis_api::yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn rocksdb_is_the_default() {
        let storage = StorageSection::default()
            .resolve(StorageFlags::default())
            .unwrap();
        assert_eq!(storage, Storage::RocksDb);
    }

    #[test]
    fn etcd_with_tls() {
        let storage = parse(
            "type: etcd\nendpoints: [https://127.0.0.1:2379]\nprefix: /prod\ndial_timeout: 2s\n\
             tls: {ca: /e/ca.pem, cert: /e/c.pem, key: /e/k.pem}\n",
        )
        .resolve(StorageFlags::default())
        .unwrap();
        let Storage::Etcd(etcd) = storage else {
            panic!("not etcd")
        };
        assert_eq!(etcd.prefix, "/prod");
        assert_eq!(etcd.dial_timeout, Duration::from_secs(2));
        assert_eq!(etcd.tls.unwrap().key, PathBuf::from("/e/k.pem"));
    }

    #[test]
    fn flags_win_and_endpoints_imply_etcd() {
        let storage = StorageSection::default()
            .resolve(StorageFlags {
                endpoints: vec!["http://127.0.0.1:2379".into()],
                ..StorageFlags::default()
            })
            .unwrap();
        assert!(matches!(storage, Storage::Etcd(e) if e.prefix == DEFAULT_ETCD_PREFIX));
    }

    #[test]
    fn bad_settings_are_named() {
        for (yaml, field) in [
            ("type: etcd\n", "storage.endpoints"),
            ("type: mongo\n", "storage.type"),
            (
                "type: etcd\nendpoints: [127.0.0.1:2379]\n",
                "storage.endpoints",
            ),
            (
                "type: etcd\nendpoints: [http://a:1]\nprefix: /p/\n",
                "storage.prefix",
            ),
            (
                "type: etcd\nendpoints: [https://a:1]\ntls: {ca: /x}\n",
                "storage.tls.cert",
            ),
            (
                "type: etcd\nendpoints: [http://a:1]\ntls: {ca: /x, cert: /y, key: /z}\n",
                "storage.endpoints",
            ),
            ("endpoints: [http://a:1]\ntype: rocksdb\n", "storage"),
            (
                "type: etcd\nendpoints: [http://a:1]\ndial_timeout: soon\n",
                "storage.dial_timeout",
            ),
        ] {
            let err = parse(yaml).resolve(StorageFlags::default()).unwrap_err();
            assert!(
                err.to_string().contains(&format!("`{field}`")),
                "{yaml}: {err}"
            );
        }
    }
}
