//! Server configuration: a YAML file, overridden by command-line flags.

mod keys;
mod rate_limits;
mod storage;
pub use keys::{KeyBackend, KeysSection, Pkcs11Keys};
pub use rate_limits::RateLimitsSection;

pub use storage::{
    EtcdStorage, EtcdTlsFiles, Storage, StorageFlags, StorageSection, DEFAULT_ETCD_PREFIX,
};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Address the server listens on when nothing else is configured.
pub const DEFAULT_LISTEN: &str = portcullis_api::DEFAULT_AUTH_ADDR;

/// Cluster name given to a new cluster when none is configured.
pub const DEFAULT_CLUSTER_NAME: &str = "portcullis";

/// How often expired records are swept from the store by default.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid configuration.
    #[error("invalid config file `{path}`: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong, with the field path.
        message: String,
    },
    /// A value is not usable.
    #[error("invalid setting `{field}`: {message}")]
    Invalid {
        /// The setting.
        field: &'static str,
        /// What was wrong.
        message: String,
    },
}

/// The configuration file, as written by an operator. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// Name of the cluster; fixed on first start.
    pub cluster_name: Option<String>,
    /// Where the store, the CA keys and the admin identity live.
    pub data_dir: Option<PathBuf>,
    /// `host:port` to listen on.
    pub listen_addr: Option<String>,
    /// Extra DNS names or IP addresses put in the server certificate.
    pub public_addrs: Vec<String>,
    /// Log filter, e.g. `info` or `portcullis_server=debug`.
    pub log_level: Option<String>,
    /// How often expired records are swept, e.g. `10s`.
    pub sweep_interval: Option<String>,
    /// How often automatic certificate authority rotations are checked, e.g. `5s`.
    pub rotation_check_interval: Option<String>,
    /// Key algorithms of newly generated authority keys.
    pub ca: CaSection,
    /// Where the authorities' private keys live: `store` (default) or a `pkcs11` token.
    pub keys: KeysSection,
    /// Server-wide limits of policy module evaluations.
    pub policy: PolicySection,
    /// Static provisioning tokens, `ROLES:TOKEN` (e.g. `node,proxy:7f3c...`): they never
    /// expire and can only be changed here.
    pub tokens: Vec<String>,
    /// How long an access request may stay pending, e.g. `1h` (the default).
    pub access_request_ttl: Option<String>,
    /// Where the cluster's data lives: RocksDB in the data directory (default) or etcd.
    pub storage: StorageSection,
    /// `host:port` of the plain-HTTP diagnostics listener (`/healthz`, `/readyz`,
    /// `/metrics`); off when unset.
    pub diag_addr: Option<String>,
    /// Limits of session recordings.
    pub sessions: SessionsSection,
    /// Passwords, lockout and web sessions.
    pub users: UsersSection,
    /// The most items a listing returns in one answer when it is not paged (`Limit` 0, as
    /// clients from before paging ask); more is refused, naming the paging fields (default
    /// 10000).
    pub max_unpaged_list: Option<usize>,
    /// The most client connections open at once, handshakes in progress included; more are
    /// closed as they arrive (default 10000).
    pub max_connections: Option<usize>,
    /// The most calls open at once on one connection; a client's further calls wait
    /// (default 1000).
    pub max_streams_per_connection: Option<u32>,
    /// The largest request message accepted, in bytes; larger ones fail with OUT_OF_RANGE
    /// (default 4194304, 4 MiB).
    pub max_message_bytes: Option<usize>,
    /// Per-caller quotas of certificate issuance, joins, password checks and policy
    /// uploads.
    pub rate_limits: RateLimitsSection,
}

/// The `users:` section of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsersSection {
    /// Shortest password accepted, in characters (default 12).
    pub password_min_length: Option<usize>,
    /// Failed password checks within `login_attempt_window` that lock a user (default 5).
    pub max_login_attempts: Option<u32>,
    /// How far back failed checks count, e.g. `30m` (the default).
    pub login_attempt_window: Option<String>,
    /// How long a lock lasts, e.g. `30m` (the default).
    pub lockout_duration: Option<String>,
    /// How long a web session lasts, e.g. `12h` (the default).
    pub web_session_ttl: Option<String>,
}

