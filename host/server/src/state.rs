//! Shared server state: the store, the typed collections on top of it, and the key ring.

use std::sync::Arc;

use portcullis_api::services::{
    AccessRequestPolicyV1, AccessRequestV3, CertAuthorityV2, PluginDataV3, RemoteClusterV3, RoleV3,
    UserV2,
};
use portcullis_store::Backend;

use crate::audit::AuditLog;
use crate::keyring::{KeyRing, Settings};
use crate::modules::Policies;
use crate::resources::Collection;
use crate::semaphores::Semaphores;
use crate::tokens::limit::FailureLimiter;
use crate::tokens::{StaticToken, Tokens};

/// Everything a request handler needs.
pub struct State {
    /// Name of this cluster.
    pub cluster_name: String,
    /// The store.
    pub backend: Arc<dyn Backend>,
    /// Users.
    pub users: Collection<UserV2>,
    /// Roles.
    pub roles: Collection<RoleV3>,
    /// Roles as every request reads them (its caller's): decoded, cached, exact.
    pub role_cache: crate::resources::Cached<RoleV3>,
    /// Users as every request's decision sees its caller ([`crate::users::policy_view_of`];
    /// `null` if a user cannot be shown): cached, exact.
    pub user_views: crate::resources::Cached<UserV2, serde_json::Value>,
    /// Certificate authorities as stored.
    pub authorities: Collection<CertAuthorityV2>,
    /// Certificate authorities loaded and ready to sign.
    pub keyring: KeyRing,
    /// Policy modules, stored and loaded.
    pub policies: Policies,
    /// Access decisions over roles (Cedar), with its cache of compiled role sets.
    pub authz: portcullis_authz::Authorizer,
    /// The audit log.
    pub audit: AuditLog,
    /// Provisioning tokens, stored and static (set the static ones with
    /// [`State::with_static_tokens`]).
    pub tokens: Tokens,
    /// Remote (leaf) clusters.
    pub remote_clusters: Collection<RemoteClusterV3>,
    /// Access requests.
    pub access_requests: Collection<AccessRequestV3>,
    /// How long an access request may stay pending.
    pub access_request_ttl: std::time::Duration,
    /// What plugins keep about access requests.
    pub plugin_data: Collection<PluginDataV3>,
    /// Which policy modules decide which access requests.
    pub access_request_policies: Collection<AccessRequestPolicyV1>,
    /// Session recordings and the uploads streaming them.
    pub sessions: crate::sessions::Recordings,
    /// Failed joins per source address.
    pub join_failures: FailureLimiter,
    /// Semaphores (leases limiting concurrent use, e.g. connections).
    pub semaphores: Semaphores,
    /// Passwords, lockout and web session settings.
    pub user_settings: crate::users::Settings,
    /// The most items an unpaged listing (`Limit` 0) returns; more is refused.
    pub max_unpaged_list: usize,
    /// Per-caller quotas of the expensive RPCs.
    pub rate_limits: crate::ratelimit::RateLimits,
    /// Set once the server is stopping: long-lived streams (WatchEvents) end then.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// The writes of keep-alives, grouped across streams (started on first use).
    keep_alive_writes: std::sync::OnceLock<crate::presence::Batcher>,
}

impl State {
    /// State over `backend` for the cluster `cluster_name`. The key ring starts empty; load
    /// it with [`KeyRing::ensure_and_load`].
    pub fn new(
        cluster_name: String,
        backend: Arc<dyn Backend>,
        settings: Settings,
        policies: Policies,
    ) -> Self {
        Self {
            policies,
            // Only fails if the built-in Cedar schema does not parse, which tests rule out.
            #[allow(clippy::expect_used)]
            authz: portcullis_authz::Authorizer::new().expect("the built-in Cedar schema parses"),
            keyring: KeyRing::new(cluster_name.clone(), settings),
            cluster_name,
            users: Collection::new(backend.clone()),
            roles: Collection::new(backend.clone()),
            role_cache: crate::resources::Cached::new(backend.clone()),
            user_views: crate::resources::Cached::with_view(backend.clone(), |user| {
                crate::users::policy_view_of(user).unwrap_or_default()
            }),
            authorities: Collection::new(backend.clone()),
            audit: AuditLog::new(backend.clone()),
            tokens: Tokens::new(Collection::new(backend.clone()), Vec::new()),
            join_failures: FailureLimiter::default(),
            sessions: crate::sessions::Recordings::new(backend.clone()),
            remote_clusters: Collection::new(backend.clone()),
            access_requests: Collection::new(backend.clone()),
            access_request_ttl: crate::access_requests::DEFAULT_PENDING_TTL,
            plugin_data: Collection::new(backend.clone()),
            access_request_policies: Collection::new(backend.clone()),
            semaphores: Semaphores::new(backend.clone()),
            user_settings: crate::users::Settings::default(),
            max_unpaged_list: crate::resources::paging::DEFAULT_MAX_UNPAGED,
            rate_limits: crate::ratelimit::RateLimits::default(),
            shutdown: tokio::sync::watch::Sender::new(false),
            keep_alive_writes: std::sync::OnceLock::new(),
            backend,
        }
    }

