//! The one place where errors become gRPC status codes: every domain returns its own error
//! and the handlers turn it into a [`Status`] with `?` through the conversions here.

use tonic::Status;

use crate::resources::ResourceError;

impl From<ResourceError> for Status {
    fn from(e: ResourceError) -> Self {
        match &e {
            ResourceError::NotFound { .. } => Status::not_found(e.to_string()),
            ResourceError::AlreadyExists { .. } => Status::already_exists(e.to_string()),
            ResourceError::Conflict { .. } => Status::aborted(e.to_string()),
            ResourceError::Invalid(_) => Status::invalid_argument(e.to_string()),
            // Asking again will not help: the caller has to page.
            ResourceError::TooMany { .. } => Status::failed_precondition(e.to_string()),
            ResourceError::Corrupt { .. } => {
                tracing::error!(error = %e, "corrupt record");
                Status::data_loss(e.to_string())
            }
            // Asking again helps once an operator frees space; reads still work.
            ResourceError::Store(inner) if inner.is_disk_full() => {
                Status::resource_exhausted(inner.to_string())
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
            K::UnknownType(_) | K::Invalid(_) => Status::invalid_argument(e.to_string()),
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
            P::NotRegistered { .. } => Status::not_found(e.to_string()),
            P::LeaseMismatch { .. } => Status::failed_precondition(e.to_string()),
            P::Contended { .. } => Status::aborted(e.to_string()),
            P::NotSelf { .. } => Status::permission_denied(e.to_string()),
        }
    }
}

impl From<crate::app_sessions::AppSessionError> for Status {
    fn from(e: crate::app_sessions::AppSessionError) -> Self {
        use crate::app_sessions::AppSessionError as A;
        match e {
            A::Invalid(m) => Status::invalid_argument(m),
            A::NotFound(m) => Status::not_found(m),
            A::Denied(m) => Status::permission_denied(m),
            A::Presence(p) => p.into(),
            A::Issue(i) => i.into(),
            A::Resource(r) => r.into(),
        }
    }
}

impl From<crate::semaphores::SemaphoreError> for Status {
    fn from(e: crate::semaphores::SemaphoreError) -> Self {
        use crate::semaphores::SemaphoreError as S;
        match e {
            S::Resource(r) => r.into(),
            S::Invalid(_) => Status::invalid_argument(e.to_string()),
            S::LimitReached { .. } => Status::resource_exhausted(e.to_string()),
            S::LeaseNotFound { .. } | S::NotFound { .. } => Status::not_found(e.to_string()),
            S::Contended { .. } => Status::aborted(e.to_string()),
        }
    }
}

impl From<crate::watch::WatchError> for Status {
    fn from(e: crate::watch::WatchError) -> Self {
        Status::invalid_argument(e.to_string())
    }
}

impl From<crate::audit::AuditError> for Status {
    fn from(e: crate::audit::AuditError) -> Self {
        use crate::audit::AuditError as A;
        match e {
            A::Invalid(_) | A::TooLarge { .. } => Status::invalid_argument(e.to_string()),
            A::OnBehalf { .. } => Status::permission_denied(e.to_string()),
            A::Resource(r) => r.into(),
            A::Store(ref inner) if inner.is_disk_full() => {
                Status::resource_exhausted(e.to_string())
            }
            A::Store(ref inner) => {
                tracing::error!(error = %inner, "audit log write failed");
                Status::unavailable(e.to_string())
            }
            A::Writer(_) => {
                tracing::error!(error = %e, "audit log writer failed");
                Status::internal(e.to_string())
            }
        }
    }
}

impl From<crate::rbac::RbacError> for Status {
    fn from(e: crate::rbac::RbacError) -> Self {
        use crate::rbac::RbacError as R;
        match e {
            R::Denied { .. } => Status::permission_denied(e.to_string()),
            R::Invalid(_) => Status::invalid_argument(e.to_string()),
            R::Resource(r) => r.into(),
            R::Unlisted(_) | R::Decide(_) => {
                tracing::error!(error = %e, "access decision failed");
                Status::internal(e.to_string())
            }
        }
    }
}

impl From<crate::roles::RoleError> for Status {
    fn from(e: crate::roles::RoleError) -> Self {
        use crate::roles::RoleError as R;
        match e {
            R::Resource(r) => r.into(),
            R::Invalid(_) | R::Clause { .. } | R::UnknownFunction { .. } | R::Reserved { .. } => {
                Status::invalid_argument(e.to_string())
            }
        }
    }
}

impl From<crate::issuance::IssueError> for Status {
    fn from(e: crate::issuance::IssueError) -> Self {
        use crate::issuance::IssueError as I;
        match e {
            I::Sign(_) => Status::internal(e.to_string()),
            I::Invalid(m) => Status::invalid_argument(m),
            I::Denied(m) => Status::permission_denied(m),
            I::NotFound(m) => Status::not_found(m),
            I::Presence(p) => p.into(),
            I::Resource(r) => r.into(),
            I::Keyring(k) => k.into(),
            I::Ca(c) => Status::invalid_argument(c.to_string()),
        }
    }
}

impl From<crate::modules::PolicyServiceError> for Status {
    fn from(e: crate::modules::PolicyServiceError) -> Self {
        use crate::modules::PolicyServiceError as P;
        match e {
            P::Invalid(_) | P::Refused(_) | P::CompileTimeout(..) => {
                Status::invalid_argument(e.to_string())
            }
            P::NoPrevious(_) => Status::failed_precondition(e.to_string()),
            P::Resource(r) => r.into(),
            P::Engine(inner) => {
                tracing::error!(error = %inner, "policy engine failure");
                Status::internal(inner.to_string())
            }
            P::Task { .. } => {
                tracing::error!(error = %e, "policy task failure");
                Status::internal(e.to_string())
            }
        }
    }
}

impl From<crate::tokens::join::JoinError> for Status {
    fn from(e: crate::tokens::join::JoinError) -> Self {
        use crate::tokens::join::JoinError as J;
        match e {
            J::Throttled { .. } => Status::resource_exhausted(e.to_string()),
            J::Role(e) | J::Issue(e) => e.into(),
            J::Token(_) => Status::permission_denied(e.to_string()),
            J::Resource(r) => r.into(),
        }
    }
}

impl From<crate::access_requests::AccessRequestError> for Status {
    fn from(e: crate::access_requests::AccessRequestError) -> Self {
        use crate::access_requests::AccessRequestError as A;
        match e {
            A::Resource(r) => r.into(),
            A::InvalidPolicy(_)
            | A::Invalid(_)
            | A::NotAUuid { .. }
            | A::UnknownRole { .. }
            | A::NoAccessRequestHook { .. } => Status::invalid_argument(e.to_string()),
            A::MayNotRequest { .. } | A::NotAuthor { .. } | A::MayNotReview { .. } => {
                Status::permission_denied(e.to_string())
            }
            A::ModuleNotUploaded { .. } | A::PluginDataMismatch(_) => {
                Status::failed_precondition(e.to_string())
            }
            A::PluginDataContended { .. } => Status::aborted(e.to_string()),
        }
    }
}

impl From<crate::ratelimit::RateLimited> for Status {
    fn from(e: crate::ratelimit::RateLimited) -> Self {
        Status::resource_exhausted(e.to_string())
    }
}

impl From<super::caller::CallerError> for Status {
    fn from(e: super::caller::CallerError) -> Self {
        Status::unauthenticated(e.to_string())
    }
}

impl From<crate::watch::WatchEnd> for Status {
    fn from(e: crate::watch::WatchEnd) -> Self {
        use crate::watch::WatchEnd as W;
        match e {
            W::ShuttingDown | W::FeedClosed | W::StoreUnreachable { .. } => {
                Status::unavailable(e.to_string())
            }
            W::CertificateExpired => Status::unauthenticated(e.to_string()),
            W::Lagged { .. } => Status::aborted(e.to_string()),
            W::Store(_) | W::NotStarted => {
                tracing::error!(error = %e, "watch failed");
                Status::internal(e.to_string())
            }
        }
    }
}

impl From<crate::sessions::SessionError> for Status {
    fn from(e: crate::sessions::SessionError) -> Self {
        use crate::sessions::SessionError as S;
        match e {
            S::Resource(r) => r.into(),
            S::Invalid(_) => Status::invalid_argument(e.to_string()),
            S::Protocol(_) | S::Completed { .. } => Status::failed_precondition(e.to_string()),
            S::Gap { .. } => Status::out_of_range(e.to_string()),
            S::EventTooLarge { .. } | S::SessionTooLarge { .. } => {
                Status::resource_exhausted(e.to_string())
            }
            S::NoUpload { .. } | S::NotFound(_) => Status::not_found(e.to_string()),
            S::NotOwner { .. } => Status::permission_denied(e.to_string()),
            S::Concurrent(_) => Status::aborted(e.to_string()),
            S::AlreadyRecorded(_) => Status::already_exists(e.to_string()),
            S::Damaged { .. } => {
                tracing::error!(error = %e, "damaged session recording");
                Status::data_loss(e.to_string())
            }
        }
    }
}

impl From<crate::users::UserError> for Status {
    fn from(e: crate::users::UserError) -> Self {
        use crate::users::UserError as U;
        match e {
            U::Resource(r) => r.into(),
            U::WebSession(w) => w.into(),
            U::Issue(i) => i.into(),
            U::Invalid(_) | U::WeakPassword(_) => Status::invalid_argument(e.to_string()),
            U::BadCredentials | U::Locked { .. } | U::OtpRequired(_) | U::OtpReplayed => {
                Status::permission_denied(e.to_string())
            }
            U::TokenNotFound => Status::not_found(e.to_string()),
            U::Internal(_) => {
                tracing::error!(error = %e, "user workflow failed");
                Status::internal(e.to_string())
            }
        }
    }
}

impl From<crate::web_sessions::WebSessionError> for Status {
    fn from(e: crate::web_sessions::WebSessionError) -> Self {
        use crate::web_sessions::WebSessionError as W;
        match e {
            W::Resource(r) => r.into(),
            W::NotFound { .. } => Status::not_found(e.to_string()),
            W::Invalid(_) => Status::invalid_argument(e.to_string()),
        }
    }
}
