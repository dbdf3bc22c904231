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

impl From<crate::keyring::KeyringError> for Status {
    fn from(e: crate::keyring::KeyringError) -> Self {
        use crate::keyring::KeyringError as K;
        match e {
            K::Resource(r) => r.into(),
            K::UnknownType(_) => Status::invalid_argument(e.to_string()),
            K::Rotation(portcullis_ca::RotationError::BadTransition { .. }) => {
                Status::failed_precondition(e.to_string())
            }
            K::Rotation(_) => Status::invalid_argument(e.to_string()),
            K::NotLoaded => Status::unavailable(e.to_string()),
            other => {
                tracing::error!(error = %other, "certificate authority failure");
                Status::internal(other.to_string())
            }
        }
    }
}

impl From<crate::presence::PresenceError> for Status {
    fn from(e: crate::presence::PresenceError) -> Self {
        use crate::presence::PresenceError as P;
        match e {
            P::Resource(r) => r.into(),
            P::Invalid(_) => Status::invalid_argument(e.to_string()),
            P::Unsupported(_) => Status::unimplemented(e.to_string()),
            P::NotRegistered { .. } => Status::not_found(e.to_string()),
            P::LeaseMismatch { .. } => Status::failed_precondition(e.to_string()),
            P::Contended { .. } => Status::aborted(e.to_string()),
        }
    }
}

impl From<crate::watch::WatchError> for Status {
    fn from(e: crate::watch::WatchError) -> Self {
        Status::invalid_argument(e.to_string())
    }
}

impl From<crate::roles::RoleError> for Status {
    fn from(e: crate::roles::RoleError) -> Self {
        use crate::roles::RoleError as R;
        match e {
            R::Resource(r) => r.into(),
            R::Invalid(_) | R::Clause { .. } | R::Reserved { .. } => {
                Status::invalid_argument(e.to_string())
            }
        }
    }
}
