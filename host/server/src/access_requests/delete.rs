//! Deleting an access request, and with it what plugins kept about it.

use serde_json::json;

use super::{Context, Result, KIND_ACCESS_REQUEST};
use crate::audit;
use crate::resources::ResourceError;

impl Context<'_> {
    /// Deletes the request `id` and its plugin data, on behalf of `by`.
    pub async fn delete(&self, id: &str, by: &str) -> Result<()> {
        self.requests.delete(id).await?;
        match self
            .plugin_data
            .delete(&format!("{KIND_ACCESS_REQUEST}/{id}"))
            .await
        {
            Ok(()) | Err(ResourceError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        self.audit
            .emit(audit::ACCESS_REQUEST_DELETE, by, json!({"id": id}))
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use portcullis_api::services::PluginDataUpdateParams;

    use super::*;
    use crate::access_requests::plugin_data;
    use crate::access_requests::testing::{carl_asks_dba, fixture};
    use crate::resources::Resource;

    #[tokio::test]
    async fn deleting_a_request_deletes_its_plugin_data() {
        let f = fixture().await;
        let context = f.context();
        let request = carl_asks_dba(&context, 0, 0).await;
        let other = carl_asks_dba(&context, 0, 0).await;
        for id in [request.name(), other.name()] {
            let params = PluginDataUpdateParams {
                kind: KIND_ACCESS_REQUEST.into(),
                resource: id.into(),
                plugin: "slack".into(),
                set: BTreeMap::from([("channel".to_owned(), "C1".to_owned())]),
                ..PluginDataUpdateParams::default()
            };
            plugin_data::update(context.requests, context.plugin_data, &params)
                .await
                .unwrap();
        }
        context.delete(request.name(), "admin").await.unwrap();
        assert!(context
            .requests
            .find(request.name())
            .await
            .unwrap()
            .is_none());
        let kept = plugin_data::get(context.plugin_data, request.name(), "", 1)
            .await
            .unwrap();
        assert!(kept.is_empty(), "{kept:?}");
        let others = plugin_data::get(context.plugin_data, other.name(), "", 1)
            .await
            .unwrap();
        assert_eq!(others.len(), 1);
        context.delete(other.name(), "admin").await.unwrap();
        // Gone: deleting it again finds nothing.
        let again = context.delete(other.name(), "admin").await.unwrap_err();
        assert!(again.to_string().contains("not found"), "{again}");
    }
}
