//! Resolving an access request by hand (an administrator or an access plugin): approve,
//! possibly only some of the roles, or deny. The write is a compare-and-swap on the
//! revision read, so of two concurrent resolutions only one wins.

use portcullis_api::auth::RequestStateSetter;
use serde_json::json;

use super::{resolve, spec, state_name, Context, Resolution, Result};
use crate::audit;

impl Context<'_> {
    /// Resolves the request `setter.id` as `setter` says, on behalf of `by` (for
    /// `setter.delegator`, when given).
    pub async fn set_state(&self, setter: RequestStateSetter, by: &str) -> Result<()> {
        let new_state = setter.state();
        let mut access_request = self.requests.get(&setter.id).await?;
        let resolution = Resolution {
            state: new_state,
            roles: setter.roles.clone(),
            reason: setter.reason.clone(),
            annotations: setter
                .annotations
                .clone()
                .map(|a| a.values.into_iter().collect())
                .unwrap_or_default(),
        };
        resolve(&mut access_request, resolution)?;
        if let Some(s) = access_request.spec.as_mut() {
            s.resolved_by = if setter.delegator.is_empty() {
                format!("user:{by}")
            } else {
                format!("user:{by} for {}", setter.delegator)
            };
        }
        // Compare-and-swap on the revision read: a concurrent resolution makes this one fail.
        self.requests.update(&access_request).await?;
        let resolved = spec(&access_request);
        let fields = json!({
            "id": setter.id, "state": state_name(new_state), "roles": resolved.roles,
            "reason": setter.reason, "delegator": setter.delegator, "user": resolved.user,
        });
        self.audit
            .emit(audit::ACCESS_REQUEST_UPDATE, by, fields)
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use portcullis_api::services::RequestState;

    use super::*;
    use crate::access_requests::testing::{carl_asks_dba, created, fixture, requester_role};
    use crate::access_requests::{state, AccessRequestError};
    use crate::resources::{Resource, ResourceError};

    fn setter(id: &str, state: RequestState, roles: &[&str]) -> RequestStateSetter {
        RequestStateSetter {
            id: id.into(),
            state: state as i32,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            reason: "on call".into(),
            ..RequestStateSetter::default()
        }
    }

    #[tokio::test]
    async fn a_resolved_request_cannot_be_resolved_again() {
        let f = fixture().await;
        let context = f.context();
        let requesters = [requester_role(&["dba", "web"], 0, 0)];
        let request = created(&context, "carl", &["dba", "web"], &requesters).await;
        let id = request.name();
        let approve = setter(id, RequestState::Approved, &["web"]);
        context.set_state(approve, "admin").await.unwrap();
        let stored = context.requests.get(id).await.unwrap();
        assert_eq!(state(&stored), RequestState::Approved);
        assert_eq!(spec(&stored).roles, ["web"]);
        assert_eq!(spec(&stored).resolved_by, "user:admin");
        let deny = setter(id, RequestState::Denied, &[]);
        let err = context.set_state(deny, "admin").await.unwrap_err();
        assert!(err.to_string().contains("already approved"), "{err}");
        let missing = setter("nope", RequestState::Denied, &[]);
        let err = context.set_state(missing, "admin").await.unwrap_err();
        assert!(
            matches!(
                err,
                AccessRequestError::Resource(ResourceError::NotFound { .. })
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_write_over_a_stale_read_conflicts() {
        let f = fixture().await;
        let context = f.context();
        let request = carl_asks_dba(&context, 0, 0).await;
        let id = request.name();
        let read = context.requests.get(id).await.unwrap();
        let approve = setter(id, RequestState::Approved, &[]);
        context.set_state(approve, "admin").await.unwrap();
        // What a second resolution that read before the first wrote would write.
        let err = context.requests.update(&read).await.unwrap_err();
        assert!(matches!(err, ResourceError::Conflict { .. }), "{err}");
    }
}
