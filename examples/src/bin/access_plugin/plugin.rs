//! Handling one pending request: claim it in the plugin data (compare-and-set, so two
//! instances never both handle it), resolve it, record the outcome.

use std::collections::{BTreeMap, HashSet};

use portcullis_api::auth::RequestStateSetter;
use portcullis_api::services::{AccessRequestV3, PluginDataUpdateParams, RequestState};
use portcullis_api::wrappers::{LabelValues, StringValues};
use portcullis_api::Client;
use tonic::Code;

use crate::rule::{Rule, Verdict};

/// The plugin data key holding what this plugin did: `claimed`, then `approved`,
/// `denied` or `failed`.
pub const STATUS: &str = "status";

/// The plugin: a connection, a rule, and the requests this process already looked at.
pub struct Plugin {
    /// The connection, as the plugin's identity.
    pub client: Client,
    /// The decision rule.
    pub rule: Rule,
    /// The plugin's name: its plugin data key and the delegator of its decisions.
    pub name: String,
    /// Requests already looked at (each is decided once per process).
    pub seen: HashSet<String>,
}

impl Plugin {
    /// Decides a pending request, unless this process already did.
    pub async fn handle(&mut self, request: &AccessRequestV3) {
        let id = request.metadata.as_ref().map_or("", |m| m.name.as_str());
        let spec = request.spec.clone().unwrap_or_default();
        if spec.state() != RequestState::Pending || !self.seen.insert(id.to_owned()) {
            return;
        }
        let what = format!("{id} ({} asks for {})", spec.user, spec.roles.join(", "));
        let (state, reason) = match self.rule.decide(&spec.roles) {
            Verdict::Approve(reason) => (RequestState::Approved, reason),
            Verdict::Deny(reason) => (RequestState::Denied, reason),
            Verdict::Leave => {
                println!("left {what} to a human");
                return;
            }
        };
        match self
            .record(id, &[(STATUS, "claimed")], &[(STATUS, "")])
            .await
        {
            Ok(()) => {}
            Err(status) if status.code() == Code::FailedPrecondition => {
                println!("skipped {what}: already claimed ({})", status.message());
                return;
            }
            Err(status) => {
                eprintln!("cannot claim {what}: {}", status.message());
                return;
            }
        }
        let setter = RequestStateSetter {
            id: id.to_owned(),
            state: state.into(),
            delegator: self.name.clone(),
            reason: format!("{}: {reason}", self.name),
            annotations: Some(LabelValues {
                values: BTreeMap::from([(
                    "decided_by".to_owned(),
                    StringValues {
                        values: vec![self.name.clone()],
                    },
                )]),
            }),
            roles: Vec::new(),
        };
        let outcome = match self.client.rpc().set_access_request_state(setter).await {
            Ok(_) => {
                let word = state.as_str_name().to_lowercase();
                println!("{word} {what}: {reason}");
                vec![(STATUS, word), ("reason", reason)]
            }
            Err(status) => {
                eprintln!("cannot resolve {what}: {}", status.message());
                vec![
                    (STATUS, "failed".to_owned()),
                    ("error", status.message().to_owned()),
                ]
            }
        };
        let outcome: Vec<(&str, &str)> = outcome.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Err(status) = self.record(id, &outcome, &[(STATUS, "claimed")]).await {
            eprintln!("cannot record the outcome of {what}: {}", status.message());
        }
    }

    /// Sets `set` in this plugin's data about request `id` if it holds `expect`.
    async fn record(
        &self,
        id: &str,
        set: &[(&str, &str)],
        expect: &[(&str, &str)],
    ) -> Result<(), tonic::Status> {
        let pairs = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let params = PluginDataUpdateParams {
            kind: "access_request".to_owned(),
            resource: id.to_owned(),
            plugin: self.name.clone(),
            set: pairs(set),
            expect: pairs(expect),
        };
        self.client.rpc().update_plugin_data(params).await?;
        Ok(())
    }
}
