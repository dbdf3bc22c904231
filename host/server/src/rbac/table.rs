//! The one table of what every RPC needs: verbs on a resource kind. The service code asks
//! [`super::authorize`] with the RPC's name and never checks roles itself.

/// What an RPC needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// Every one of these verbs must be allowed. `readnosecrets` becomes `read` when the
    /// request asks for secrets.
    pub verbs: &'static [&'static str],
    /// On this kind of resource.
    pub kind: &'static str,
    /// Whether a caller acting on its own user needs no rule (e.g. renewing its own
    /// certificates, or checking its own access).
    pub own: bool,
}

const fn p(verbs: &'static [&'static str], kind: &'static str) -> Permission {
    Permission {
        verbs,
        kind,
        own: false,
    }
}

const fn own(verbs: &'static [&'static str], kind: &'static str) -> Permission {
    Permission {
        verbs,
        kind,
        own: true,
    }
}

/// RPCs any authenticated caller may make.
pub const PUBLIC: [&str; 1] = ["Ping"];

/// RPCs callers without a client certificate may make: joining, which a provisioning
/// token authorizes instead of an identity.
pub const ANONYMOUS: [&str; 1] = ["RegisterUsingToken"];

/// RPCs whose permission comes from role conditions other than rules, which their handler
/// checks: reviewing needs `review_requests.roles` covering the request's roles.
pub const BY_CONDITIONS: [&str; 1] = ["SubmitAccessReview"];

