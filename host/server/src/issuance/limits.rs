//! Session limits of a user's roles, combined the way Teleport combines them, and carried
//! in the user's SSH certificate (extensions named in [`super::ssh_extensions`]) so that a
//! node can enforce them from the certificate alone:
//!
//! | role option | combined over the roles | extension |
//! | --- | --- | --- |
//! | `max_connections` | smallest non-zero | `max-connections@portcullis` = `2` |
//! | `max_sessions` | smallest non-zero | `max-sessions@portcullis` = `3` |
//! | `client_idle_timeout` | smallest non-zero | `client-idle-timeout@portcullis` = `10m` |
//! | `disconnect_expired_cert` | true if any role says so | `disconnect-expired-cert@portcullis` = `true` |
//!
//! An option no role sets (zero, false) leaves its extension out: no limit.

use std::collections::BTreeMap;

use portcullis_api::serde_helpers::duration;
use portcullis_api::services::RoleV3;

use super::ssh_extensions;

/// The session limits of a set of roles; zero means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionLimits {
    /// Most concurrent connections of the user across the cluster.
    pub max_connections: i64,
    /// Most concurrent sessions per connection.
    pub max_sessions: i64,
    /// Idle time before a client is disconnected, in nanoseconds.
    pub client_idle_timeout: i64,
    /// Whether clients are disconnected when their certificate expires.
    pub disconnect_expired_cert: bool,
}

/// The smallest positive value, or 0 when there is none.
fn smallest_non_zero(values: impl Iterator<Item = i64>) -> i64 {
    values.filter(|v| *v > 0).min().unwrap_or(0)
}

impl SessionLimits {
    /// The limits of `roles`: the strictest non-zero limit of each kind, and
    /// `disconnect_expired_cert` if any role sets it.
    pub fn of(roles: &[RoleV3]) -> Self {
        let options = || {
            roles
                .iter()
                .filter_map(|r| r.spec.as_ref()?.options.as_ref())
        };
        SessionLimits {
            max_connections: smallest_non_zero(options().map(|o| o.max_connections)),
            max_sessions: smallest_non_zero(options().map(|o| o.max_sessions)),
            client_idle_timeout: smallest_non_zero(options().map(|o| o.client_idle_timeout)),
            disconnect_expired_cert: options().any(|o| o.disconnect_expired_cert),
        }
    }

    /// The SSH certificate extensions carrying the limits that are set.
    pub fn ssh_extensions(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if self.max_connections > 0 {
            out.insert(
                ssh_extensions::MAX_CONNECTIONS.to_owned(),
                self.max_connections.to_string(),
            );
        }
        if self.max_sessions > 0 {
            out.insert(
                ssh_extensions::MAX_SESSIONS.to_owned(),
                self.max_sessions.to_string(),
            );
        }
        if self.client_idle_timeout > 0 {
            out.insert(
                ssh_extensions::CLIENT_IDLE_TIMEOUT.to_owned(),
                duration::format(self.client_idle_timeout),
            );
        }
        if self.disconnect_expired_cert {
            out.insert(
                ssh_extensions::DISCONNECT_EXPIRED_CERT.to_owned(),
                "true".to_owned(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_api::services::{RoleOptions, RoleSpecV3};

    const MINUTE: i64 = 60_000_000_000;

    fn role(options: Option<RoleOptions>) -> RoleV3 {
        RoleV3 {
            spec: Some(RoleSpecV3 {
                options,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_strictest_limit_of_each_kind_wins_and_zero_means_none() {
        let roles = [
            role(Some(RoleOptions {
                max_connections: 5,
                max_sessions: 0,
                client_idle_timeout: 30 * MINUTE,
                ..Default::default()
            })),
            role(Some(RoleOptions {
                max_connections: 2,
                max_sessions: 3,
                client_idle_timeout: 0,
                disconnect_expired_cert: true,
                ..Default::default()
            })),
            role(Some(RoleOptions {
                max_connections: 0,
                max_sessions: 7,
                client_idle_timeout: 10 * MINUTE,
                ..Default::default()
            })),
            role(None),
        ];
        let limits = SessionLimits::of(&roles);
        assert_eq!(
            limits,
            SessionLimits {
                max_connections: 2,
                max_sessions: 3,
                client_idle_timeout: 10 * MINUTE,
                disconnect_expired_cert: true,
            }
        );
        let extensions = limits.ssh_extensions();
        let pairs: Vec<(&str, &str)> = extensions
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("client-idle-timeout@portcullis", "10m"),
                ("disconnect-expired-cert@portcullis", "true"),
                ("max-connections@portcullis", "2"),
                ("max-sessions@portcullis", "3"),
            ]
        );
    }

    #[test]
    fn unset_options_leave_their_extensions_out() {
        let none = SessionLimits::of(&[role(None), role(Some(RoleOptions::default()))]);
        assert_eq!(none, SessionLimits::default());
        assert!(none.ssh_extensions().is_empty());
        assert!(SessionLimits::of(&[]).ssh_extensions().is_empty());
        let idle = SessionLimits::of(&[role(Some(RoleOptions {
            client_idle_timeout: 90 * MINUTE + 500_000_000,
            ..Default::default()
        }))]);
        let extensions = idle.ssh_extensions();
        assert_eq!(
            extensions.get(ssh_extensions::CLIENT_IDLE_TIMEOUT).unwrap(),
            "1h30m500ms"
        );
        assert_eq!(extensions.len(), 1);
    }
}
