//! The one error type of the access requests domain. Its variants say what kind of failure
//! it is (bad input, not allowed, missing, conflict, precondition, store), so the transport
//! can choose a status code without reading messages.

use portcullis_api::validate::InvalidResource;

use crate::resources::ResourceError;

/// What went wrong in an access request workflow.
#[derive(Debug, thiserror::Error)]
pub enum AccessRequestError {
    /// Reading or writing a stored resource failed (not found, already exists, conflict,
    /// invalid, corrupt, store failure).
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// An access-request policy is not valid.
    #[error(transparent)]
    InvalidPolicy(#[from] InvalidResource),
    /// The request is not acceptable as given.
    #[error("{0}")]
    Invalid(String),
    /// A client-chosen ID is not a UUID.
    #[error("access request ID `{id}` is not a UUID: {source}")]
    NotAUuid {
        /// The ID given.
        id: String,
        /// Why it does not parse.
        source: uuid::Error,
    },
    /// A requested role does not exist.
    #[error("role `{role}` does not exist")]
    UnknownRole {
        /// The role named.
        role: String,
    },
    /// The requesting user's roles do not allow requesting a role.
    #[error("`{user}` may not request role `{role}`: {reason}")]
    MayNotRequest {
        /// The requesting user.
        user: String,
        /// The role asked for.
        role: String,
        /// Why not, as the access rules explain it.
        reason: String,
    },
    /// A review names an author other than the caller.
    #[error("reviews are submitted by their author: `{caller}` may not review as `{author}`")]
    NotAuthor {
        /// Who submits.
        caller: String,
        /// The author the review names.
        author: String,
    },
    /// The reviewer's roles do not cover the requested roles.
    #[error("`{reviewer}` may not review access request `{id}`: {reason}")]
    MayNotReview {
        /// Who reviews.
        reviewer: String,
        /// The request.
        id: String,
        /// Why not, as the access rules explain it.
        reason: String,
    },
    /// An access-request policy names a module that is not uploaded.
    #[error("policy module `{module}` is not uploaded; upload it first (pctl policy upload)")]
    ModuleNotUploaded {
        /// The module named.
        module: String,
    },
    /// An access-request policy names a module without the `access_request` hook.
    #[error("policy module `{module}` does not declare the access_request hook")]
    NoAccessRequestHook {
        /// The module named.
        module: String,
    },
    /// A plugin data update expected a value that is not there.
    #[error(transparent)]
    PluginDataMismatch(Box<PluginDataMismatch>),
    /// Plugin data kept changing between read and write, however often it was retried.
    #[error("plugin data on {kind} `{resource}` kept changing; try again")]
    PluginDataContended {
        /// The kind of resource the data is about.
        kind: String,
        /// The resource the data is about.
        resource: String,
    },
}

/// Results of the access requests domain.
pub type Result<T, E = AccessRequestError> = std::result::Result<T, E>;

/// A plugin data update expected a value that is not there (nothing was changed).
#[derive(Debug, thiserror::Error)]
#[error(
    "plugin data of `{plugin}` on {kind} `{resource}`: expected {key}=`{expected}`, found `{found}`"
)]
pub struct PluginDataMismatch {
    /// The plugin.
    pub plugin: String,
    /// The kind of resource the data is about.
    pub kind: String,
    /// The resource the data is about.
    pub resource: String,
    /// The key expected.
    pub key: String,
    /// The value expected.
    pub expected: String,
    /// The value found (empty when absent).
    pub found: String,
}