impl UsersSection {
    fn resolve(self) -> Result<crate::users::Settings, ConfigError> {
        use crate::users::settings as d;
        let attempts = positive(
            "users.max_login_attempts",
            self.max_login_attempts.map(|n| n as usize),
            d::DEFAULT_MAX_LOGIN_ATTEMPTS as usize,
        )?;
        Ok(crate::users::Settings {
            min_password_length: positive(
                "users.password_min_length",
                self.password_min_length,
                d::DEFAULT_MIN_PASSWORD_LENGTH,
            )?,
            max_login_attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            attempt_window: interval(
                "users.login_attempt_window",
                self.login_attempt_window,
                d::DEFAULT_ATTEMPT_WINDOW,
            )?,
            lockout: interval(
                "users.lockout_duration",
                self.lockout_duration,
                d::DEFAULT_LOCKOUT,
            )?,
            web_session_ttl: interval(
                "users.web_session_ttl",
                self.web_session_ttl,
                d::DEFAULT_WEB_SESSION_TTL,
            )?,
        })
    }
}

/// The `sessions:` section of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsSection {
    /// Largest event of a recording in bytes (default 65536).
    pub max_event_bytes: Option<usize>,
    /// Largest recording in bytes (default 268435456, 256 MiB).
    pub max_session_bytes: Option<u64>,
}

/// The `policy:` section of the configuration file: defaults for modules uploaded without
/// their own limits (guest-sdk/ABI.md §3).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySection {
    /// Instruction budget per call (default 10000000).
    pub fuel: Option<u64>,
    /// Wall-clock deadline per call, e.g. `100ms` (the default).
    pub timeout: Option<String>,
    /// Largest linear memory in bytes (default 16 MiB, at most 64 MiB).
    pub memory_bytes: Option<usize>,
    /// Largest output document in bytes (default 64 KiB).
    pub output_bytes: Option<usize>,
    /// Largest module accepted at upload, in bytes (default 8 MiB).
    pub max_module_bytes: Option<usize>,
    /// Most functions a module may define (default 50000).
    pub max_functions: Option<u32>,
    /// Largest body of one function, in bytes (default 524288).
    pub max_function_bytes: Option<u32>,
    /// Most locals one function may declare (default 10000).
    pub max_locals: Option<u32>,
    /// Most bytes a module's data segments may hold together (default 4 MiB).
    pub max_data_bytes: Option<u64>,
    /// How long compiling an upload may take, e.g. `10s` (the default); a slower one is
    /// refused. One module compiles at a time, on one thread.
    pub compile_timeout: Option<String>,
    /// How long compiling a component (ABI v2) may take, e.g. `120s` (the default): a
    /// language runtime inside one (Python's, JavaScript's) is far more code than a module.
    pub component_compile_timeout: Option<String>,
    /// A fixed time (RFC 3339) that modules see instead of the system clock, for staging
    /// and tests of time-dependent policies. Never set it in production.
    pub clock: Option<String>,
}

/// The `ca:` section of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaSection {
    /// SSH key algorithm of the user and host authorities: `ed25519` (default), `ecdsa-p256`
    /// or `rsa3072`. Applies to keys generated from now on (first start, next rotation).
    pub ssh_algorithm: Option<String>,
    /// JWT signing algorithm: `ed25519` (default) or `rs256`.
    pub jwt_algorithm: Option<String>,
}