/// Every implemented RPC (by its gRPC method name) and what it needs.
pub const TABLE: &[(&str, Permission)] = &[
    ("GetUser", p(&["readnosecrets"], "user")),
    ("GetUsers", p(&["list", "readnosecrets"], "user")),
    ("CreateUser", p(&["create"], "user")),
    ("UpdateUser", p(&["update"], "user")),
    ("DeleteUser", p(&["delete"], "user")),
    ("GetRole", p(&["read"], "role")),
    ("GetRoles", p(&["list", "read"], "role")),
    ("CreateRole", p(&["create"], "role")),
    ("UpsertRole", p(&["create", "update"], "role")),
    ("DeleteRole", p(&["delete"], "role")),
    ("GetCertAuthority", p(&["readnosecrets"], "cert_authority")),
    (
        "GetCertAuthorities",
        p(&["list", "readnosecrets"], "cert_authority"),
    ),
    ("RotateCertAuthority", p(&["rotate"], "cert_authority")),
    ("GenerateUserCerts", own(&["create"], "user_cert")),
    ("GenerateHostCerts", p(&["create"], "host_cert")),
    ("GenerateAppToken", p(&["create"], "jwt")),
    ("UpsertNode", p(&["create", "update"], "node")),
    ("GetNodes", p(&["list", "read"], "node")),
    ("UpsertProxy", p(&["create", "update"], "proxy")),
    ("GetProxies", p(&["list", "read"], "proxy")),
    // Per listed app or Kubernetes cluster: only those the roles' `app_labels` /
    // `kubernetes_labels` grant are returned (hosts see all).
    ("GetAppServers", p(&["list", "read"], "app_server")),
    ("UpsertAppServer", p(&["create", "update"], "app_server")),
    ("DeleteAppServer", p(&["delete"], "app_server")),
    ("DeleteAllAppServers", p(&["delete"], "app_server")),
    ("GetKubeServices", p(&["list", "read"], "kube_service")),
    (
        "UpsertKubeService",
        p(&["create", "update"], "kube_service"),
    ),
    ("DeleteKubeService", p(&["delete"], "kube_service")),
    ("DeleteAllKubeServices", p(&["delete"], "kube_service")),
    // Own: a user creates, reads and deletes their own sessions without a rule; the handler
    // refuses creating one for anyone else. Listing and deleting all: everyone's sessions
    // with the rule, else the caller's own.
    ("CreateAppSession", own(&["create"], "app_session")),
    ("GetAppSession", own(&["read"], "app_session")),
    ("GetAppSessions", own(&["list", "read"], "app_session")),
    ("DeleteAppSession", own(&["delete"], "app_session")),
    ("DeleteAllAppSessions", own(&["delete"], "app_session")),
    // Per keep-alive, on the kind it keeps alive: `node`, `proxy` or `app_server`.
    ("SendKeepAlives", p(&["update"], "node")),
    (
        "UpsertPolicyModule",
        p(&["create", "update"], "policy_module"),
    ),
    (
        "UploadPolicyModule",
        p(&["create", "update"], "policy_module"),
    ),
    ("GetPolicyModule", p(&["read"], "policy_module")),
    ("GetPolicyModules", p(&["list", "read"], "policy_module")),
    ("DeletePolicyModule", p(&["delete"], "policy_module")),
    ("RollbackPolicyModule", p(&["update"], "policy_module")),
    ("EvaluatePolicy", p(&["read"], "policy_module")),
    ("CheckAccess", own(&["read"], "role")),
    ("GetAuditEvents", p(&["list", "read"], "event")),
    ("EmitAuditEvent", p(&["create"], "event")),
    ("VerifyAuditLog", p(&["list", "read"], "event")),
    ("GenerateToken", p(&["create"], "token")),
    ("GetToken", p(&["read"], "token")),
    ("GetTokens", p(&["list", "readnosecrets"], "token")),
    ("UpsertToken", p(&["create", "update"], "token")),
    ("DeleteToken", p(&["delete"], "token")),
    ("GetRemoteCluster", p(&["read"], "remote_cluster")),
    ("GetRemoteClusters", p(&["list", "read"], "remote_cluster")),
    ("UpdateRemoteCluster", p(&["update"], "remote_cluster")),
    ("DeleteRemoteCluster", p(&["delete"], "remote_cluster")),
    ("CreateAccessRequest", own(&["create"], "access_request")),
    (
        "GetAccessRequests",
        own(&["list", "read"], "access_request"),
    ),
    ("SetAccessRequestState", p(&["update"], "access_request")),
    ("DeleteAccessRequest", p(&["delete"], "access_request")),
    ("GetPluginData", p(&["read"], "access_request")),
    ("UpdatePluginData", p(&["update"], "access_request")),
    (
        "UpsertAccessRequestPolicy",
        p(&["create", "update"], "access_request_policy"),
    ),
    (
        "GetAccessRequestPolicy",
        p(&["read"], "access_request_policy"),
    ),
    (
        "GetAccessRequestPolicies",
        p(&["list", "read"], "access_request_policy"),
    ),
    (
        "DeleteAccessRequestPolicy",
        p(&["delete"], "access_request_policy"),
    ),
    ("CreateAuditStream", p(&["create", "update"], "session")),
    // Per session listed: only the sessions the caller may list and read are returned.
    ("GetSessions", p(&["list", "read"], "session")),
    ("GetSession", p(&["read"], "session")),
    ("GetSessionEvents", p(&["read"], "session")),
    ("GetActiveSessions", p(&["list", "read"], "ssh_session")),
    ("AcquireSemaphore", p(&["create", "update"], "semaphore")),
    ("KeepAliveSemaphoreLease", p(&["update"], "semaphore")),
    ("CancelSemaphoreLease", p(&["update"], "semaphore")),
    ("GetSemaphores", p(&["list", "read"], "semaphore")),
    ("DeleteSemaphore", p(&["delete"], "semaphore")),
    // Passwords and web sessions: the web front (Proxy) checks passwords and opens
    // sessions for users; a user may check and change its own password and read and end
    // its own sessions.
    ("CheckPassword", own(&["read"], "password")),
    ("UpsertPassword", own(&["update"], "password")),
    ("SignIn", p(&["create"], "web_session")),
    ("GetWebSession", own(&["read"], "web_session")),
    ("GetWebSessions", own(&["list", "read"], "web_session")),
    ("DeleteWebSession", own(&["delete"], "web_session")),
    ("UnlockUser", p(&["update"], "user")),
    // The token ID is the secret: reading a token or using it needs the rule (the web
    // front has it), creating one is for administrators.
    (
        "CreateResetPasswordToken",
        p(&["create"], "reset_password_token"),
    ),
    (
        "GetResetPasswordToken",
        p(&["read"], "reset_password_token"),
    ),
    (
        "RotateResetPasswordTokenSecrets",
        p(&["update"], "reset_password_token"),
    ),
    (
        "ChangePasswordWithToken",
        p(&["update"], "reset_password_token"),
    ),
    ("GetUserKeys", own(&["list", "read"], "user_key")),
    ("UpsertUserKey", own(&["create", "update"], "user_key")),
    ("DeleteUserKey", own(&["delete"], "user_key")),
    // Per watched kind: `list` and `readnosecrets` (`read` with LoadSecrets) on each. Own:
    // an `access_request` watch filtered on the caller's own user needs no rule.
    (
        "WatchEvents",
        own(&["list", "readnosecrets"], "access_request"),
    ),
];

/// What `rpc` needs, or `None` if it is not in the table.
pub fn permission(rpc: &str) -> Option<Permission> {
    TABLE
        .iter()
        .find(|(name, _)| *name == rpc)
        .map(|(_, permission)| *permission)
}
