//! Plugin data: what integrations (chat bots, ticketing plugins) keep about an access
//! request, per plugin, as string key/value pairs. Stored under
//! `/plugin_data/access_request/ID`, expiring with the request and deleted with it. Updates are
//! compare-and-set: every `expect` pair must hold (an absent key reads as empty) or nothing
//! changes, so two instances of a plugin cannot both claim the same request.

use portcullis_api::services::{
    AccessRequestV3, Metadata, PluginDataEntry, PluginDataSpecV3, PluginDataUpdateParams,
    PluginDataV3,
};

use super::{AccessRequestError, PluginDataMismatch, Result, KIND_ACCESS_REQUEST};
use crate::resources::{Collection, PageRequest, Resource, ResourceError};

/// Kind name of plugin data.
pub const KIND_PLUGIN_DATA: &str = "plugin_data";

/// How many times an update retries when another write came between its read and write.
const ATTEMPTS: usize = 5;

impl Resource for PluginDataV3 {
    const KIND: &'static str = KIND_PLUGIN_DATA;
    const PREFIX: &'static str = "/plugin_data/";
    fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }
    fn metadata_mut(&mut self) -> &mut Metadata {
        self.metadata.get_or_insert_with(Default::default)
    }
    /// `KIND/NAME` of the resource the data is about.
    fn key_suffix(&self) -> String {
        format!("{}/{}", self.sub_kind, self.name())
    }
}

/// Refuses kinds other than access requests (the only kind plugins keep data about).
pub fn check_kind(kind: &str) -> Result<()> {
    if kind != KIND_ACCESS_REQUEST {
        return Err(AccessRequestError::Invalid(format!(
            "plugin data is kept for `{KIND_ACCESS_REQUEST}` resources, not `{kind}`"
        )));
    }
    Ok(())
}

/// Keeps only `plugin`'s entry when a plugin is named.
fn only_plugin(mut data: PluginDataV3, plugin: &str) -> PluginDataV3 {
    if !plugin.is_empty() {
        if let Some(spec) = data.spec.as_mut() {
            spec.entries.retain(|name, _| name == plugin);
        }
    }
    data
}

/// The plugin data about `resource` (all of the kind when empty, refused beyond
/// `max_unpaged` records: the filter has no paging), of `plugin` (all when empty).
pub async fn get(
    data: &Collection<PluginDataV3>,
    resource: &str,
    plugin: &str,
    max_unpaged: usize,
) -> Result<Vec<PluginDataV3>> {
    let all = if resource.is_empty() {
        data.page(&PageRequest::everything(max_unpaged))
            .await?
            .items
    } else {
        let key = format!("{KIND_ACCESS_REQUEST}/{resource}");
        data.find(&key).await?.into_iter().collect()
    };
    Ok(all.into_iter().map(|d| only_plugin(d, plugin)).collect())
}

/// Applies `params` to the plugin data about a stored request (in `requests`) if its
/// expectations hold: `set` values replace (an empty one removes the key).
pub async fn update(
    requests: &Collection<AccessRequestV3>,
    data: &Collection<PluginDataV3>,
    params: &PluginDataUpdateParams,
) -> Result<()> {
    check_kind(&params.kind)?;
    if params.plugin.is_empty() {
        return Err(AccessRequestError::Invalid(
            "plugin data needs a plugin name".to_owned(),
        ));
    }
    let request = requests.get(&params.resource).await?;
    let key = format!("{}/{}", params.kind, params.resource);
    for _ in 0..ATTEMPTS {
        let current = data.find(&key).await?;
        let existed = current.is_some();
        let mut updated = current.unwrap_or_else(|| PluginDataV3 {
            kind: KIND_PLUGIN_DATA.to_owned(),
            sub_kind: params.kind.clone(),
            version: "v3".to_owned(),
            metadata: Some(Metadata {
                name: params.resource.clone(),
                ..Metadata::default()
            }),
            spec: Some(PluginDataSpecV3::default()),
        });
        updated.metadata_mut().expires = request.metadata.as_ref().and_then(|m| m.expires);
        let entries = &mut updated.spec.get_or_insert_with(Default::default).entries;
        let entry = entries
            .entry(params.plugin.clone())
            .or_insert_with(PluginDataEntry::default);
        for (k, want) in &params.expect {
            let found = entry.data.get(k).map(String::as_str).unwrap_or("");
            if found != want {
                return Err(AccessRequestError::PluginDataMismatch(Box::new(
                    PluginDataMismatch {
                        plugin: params.plugin.clone(),
                        kind: params.kind.clone(),
                        resource: params.resource.clone(),
                        key: k.clone(),
                        expected: want.clone(),
                        found: found.to_owned(),
                    },
                )));
            }
        }
        for (k, v) in &params.set {
            if v.is_empty() {
                entry.data.remove(k);
            } else {
                entry.data.insert(k.clone(), v.clone());
            }
        }
        let written = if existed {
            data.update(&updated).await.map(drop)
        } else {
            data.create(&updated).await.map(drop)
        };
        match written {
            Ok(()) => return Ok(()),
            Err(ResourceError::Conflict { .. } | ResourceError::AlreadyExists { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AccessRequestError::PluginDataContended {
        kind: params.kind.clone(),
        resource: params.resource.clone(),
    })
}