/// The effective configuration after defaults, file and flags are merged.
#[derive(Debug, Clone)]
pub struct Config {
    /// Cluster name (used on first start; later starts must agree with the stored one).
    pub cluster_name: Option<String>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Listen address.
    pub listen_addr: SocketAddr,
    /// Extra names for the server certificate.
    pub public_addrs: Vec<String>,
    /// Log filter.
    pub log_level: String,
    /// Expiry sweep interval.
    pub sweep_interval: Duration,
    /// Automatic rotation check interval.
    pub rotation_check_interval: Duration,
    /// Algorithms of newly generated authority keys.
    pub algorithms: crate::keyring::Algorithms,
    /// Where the authorities' private keys live.
    pub keys: KeyBackend,
    /// Default limits of policy evaluations.
    pub policy_limits: portcullis_policy::Limits,
    /// Static provisioning tokens.
    pub static_tokens: Vec<crate::tokens::StaticToken>,
    /// How long an access request may stay pending.
    pub access_request_ttl: Duration,
    /// What a policy module must be to be accepted at upload (size and shape).
    pub policy_validation: portcullis_policy::ValidationLimits,
    /// How long compiling an upload may take.
    pub policy_compile_timeout: Duration,
    /// How long compiling a component upload may take.
    pub policy_component_compile_timeout: Duration,
    /// The fixed time policy modules see, if any.
    pub policy_clock: Option<std::time::SystemTime>,
    /// Where the cluster's data lives.
    pub storage: Storage,
    /// The diagnostics listener's address, if it is on.
    pub diag_addr: Option<SocketAddr>,
    /// Limits of session recordings.
    pub session_limits: crate::sessions::Limits,
    /// Passwords, lockout and web sessions.
    pub users: crate::users::Settings,
    /// The most items an unpaged listing returns.
    pub max_unpaged_list: usize,
    /// What the transport allows its clients.
    pub transport: crate::transport::TransportLimits,
    /// Per-caller quotas of the expensive RPCs.
    pub rate_limits: crate::ratelimit::RateLimitConfig,
}

pub(crate) fn interval(
    field: &'static str,
    value: Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let parsed = match value {
        None => default,
        Some(s) => humantime::parse_duration(&s).map_err(|e| ConfigError::Invalid {
            field,
            message: format!("`{s}`: {e}"),
        })?,
    };
    if parsed.is_zero() {
        return Err(ConfigError::Invalid {
            field,
            message: "must be longer than zero".into(),
        });
    }
    Ok(parsed)
}

/// `value`, or `default` when unset; zero is refused.
fn positive<N: Default + PartialEq>(
    field: &'static str,
    value: Option<N>,
    default: N,
) -> Result<N, ConfigError> {
    match value {
        None => Ok(default),
        Some(zero) if zero == N::default() => Err(ConfigError::Invalid {
            field,
            message: "must be larger than zero".into(),
        }),
        Some(v) => Ok(v),
    }
}

fn algorithm<T: std::str::FromStr<Err = portcullis_ca::Error> + Default>(
    field: &'static str,
    value: Option<String>,
) -> Result<T, ConfigError> {
    match value {
        None => Ok(T::default()),
        Some(s) => s
            .parse()
            .map_err(|e: portcullis_ca::Error| ConfigError::Invalid {
                field,
                message: e.to_string(),
            }),
    }
}

/// Values given on the command line, which win over the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--listen`.
    pub listen_addr: Option<String>,
    /// `--cluster-name`.
    pub cluster_name: Option<String>,
    /// `--log-level`.
    pub log_level: Option<String>,
    /// `--storage`, `--etcd-endpoints`, `--etcd-prefix`.
    pub storage: StorageFlags,
    /// `--diag-addr`.
    pub diag_addr: Option<String>,
}

pub use portcullis_api::default_data_dir;

