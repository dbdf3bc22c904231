//! The `AuthService` gRPC service.
//!
//! Handlers live in one module per domain (users, roles, authorities); this file wires them
//! into the generated trait. Every RPC of the service is implemented (an e2e test calls each
//! and none answers UNIMPLEMENTED).

mod access;
mod access_requests;
mod access_reviews;
mod app_kube;
mod app_sessions;
mod approval;
mod audit;
mod audit_stream;
mod authorities;
mod caller;
mod certs;
mod join;
mod modules;
mod passwords;
mod presence;
mod remote;
mod reset_tokens;
mod roles;
mod semaphores;
mod sessions;
mod status;
pub mod tls;
mod tokens;
mod user_keys;
mod users;
mod watch;
mod web_sessions;

use std::sync::Arc;

use portcullis_api::auth;
use portcullis_api::AuthService;
use portcullis_api::{events, services, BoxStream};
use tonic::{Request, Response, Status};

use crate::rbac::{Authorized, Target};
use crate::state::State;
pub use caller::caller;

/// Authorizes `request`, a call of RPC `rpc` on `target`, for its caller (see
/// [`crate::rbac::authorize`]): the caller with what was loaded to decide, or
/// UNAUTHENTICATED / PERMISSION_DENIED with the explanation.
pub(crate) async fn authorize<T>(
    state: &State,
    request: &Request<T>,
    rpc: &str,
    target: Target,
) -> Result<Authorized, Status> {
    let identity = caller(request)?;
    Ok(crate::rbac::authorize(state, identity, rpc, target).await?)
}

/// Takes one call of `kind` from the quota of the request's caller (see
/// [`crate::ratelimit`]): its certificate's name, or for joins its source address.
/// RESOURCE_EXHAUSTED naming the setting when the quota is used up.
pub(crate) fn limit<T>(
    state: &State,
    request: &Request<T>,
    kind: crate::ratelimit::Limited,
) -> Result<(), Status> {
    let who = match kind {
        crate::ratelimit::Limited::Joins => caller::remote_addr(request)
            .map(|addr| addr.ip().to_string())
            .unwrap_or_default(),
        _ => caller(request)?.username.clone(),
    };
    Ok(state.rate_limits.check(kind, &who)?)
}

/// What the transport allows its clients (the configuration's `max_connections`,
/// `max_streams_per_connection` and `max_message_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportLimits {
    /// The most client connections open at once, handshakes in progress included.
    pub max_connections: usize,
    /// The most calls (streams) open at once on one connection; a client's further calls
    /// wait for one to end (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`).
    pub max_streams_per_connection: u32,
    /// The largest request message accepted, in bytes (encoded); a larger one fails with
    /// OUT_OF_RANGE naming the limit.
    pub max_message_bytes: usize,
}

