//! Keeping the registry a view of the stored modules when another server writes them: the
//! daemon's store follower calls [`Policies::refresh`] for every change of a
//! `policy_module` and [`Policies::resync`] after it may have missed some.

use super::{limits_from_proto, Policies, PolicyServiceError, PREDICATE_MODULE};

impl Policies {
    /// Brings module `name` in the registry in line with the store: the stored version
    /// (compiled, or taken from the compiled-code cache), or none (the built-in one for
    /// `predicate`).
    pub async fn refresh(&self, name: &str) -> Result<(), PolicyServiceError> {
        match self.modules.find(name).await? {
            Some(module) => {
                let Some(spec) = module.spec else {
                    return Ok(());
                };
                let limits = limits_from_proto(spec.limits.as_ref(), self.engine.defaults());
                let compiled = self.compile(spec.wasm, limits).await?;
                let digest = compiled.info().sha256.clone();
                let replaced = self.registry.insert(name, compiled);
                if replaced.is_none_or(|old| old.info().sha256 != digest) {
                    tracing::info!(module = %name, %digest, "policy module changed in the store: now in effect");
                }
            }
            // Nothing stored under the built-in module's name: the built-in one is in
            // effect. Inserting replaces an uploaded one at once, with no moment without
            // any.
            None if name == PREDICATE_MODULE => self.install_builtin().await?,
            None => {
                if self.registry.remove(name).is_some() {
                    self.stats.remove(name);
                    tracing::info!(module = %name, "policy module deleted from the store: unloaded");
                }
            }
        }
        Ok(())
    }

    /// Refreshes every module the store or the registry knows of.
    pub async fn resync(&self) -> Result<(), PolicyServiceError> {
        let mut names: Vec<String> = self
            .modules
            .list()
            .await?
            .iter()
            .filter_map(|m| m.metadata.as_ref().map(|m| m.name.clone()))
            .collect();
        names.extend(self.registry.list().into_iter().map(|(name, _)| name));
        names.sort();
        names.dedup();
        for name in names {
            if let Err(e) = self.refresh(&name).await {
                tracing::error!(module = %name, error = %e, "stored policy module does not load");
            }
        }
        Ok(())
    }
}
