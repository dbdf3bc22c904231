//! Access requests as client and server both speak of them.

use crate::services::RequestState;

impl RequestState {
    /// The state's name, lower-case (`pending`, `approved`, ...).
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
        }
    }
}