impl Default for TransportLimits {
    fn default() -> Self {
        TransportLimits {
            max_connections: 10_000,
            max_streams_per_connection: 1_000,
            max_message_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Serves the auth service on `listener` (mutual TLS with the key ring's current trust)
/// within `limits` (connections: see [`tls::incoming`]) until `shutdown` resolves; then
/// streams that would otherwise never end (WatchEvents) are told to end, so the graceful
/// shutdown does not wait for them.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<State>,
    limits: TransportLimits,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let incoming = tls::incoming(listener, state.keyring.tls(), limits.max_connections);
    let stopping = state.clone();
    let service = portcullis_api::AuthServiceServer::new(AuthServer::new(state))
        .max_decoding_message_size(limits.max_message_bytes);
    tonic::transport::Server::builder()
        .max_concurrent_streams(limits.max_streams_per_connection)
        .layer(crate::diag::RpcMetricsLayer)
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, async move {
            shutdown.await;
            stopping.shut_down();
        })
        .await
}

/// The auth server's gRPC service.
#[derive(Clone)]
pub struct AuthServer {
    state: Arc<State>,
}

impl AuthServer {
    /// A service over `state`.
    pub fn new(state: Arc<State>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl AuthService for AuthServer {
    async fn ping(
        &self,
        request: Request<auth::PingRequest>,
    ) -> Result<Response<auth::PingResponse>, Status> {
        caller(&request)?;
        Ok(Response::new(auth::PingResponse {
            cluster_name: self.state.cluster_name.clone(),
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
        }))
    }
    async fn get_user(
        &self,
        request: Request<auth::GetUserRequest>,
    ) -> Result<Response<services::UserV2>, Status> {
        users::get(&self.state, request).await.map(Response::new)
    }
    async fn get_users(
        &self,
        request: Request<auth::GetUsersRequest>,
    ) -> Result<Response<BoxStream<services::UserV2>>, Status> {
        users::list(&self.state, request).await.map(Response::new)
    }
    async fn create_user(
        &self,
        request: Request<services::UserV2>,
    ) -> Result<Response<()>, Status> {
        users::create(&self.state, request).await.map(Response::new)
    }
    async fn update_user(
        &self,
        request: Request<services::UserV2>,
    ) -> Result<Response<()>, Status> {
        users::update(&self.state, request).await.map(Response::new)
    }
    async fn delete_user(
        &self,
        request: Request<auth::DeleteUserRequest>,
    ) -> Result<Response<()>, Status> {
        users::delete(&self.state, request).await.map(Response::new)
    }
    async fn get_role(
        &self,
        request: Request<auth::GetRoleRequest>,
    ) -> Result<Response<services::RoleV3>, Status> {
        roles::get(&self.state, request).await.map(Response::new)
    }
    async fn get_roles(
        &self,
        request: Request<auth::GetRolesRequest>,
    ) -> Result<Response<auth::GetRolesResponse>, Status> {
        roles::list(&self.state, request).await.map(Response::new)
    }
    async fn create_role(
        &self,
        request: Request<services::RoleV3>,
    ) -> Result<Response<()>, Status> {
        roles::create(&self.state, request).await.map(Response::new)
    }
    async fn upsert_role(
        &self,
        request: Request<services::RoleV3>,
    ) -> Result<Response<()>, Status> {
        roles::upsert(&self.state, request).await.map(Response::new)
    }
    async fn delete_role(
        &self,
        request: Request<auth::DeleteRoleRequest>,
    ) -> Result<Response<()>, Status> {
        roles::delete(&self.state, request).await.map(Response::new)
    }
    async fn get_cert_authority(
        &self,
        request: Request<auth::GetCertAuthorityRequest>,
    ) -> Result<Response<services::CertAuthorityV2>, Status> {
        authorities::get(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_cert_authorities(
        &self,
        request: Request<auth::GetCertAuthoritiesRequest>,
    ) -> Result<Response<auth::CertAuthorityList>, Status> {
        authorities::list(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn rotate_cert_authority(
        &self,
        request: Request<auth::RotateCertAuthorityRequest>,
    ) -> Result<Response<()>, Status> {
        authorities::rotate(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn generate_user_certs(
        &self,
        request: Request<auth::UserCertsRequest>,
    ) -> Result<Response<auth::Certs>, Status> {
        certs::generate_user_certs(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn generate_host_certs(
        &self,
        request: Request<auth::HostCertsRequest>,
    ) -> Result<Response<auth::HostCerts>, Status> {
        certs::generate_host_certs(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn upsert_policy_module(
        &self,
        request: Request<services::PolicyModuleV1>,
    ) -> Result<Response<services::PolicyModuleV1>, Status> {
        modules::upsert(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn upload_policy_module(
        &self,
        request: Request<tonic::Streaming<auth::PolicyModuleUpload>>,
    ) -> Result<Response<services::PolicyModuleV1>, Status> {
        modules::upload(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_policy_module(
        &self,
        request: Request<auth::GetPolicyModuleRequest>,
    ) -> Result<Response<services::PolicyModuleV1>, Status> {
        modules::get(&self.state, request).await.map(Response::new)
    }
    async fn get_policy_modules(
        &self,
        request: Request<()>,
    ) -> Result<Response<auth::PolicyModuleList>, Status> {
        modules::list(&self.state, request).await.map(Response::new)
    }
    async fn delete_policy_module(
        &self,
        request: Request<auth::PolicyModuleName>,
    ) -> Result<Response<()>, Status> {
        modules::delete(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn rollback_policy_module(
        &self,
        request: Request<auth::PolicyModuleName>,
    ) -> Result<Response<services::PolicyModuleV1>, Status> {
        modules::rollback(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn evaluate_policy(
        &self,
        request: Request<auth::EvaluatePolicyRequest>,
    ) -> Result<Response<auth::EvaluatePolicyResponse>, Status> {
        modules::evaluate(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn check_access(
        &self,
        request: Request<auth::CheckAccessRequest>,
    ) -> Result<Response<auth::CheckAccessResponse>, Status> {
        access::check(&self.state, request).await.map(Response::new)
    }
    async fn generate_token(
        &self,
        request: Request<auth::GenerateTokenRequest>,
    ) -> Result<Response<auth::GenerateTokenResponse>, Status> {
        tokens::generate(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_token(
        &self,
        request: Request<auth::GetTokenRequest>,
    ) -> Result<Response<services::ProvisionTokenV2>, Status> {
        tokens::get(&self.state, request).await.map(Response::new)
    }
    async fn get_tokens(
        &self,
        request: Request<auth::GetTokensRequest>,
    ) -> Result<Response<auth::ProvisionTokenV2List>, Status> {
        tokens::list(&self.state, request).await.map(Response::new)
    }
    async fn upsert_token(
        &self,
        request: Request<services::ProvisionTokenV2>,
    ) -> Result<Response<()>, Status> {
        tokens::upsert(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_token(
        &self,
        request: Request<auth::DeleteTokenRequest>,
    ) -> Result<Response<()>, Status> {
        tokens::delete(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn register_using_token(
        &self,
        request: Request<auth::RegisterUsingTokenRequest>,
    ) -> Result<Response<auth::HostCerts>, Status> {
        join::register(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_remote_cluster(
        &self,
        request: Request<auth::GetRemoteClusterRequest>,
    ) -> Result<Response<services::RemoteClusterV3>, Status> {
        remote::get(&self.state, request).await.map(Response::new)
    }
    async fn get_remote_clusters(
        &self,
        request: Request<()>,
    ) -> Result<Response<auth::RemoteClusterList>, Status> {
        remote::list(&self.state, request).await.map(Response::new)
    }
    async fn update_remote_cluster(
        &self,
        request: Request<services::RemoteClusterV3>,
    ) -> Result<Response<()>, Status> {
        remote::update(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_remote_cluster(
        &self,
        request: Request<auth::DeleteRemoteClusterRequest>,
    ) -> Result<Response<()>, Status> {
        remote::delete(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn create_access_request(
        &self,
        request: Request<services::AccessRequestV3>,
    ) -> Result<Response<()>, Status> {
        access_requests::create(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_access_requests(
        &self,
        request: Request<services::AccessRequestFilter>,
    ) -> Result<Response<auth::AccessRequests>, Status> {
        access_requests::list(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn set_access_request_state(
        &self,
        request: Request<auth::RequestStateSetter>,
    ) -> Result<Response<()>, Status> {
        access_requests::set_state(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_access_request(
        &self,
        request: Request<auth::RequestId>,
    ) -> Result<Response<()>, Status> {
        access_requests::delete(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn submit_access_review(
        &self,
        request: Request<auth::AccessReviewSubmission>,
    ) -> Result<Response<services::AccessRequestV3>, Status> {
        access_reviews::submit(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn upsert_access_request_policy(
        &self,
        request: Request<services::AccessRequestPolicyV1>,
    ) -> Result<Response<()>, Status> {
        approval::upsert(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_access_request_policy(
        &self,
        request: Request<auth::AccessRequestPolicyName>,
    ) -> Result<Response<services::AccessRequestPolicyV1>, Status> {
        approval::get(&self.state, request).await.map(Response::new)
    }
    async fn get_access_request_policies(
        &self,
        request: Request<()>,
    ) -> Result<Response<auth::AccessRequestPolicies>, Status> {
        approval::list(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_access_request_policy(
        &self,
        request: Request<auth::AccessRequestPolicyName>,
    ) -> Result<Response<()>, Status> {
        approval::delete(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_plugin_data(
        &self,
        request: Request<services::PluginDataFilter>,
    ) -> Result<Response<auth::PluginDataSeq>, Status> {
        access_requests::get_plugin_data(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn update_plugin_data(
        &self,
        request: Request<services::PluginDataUpdateParams>,
    ) -> Result<Response<()>, Status> {
        access_requests::update_plugin_data(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_audit_events(
        &self,
        request: Request<auth::GetAuditEventsRequest>,
    ) -> Result<Response<auth::AuditEvents>, Status> {
        audit::search(&self.state, request).await.map(Response::new)
    }
    async fn emit_audit_event(
        &self,
        request: Request<events::OneOf>,
    ) -> Result<Response<()>, Status> {
        audit::emit(&self.state, request).await.map(Response::new)
    }
    async fn verify_audit_log(
        &self,
        request: Request<auth::VerifyAuditLogRequest>,
    ) -> Result<Response<auth::VerifyAuditLogResponse>, Status> {
        audit::verify(&self.state, request).await.map(Response::new)
    }
    async fn generate_app_token(
        &self,
        request: Request<auth::GenerateAppTokenRequest>,
    ) -> Result<Response<auth::GenerateAppTokenResponse>, Status> {
        certs::generate_app_token(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn upsert_node(
        &self,
        request: Request<services::ServerV2>,
    ) -> Result<Response<services::KeepAlive>, Status> {
        presence::upsert(&self.state, request, crate::presence::ServerKind::Node)
            .await
            .map(Response::new)
    }
    async fn get_nodes(
        &self,
        request: Request<auth::GetNodesRequest>,
    ) -> Result<Response<auth::ServerList>, Status> {
        presence::nodes(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn upsert_proxy(
        &self,
        request: Request<services::ServerV2>,
    ) -> Result<Response<services::KeepAlive>, Status> {
        presence::upsert(&self.state, request, crate::presence::ServerKind::Proxy)
            .await
            .map(Response::new)
    }
    async fn get_proxies(
        &self,
        request: Request<()>,
    ) -> Result<Response<auth::ServerList>, Status> {
        presence::proxies(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn send_keep_alives(
        &self,
        request: Request<tonic::Streaming<services::KeepAlive>>,
    ) -> Result<Response<()>, Status> {
        presence::keep_alives(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn create_audit_stream(
        &self,
        request: Request<tonic::Streaming<auth::AuditStreamRequest>>,
    ) -> Result<Response<BoxStream<events::StreamStatus>>, Status> {
        audit_stream::create(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_sessions(
        &self,
        request: Request<auth::GetSessionsRequest>,
    ) -> Result<Response<auth::SessionList>, Status> {
        sessions::list(&self.state, request, sessions::Listing::Recorded)
            .await
            .map(Response::new)
    }
    async fn get_session(
        &self,
        request: Request<auth::GetSessionRequest>,
    ) -> Result<Response<services::SessionV1>, Status> {
        sessions::get(&self.state, request).await.map(Response::new)
    }
    async fn get_session_events(
        &self,
        request: Request<auth::GetSessionEventsRequest>,
    ) -> Result<Response<auth::SessionEvents>, Status> {
        sessions::events(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_active_sessions(
        &self,
        request: Request<auth::GetSessionsRequest>,
    ) -> Result<Response<auth::SessionList>, Status> {
        sessions::list(&self.state, request, sessions::Listing::Active)
            .await
            .map(Response::new)
    }
    async fn acquire_semaphore(
        &self,
        request: Request<services::AcquireSemaphoreRequest>,
    ) -> Result<Response<services::SemaphoreLease>, Status> {
        semaphores::acquire(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn keep_alive_semaphore_lease(
        &self,
        request: Request<services::SemaphoreLease>,
    ) -> Result<Response<()>, Status> {
        semaphores::keep_alive(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn cancel_semaphore_lease(
        &self,
        request: Request<services::SemaphoreLease>,
    ) -> Result<Response<()>, Status> {
        semaphores::cancel(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_semaphores(
        &self,
        request: Request<services::SemaphoreFilter>,
    ) -> Result<Response<auth::Semaphores>, Status> {
        semaphores::list(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_semaphore(
        &self,
        request: Request<services::SemaphoreFilter>,
    ) -> Result<Response<()>, Status> {
        semaphores::delete(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_app_servers(
        &self,
        request: Request<auth::GetAppServersRequest>,
    ) -> Result<Response<auth::GetAppServersResponse>, Status> {
        app_kube::app_servers(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn upsert_app_server(
        &self,
        request: Request<auth::UpsertAppServerRequest>,
    ) -> Result<Response<services::KeepAlive>, Status> {
        app_kube::upsert_app_server(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_app_server(
        &self,
        request: Request<auth::DeleteAppServerRequest>,
    ) -> Result<Response<()>, Status> {
        app_kube::delete_app_server(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_all_app_servers(
        &self,
        request: Request<auth::DeleteAllAppServersRequest>,
    ) -> Result<Response<()>, Status> {
        app_kube::delete_all_app_servers(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_kube_services(
        &self,
        request: Request<auth::GetKubeServicesRequest>,
    ) -> Result<Response<auth::GetKubeServicesResponse>, Status> {
        app_kube::kube_services(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn upsert_kube_service(
        &self,
        request: Request<auth::UpsertKubeServiceRequest>,
    ) -> Result<Response<()>, Status> {
        app_kube::upsert_kube_service(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_kube_service(
        &self,
        request: Request<auth::DeleteKubeServiceRequest>,
    ) -> Result<Response<()>, Status> {
        app_kube::delete_kube_service(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_all_kube_services(
        &self,
        request: Request<auth::DeleteAllKubeServicesRequest>,
    ) -> Result<Response<()>, Status> {
        app_kube::delete_all_kube_services(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn create_app_session(
        &self,
        request: Request<auth::CreateAppSessionRequest>,
    ) -> Result<Response<auth::CreateAppSessionResponse>, Status> {
        app_sessions::create(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_app_session(
        &self,
        request: Request<auth::GetAppSessionRequest>,
    ) -> Result<Response<auth::GetAppSessionResponse>, Status> {
        app_sessions::get(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_app_sessions(
        &self,
        request: Request<auth::GetAppSessionsRequest>,
    ) -> Result<Response<auth::GetAppSessionsResponse>, Status> {
        app_sessions::list(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_app_session(
        &self,
        request: Request<auth::DeleteAppSessionRequest>,
    ) -> Result<Response<()>, Status> {
        app_sessions::delete(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_all_app_sessions(&self, request: Request<()>) -> Result<Response<()>, Status> {
        app_sessions::delete_all(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn watch_events(
        &self,
        request: Request<auth::Watch>,
    ) -> Result<Response<BoxStream<auth::Event>>, Status> {
        watch::watch(&self.state, request).await.map(Response::new)
    }
    async fn check_password(
        &self,
        request: Request<auth::CheckPasswordRequest>,
    ) -> Result<Response<()>, Status> {
        passwords::check_password(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn upsert_password(
        &self,
        request: Request<auth::UpsertPasswordRequest>,
    ) -> Result<Response<()>, Status> {
        passwords::upsert_password(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn sign_in(
        &self,
        request: Request<auth::SignInRequest>,
    ) -> Result<Response<services::WebSessionV2>, Status> {
        passwords::sign_in(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn unlock_user(
        &self,
        request: Request<auth::UnlockUserRequest>,
    ) -> Result<Response<()>, Status> {
        passwords::unlock_user(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_web_session(
        &self,
        request: Request<auth::WebSessionRequest>,
    ) -> Result<Response<services::WebSessionV2>, Status> {
        web_sessions::get(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_web_sessions(
        &self,
        request: Request<auth::GetWebSessionsRequest>,
    ) -> Result<Response<auth::WebSessionList>, Status> {
        web_sessions::list(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_web_session(
        &self,
        request: Request<auth::WebSessionRequest>,
    ) -> Result<Response<()>, Status> {
        web_sessions::delete(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn create_reset_password_token(
        &self,
        request: Request<auth::CreateResetPasswordTokenRequest>,
    ) -> Result<Response<services::ResetPasswordTokenV3>, Status> {
        reset_tokens::create(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_reset_password_token(
        &self,
        request: Request<auth::GetResetPasswordTokenRequest>,
    ) -> Result<Response<services::ResetPasswordTokenV3>, Status> {
        reset_tokens::get(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn rotate_reset_password_token_secrets(
        &self,
        request: Request<auth::RotateResetPasswordTokenSecretsRequest>,
    ) -> Result<Response<services::ResetPasswordTokenSecretsV3>, Status> {
        reset_tokens::rotate_secrets(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn change_password_with_token(
        &self,
        request: Request<auth::ChangePasswordWithTokenRequest>,
    ) -> Result<Response<()>, Status> {
        reset_tokens::change_password(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn get_user_keys(
        &self,
        request: Request<auth::GetUserKeysRequest>,
    ) -> Result<Response<auth::UserKeyList>, Status> {
        user_keys::list(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn upsert_user_key(
        &self,
        request: Request<auth::UpsertUserKeyRequest>,
    ) -> Result<Response<auth::UpsertUserKeyResponse>, Status> {
        user_keys::upsert(&self.state, request)
            .await
            .map(Response::new)
    }
    async fn delete_user_key(
        &self,
        request: Request<auth::DeleteUserKeyRequest>,
    ) -> Result<Response<()>, Status> {
        user_keys::delete(&self.state, request)
            .await
            .map(Response::new)
    }
}