    /// Where keep-alives write: grouped with those of other streams (see
    /// [`crate::presence::Batcher`]). Its task starts in the current tokio runtime on the
    /// first call.
    pub fn keep_alive_writes(&self) -> &crate::presence::Batcher {
        self.keep_alive_writes
            .get_or_init(|| crate::presence::Batcher::start(self.backend.clone()))
    }

    /// Tells long-lived streams that the server is stopping.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves once the server is stopping (see [`State::shut_down`]).
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stopping = self.shutdown.subscribe();
        async move {
            // An error means the state is gone: stopping too.
            let _ = stopping.wait_for(|stopped| *stopped).await;
        }
    }

    /// The same state with access requests pending for at most `ttl`.
    pub fn with_access_request_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.access_request_ttl = ttl;
        self
    }

    /// The same state with recordings limited to `limits`.
    pub fn with_session_limits(mut self, limits: crate::sessions::Limits) -> Self {
        self.sessions.limits = limits;
        self
    }

    /// The same state with passwords, lockouts and web sessions as `settings` say.
    pub fn with_user_settings(mut self, settings: crate::users::Settings) -> Self {
        self.user_settings = settings;
        self
    }

    /// The same state with unpaged listings limited to `max` items.
    pub fn with_max_unpaged_list(mut self, max: usize) -> Self {
        self.max_unpaged_list = max;
        self
    }

    /// The same state with the expensive RPCs limited per caller as `config` says.
    pub fn with_rate_limits(mut self, config: crate::ratelimit::RateLimitConfig) -> Self {
        self.rate_limits = crate::ratelimit::RateLimits::new(config);
        self
    }

    /// What a listing RPC asked for, by `Limit` and `StartAfter`, of a listing by name of
    /// `kind` (see [`crate::resources::paging`]).
    pub fn page_by_name(
        &self,
        kind: &str,
        limit: u32,
        start_after: &str,
    ) -> Result<crate::resources::PageRequest, crate::resources::ResourceError> {
        crate::resources::PageRequest::by_name(kind, limit, start_after, self.max_unpaged_list)
    }

    /// The parts of the state the credential workflows use.
    pub fn accounts(&self) -> crate::users::Accounts<'_> {
        crate::users::Accounts {
            users: &self.users,
            backend: &self.backend,
            audit: &self.audit,
            settings: &self.user_settings,
            cluster_name: &self.cluster_name,
        }
    }

    /// What issuing user certificates reads.
    pub fn user_issuer(&self) -> crate::issuance::user::UserIssuer<'_> {
        crate::issuance::user::UserIssuer {
            keyring: &self.keyring,
            cluster_name: &self.cluster_name,
            users: &self.users,
            roles: &self.roles,
            access_requests: &self.access_requests,
            backend: &*self.backend,
        }
    }

    /// The same state with the static tokens of the configuration file.
    pub fn with_static_tokens(mut self, statics: Vec<StaticToken>) -> Self {
        self.tokens = Tokens::new(Collection::new(self.backend.clone()), statics);
        self
    }
}

/// The parts of the state the access request workflows use.
impl<'a> From<&'a State> for crate::access_requests::Context<'a> {
    fn from(state: &'a State) -> Self {
        Self {
            requests: &state.access_requests,
            plugin_data: &state.plugin_data,
            policies: &state.access_request_policies,
            roles: &state.roles,
            users: &state.users,
            modules: &state.policies,
            audit: &state.audit,
            pending_ttl: state.access_request_ttl,
        }
    }
}
