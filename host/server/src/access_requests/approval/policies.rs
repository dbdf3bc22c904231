//! Storing access-request policies: a policy is checked, and must name an uploaded module
//! that implements the `access_request` hook (one that does not would only ever answer
//! `error`); every change is audited.

use portcullis_api::services::AccessRequestPolicyV1;
use serde_json::json;

use super::{normalize, policy_spec};
use crate::access_requests::{AccessRequestError, Context, Result};
use crate::audit;
use crate::resources::Resource;

impl Context<'_> {
    /// Checks `given` and stores it in place of the policy of the same name, on behalf of
    /// `by`.
    pub async fn upsert_policy(&self, mut given: AccessRequestPolicyV1, by: &str) -> Result<()> {
        normalize(&mut given)?;
        let module = policy_spec(&given).module;
        match self.modules.registry().get(&module) {
            None => return Err(AccessRequestError::ModuleNotUploaded { module }),
            Some(m) if !m.implements(&portcullis_policy::Hook::AccessRequest) => {
                return Err(AccessRequestError::NoAccessRequestHook { module })
            }
            Some(_) => {}
        }
        if let Some(m) = given.metadata.as_mut() {
            m.id = 0;
        }
        self.policies.upsert(&given).await?;
        let fields = json!({"name": given.name(), "op": "put", "module": module});
        self.audit
            .emit(audit::ACCESS_REQUEST_POLICY_CHANGE, by, fields)
            .await;
        Ok(())
    }

    /// The policy `name`.
    pub async fn policy(&self, name: &str) -> Result<AccessRequestPolicyV1> {
        Ok(self.policies.get(name).await?)
    }

    /// Every policy.
    pub async fn all_policies(&self) -> Result<Vec<AccessRequestPolicyV1>> {
        Ok(self.policies.list().await?)
    }

    /// Deletes the policy `name`, on behalf of `by`.
    pub async fn delete_policy(&self, name: &str, by: &str) -> Result<()> {
        self.policies.delete(name).await?;
        let fields = json!({"name": name, "op": "delete"});
        self.audit
            .emit(audit::ACCESS_REQUEST_POLICY_CHANGE, by, fields)
            .await;
        Ok(())
    }
}