impl FileConfig {
    /// Reads and parses a YAML configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Parses YAML text; an empty document is the empty configuration.
    pub fn parse(text: &str) -> Result<Self, portcullis_api::yaml::YamlError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        portcullis_api::yaml::from_str(text)
    }

    /// Merges this file with command-line overrides and defaults.
    pub fn resolve(self, flags: Overrides) -> Result<Config, ConfigError> {
        let listen = flags
            .listen_addr
            .or(self.listen_addr)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen_addr = listen.parse().map_err(|e| ConfigError::Invalid {
            field: "listen_addr",
            message: format!("`{listen}` is not host:port with an IP address: {e}"),
        })?;
        let sweep_interval = interval(
            "sweep_interval",
            self.sweep_interval,
            DEFAULT_SWEEP_INTERVAL,
        )?;
        let rotation_check_interval = interval(
            "rotation_check_interval",
            self.rotation_check_interval,
            crate::keyring::rotate::DEFAULT_CHECK_INTERVAL,
        )?;
        let defaults = portcullis_policy::Limits::default();
        let policy_limits = portcullis_policy::Limits {
            fuel: match self.policy.fuel {
                Some(0) => {
                    return Err(ConfigError::Invalid {
                        field: "policy.fuel",
                        message: "must be larger than zero".into(),
                    })
                }
                Some(f) => f,
                None => defaults.fuel,
            },
            timeout: interval("policy.timeout", self.policy.timeout, defaults.timeout)?,
            memory_bytes: positive(
                "policy.memory_bytes",
                self.policy.memory_bytes,
                defaults.memory_bytes,
            )?,
            output_bytes: positive(
                "policy.output_bytes",
                self.policy.output_bytes,
                defaults.output_bytes,
            )?,
        };
        let shape = portcullis_policy::ShapeLimits::default();
        let policy_validation = portcullis_policy::ValidationLimits {
            max_module_bytes: positive(
                "policy.max_module_bytes",
                self.policy.max_module_bytes,
                portcullis_policy::DEFAULT_MAX_MODULE_BYTES,
            )?,
            shape: portcullis_policy::ShapeLimits {
                max_functions: positive(
                    "policy.max_functions",
                    self.policy.max_functions,
                    shape.max_functions,
                )?,
                max_function_bytes: positive(
                    "policy.max_function_bytes",
                    self.policy.max_function_bytes,
                    shape.max_function_bytes,
                )?,
                max_locals: positive(
                    "policy.max_locals",
                    self.policy.max_locals,
                    shape.max_locals,
                )?,
                max_data_bytes: positive(
                    "policy.max_data_bytes",
                    self.policy.max_data_bytes,
                    shape.max_data_bytes,
                )?,
                ..shape
            },
        };
        let policy_compile_timeout = interval(
            "policy.compile_timeout",
            self.policy.compile_timeout,
            crate::modules::DEFAULT_COMPILE_TIMEOUT,
        )?;
        let policy_component_compile_timeout = interval(
            "policy.component_compile_timeout",
            self.policy.component_compile_timeout,
            crate::modules::DEFAULT_COMPONENT_COMPILE_TIMEOUT,
        )?;
        let policy_clock = match &self.policy.clock {
            None => None,
            Some(text) => {
                Some(
                    humantime::parse_rfc3339_weak(text).map_err(|e| ConfigError::Invalid {
                        field: "policy.clock",
                        message: format!("`{text}` is not an RFC 3339 time: {e}"),
                    })?,
                )
            }
        };
        let algorithms = crate::keyring::Algorithms {
            ssh: algorithm("ca.ssh_algorithm", self.ca.ssh_algorithm)?,
            jwt: algorithm("ca.jwt_algorithm", self.ca.jwt_algorithm)?,
        };
        let keys = self.keys.resolve(algorithms)?;
        let mut static_tokens = Vec::new();
        for (i, text) in self.tokens.iter().enumerate() {
            let token = crate::tokens::parse_static_token(text).map_err(|message| {
                ConfigError::Invalid {
                    field: "tokens",
                    message: format!("tokens[{i}]: {message}"),
                }
            })?;
            static_tokens.push(token);
        }
        let access_request_ttl = interval(
            "access_request_ttl",
            self.access_request_ttl,
            crate::access_requests::DEFAULT_PENDING_TTL,
        )?;
        let session_defaults = crate::sessions::Limits::default();
        let session_limits = crate::sessions::Limits {
            max_event_bytes: positive(
                "sessions.max_event_bytes",
                self.sessions.max_event_bytes,
                session_defaults.max_event_bytes,
            )?,
            max_session_bytes: match self.sessions.max_session_bytes {
                Some(0) => {
                    return Err(ConfigError::Invalid {
                        field: "sessions.max_session_bytes",
                        message: "must be larger than zero".into(),
                    })
                }
                Some(n) => n,
                None => session_defaults.max_session_bytes,
            },
        };
        let users = self.users.resolve()?;
        let max_unpaged_list = positive(
            "max_unpaged_list",
            self.max_unpaged_list,
            crate::resources::paging::DEFAULT_MAX_UNPAGED,
        )?;
        let defaults = crate::transport::TransportLimits::default();
        let transport = crate::transport::TransportLimits {
            max_connections: positive(
                "max_connections",
                self.max_connections,
                defaults.max_connections,
            )?,
            max_streams_per_connection: positive(
                "max_streams_per_connection",
                self.max_streams_per_connection,
                defaults.max_streams_per_connection,
            )?,
            max_message_bytes: positive(
                "max_message_bytes",
                self.max_message_bytes,
                defaults.max_message_bytes,
            )?,
        };
        let storage = self.storage.resolve(flags.storage)?;
        let diag_addr = match flags.diag_addr.or(self.diag_addr) {
            None => None,
            Some(text) => Some(text.parse().map_err(|e| ConfigError::Invalid {
                field: "diag_addr",
                message: format!("`{text}` is not host:port with an IP address: {e}"),
            })?),
        };
        Ok(Config {
            users,
            max_unpaged_list,
            transport,
            rate_limits: self.rate_limits.resolve()?,
            session_limits,
            storage,
            diag_addr,
            static_tokens,
            access_request_ttl,
            cluster_name: flags.cluster_name.or(self.cluster_name),
            data_dir: flags
                .data_dir
                .or(self.data_dir)
                .unwrap_or_else(default_data_dir),
            listen_addr,
            public_addrs: self.public_addrs,
            log_level: flags
                .log_level
                .or(self.log_level)
                .unwrap_or_else(|| "info".to_owned()),
            sweep_interval,
            rotation_check_interval,
            algorithms,
            keys,
            policy_limits,
            policy_validation,
            policy_compile_timeout,
            policy_component_compile_timeout,
            policy_clock,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file() {
        let file = FileConfig::parse("listen_addr: 127.0.0.1:4000\ncluster_name: a\n").unwrap();
        let cfg = file
            .resolve(Overrides {
                listen_addr: Some("127.0.0.1:5000".into()),
                ..Overrides::default()
            })
            .unwrap();
        assert_eq!(cfg.listen_addr.port(), 5000);
        assert_eq!(cfg.cluster_name.as_deref(), Some("a"));
        assert_eq!(cfg.sweep_interval, DEFAULT_SWEEP_INTERVAL);
    }

    #[test]
    fn unknown_field_is_named() {
        let err = FileConfig::parse("listen: 1\n").unwrap_err().to_string();
        assert!(err.contains("unknown field `listen`"), "{err}");
        let err = FileConfig::parse("public_addrs: 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("public_addrs"), "{err}");
    }

    #[test]
    fn ca_algorithms_and_rotation_interval() {
        let cfg = FileConfig::parse(
            "rotation_check_interval: 250ms\nca:\n  ssh_algorithm: ecdsa-p256\n  jwt_algorithm: rs256\n",
        )
        .unwrap()
        .resolve(Overrides::default())
        .unwrap();
        assert_eq!(cfg.rotation_check_interval, Duration::from_millis(250));
        assert_eq!(cfg.algorithms.ssh, portcullis_ca::SshAlgorithm::EcdsaP256);
        assert_eq!(cfg.algorithms.jwt, portcullis_ca::JwtAlgorithm::Rs256);
        let err = FileConfig::parse("ca:\n  ssh_algorithm: dsa\n")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap_err();
        assert!(err.to_string().contains("ca.ssh_algorithm"), "{err}");
    }

    #[test]
    fn maximums_have_defaults_and_must_be_positive() {
        type Field = fn(&Config) -> usize;
        let fields: [(&str, usize, Field); 4] = [
            ("max_unpaged_list", 10_000, |c| c.max_unpaged_list),
            ("max_connections", 10_000, |c| c.transport.max_connections),
            ("max_streams_per_connection", 1_000, |c| {
                c.transport.max_streams_per_connection as usize
            }),
            ("max_message_bytes", 4 << 20, |c| {
                c.transport.max_message_bytes
            }),
        ];
        let defaults = FileConfig::parse("").unwrap().resolve(Overrides::default());
        let defaults = defaults.unwrap();
        for (name, default, field) in fields {
            assert_eq!(field(&defaults), default, "{name}");
            let cfg = FileConfig::parse(&format!("{name}: 3\n")).unwrap();
            assert_eq!(field(&cfg.resolve(Overrides::default()).unwrap()), 3);
            let err = FileConfig::parse(&format!("{name}: 0\n"))
                .unwrap()
                .resolve(Overrides::default())
                .unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn bad_listen_is_refused() {
        let err = FileConfig::parse("listen_addr: nowhere\n")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap_err();
        assert!(err.to_string().contains("listen_addr"), "{err}");
    }

    #[test]
    fn static_tokens_are_parsed_with_their_position() {
        let cfg = FileConfig::parse("tokens: ['node,proxy:static-token-1']\n")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap();
        assert_eq!(cfg.static_tokens[0].roles, ["Node", "Proxy"]);
        assert_eq!(cfg.static_tokens[0].value, "static-token-1");
        let err = FileConfig::parse("tokens: ['node:static-token-1', 'wizard:static-token-2']\n")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("tokens[1]") && err.contains("wizard"), "{err}");
    }

    #[test]
    fn access_request_ttl_is_a_duration() {
        let cfg = FileConfig::parse("access_request_ttl: 15m\n")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap();
        assert_eq!(cfg.access_request_ttl, Duration::from_secs(900));
        let err = FileConfig::parse("access_request_ttl: soon\n")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("access_request_ttl") && err.contains("soon"),
            "{err}"
        );
    }

    #[test]
    fn users_settings_have_defaults_and_are_checked() {
        let cfg = FileConfig::parse("")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap();
        assert_eq!(cfg.users, crate::users::Settings::default());
        assert_eq!(cfg.users.max_login_attempts, 5);
        let cfg = FileConfig::parse(
            "users:\n  password_min_length: 16\n  max_login_attempts: 3\n  login_attempt_window: 10m\n  lockout_duration: 1h\n  web_session_ttl: 2h\n",
        )
        .unwrap()
        .resolve(Overrides::default())
        .unwrap();
        assert_eq!(
            (cfg.users.min_password_length, cfg.users.max_login_attempts),
            (16, 3)
        );
        assert_eq!(cfg.users.attempt_window, Duration::from_secs(600));
        assert_eq!(cfg.users.lockout, Duration::from_secs(3600));
        assert_eq!(cfg.users.web_session_ttl, Duration::from_secs(7200));
        let err = FileConfig::parse("users:\n  max_login_attempts: 0\n")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("users.max_login_attempts"), "{err}");
        let err = FileConfig::parse("users:\n  lockout_duration: forever\n")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("users.lockout_duration") && err.contains("forever"),
            "{err}"
        );
    }

    #[test]
    fn the_policy_clock_is_an_rfc3339_time() {
        let cfg = FileConfig::parse("policy:\n  clock: 2026-11-24T10:00:00Z\n")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap();
        let at = cfg.policy_clock.unwrap();
        assert_eq!(
            humantime::format_rfc3339_seconds(at).to_string(),
            "2026-11-24T10:00:00Z"
        );
        let none = FileConfig::parse("").unwrap().resolve(Overrides::default());
        assert_eq!(none.unwrap().policy_clock, None);
        let err = FileConfig::parse("policy:\n  clock: tuesday\n")
            .unwrap()
            .resolve(Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("policy.clock") && err.contains("tuesday"),
            "{err}"
        );
    }
}
