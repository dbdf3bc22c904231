//! The one place where errors become gRPC status codes.

use tonic::Status;

use crate::resources::ResourceError;

impl From<ResourceError> for Status {
    fn from(e: ResourceError) -> Self {
        match &e {
            ResourceError::NotFound { .. } => Status::not_found(e.to_string()),
            ResourceError::AlreadyExists { .. } => Status::already_exists(e.to_string()),
            ResourceError::Conflict { .. } => Status::aborted(e.to_string()),
            ResourceError::Invalid(_) => Status::invalid_argument(e.to_string()),
            ResourceError::Corrupt { .. } => {
                tracing::error!(error = %e, "corrupt record");
                Status::data_loss(e.to_string())
            }
            ResourceError::Store(inner) => {
                tracing::error!(error = %inner, "store failure");
                Status::unavailable(format!("the store failed: {inner}"))
            }
        }
    }
}
