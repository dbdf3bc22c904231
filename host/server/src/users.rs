//! Users: stored as given after normalization (header filled, name and roles checked), read
//! without their secrets (password hash, second factors) unless the caller may read secrets.

use portcullis_api::services::{RoleV3, UserV2};

use crate::resources::validate::normalize_user;
use crate::resources::{Collection, ResourceError, WithoutSecrets};

/// The user `name`, with its secrets only if `with_secrets`.
pub async fn get(
    users: &Collection<UserV2>,
    name: &str,
    with_secrets: bool,
) -> Result<UserV2, ResourceError> {
    Ok(users.get(name).await?.secrets_if(with_secrets))
}

/// The stored user `name` as policy modules and `where` clauses see it (without secrets),
/// if there is one.
pub async fn policy_view(
    users: &Collection<UserV2>,
    name: &str,
) -> Result<Option<serde_json::Value>, ResourceError> {
    let user = users.find(name).await?;
    Ok(user.and_then(|user| serde_json::to_value(user.without_secrets()).ok()))
}

/// Every user, by name, with their secrets only if `with_secrets`.
pub async fn list(
    users: &Collection<UserV2>,
    with_secrets: bool,
) -> Result<Vec<UserV2>, ResourceError> {
    let all = users.list().await?;
    Ok(all
        .into_iter()
        .map(|u| u.secrets_if(with_secrets))
        .collect())
}

/// Creates `user` (refused if it exists, or if it names a role that does not exist).
pub async fn create(
    users: &Collection<UserV2>,
    roles: &Collection<RoleV3>,
    mut user: UserV2,
) -> Result<(), ResourceError> {
    normalize_user(&mut user)?;
    check_roles(roles, &user).await?;
    users.create(&user).await?;
    Ok(())
}

/// Replaces the existing user `user` names (compare-and-swap when `metadata.id` is set);
/// every role it names must exist.
pub async fn update(
    users: &Collection<UserV2>,
    roles: &Collection<RoleV3>,
    mut user: UserV2,
) -> Result<(), ResourceError> {
    normalize_user(&mut user)?;
    check_roles(roles, &user).await?;
    users.update(&user).await?;
    Ok(())
}

/// Refuses a user naming a role that is neither built in nor stored: its certificates
/// could not be issued.
async fn check_roles(roles: &Collection<RoleV3>, user: &UserV2) -> Result<(), ResourceError> {
    let named = user
        .spec
        .as_ref()
        .map(|s| s.roles.as_slice())
        .unwrap_or(&[]);
    for role in named {
        if portcullis_authz::builtin::role_named(role).is_none()
            && roles.find(role).await?.is_none()
        {
            let name = user
                .metadata
                .as_ref()
                .map(|m| m.name.as_str())
                .unwrap_or("");
            return Err(ResourceError::invalid(format!(
                "user `{name}` names role `{role}`, which does not exist: create the role first"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use portcullis_api::services::{LocalAuthSecrets, UserSpecV2};
    use portcullis_store::MemoryBackend;

    use super::*;
    use crate::resources::Resource;

    fn user(name: &str, roles: &[&str]) -> UserV2 {
        let mut user = UserV2 {
            spec: Some(UserSpecV2 {
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                local_auth: Some(LocalAuthSecrets {
                    password_hash: b"$2y$hash".to_vec(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        user.metadata_mut().name = name.into();
        user
    }

    /// Users and roles over one store, with roles `dev` and `ops`.
    async fn collections() -> (Collection<UserV2>, Collection<RoleV3>) {
        let backend = Arc::new(MemoryBackend::new());
        let roles = Collection::new(backend.clone());
        for name in ["dev", "ops"] {
            let mut role = portcullis_authz::builtin::implicit();
            role.metadata_mut().name = name.into();
            roles.create(&role).await.unwrap();
        }
        (Collection::new(backend), roles)
    }

    #[tokio::test]
    async fn users_are_normalized_and_read_without_secrets_by_default() {
        let (users, roles) = collections().await;
        create(&users, &roles, user("alice", &["dev"]))
            .await
            .unwrap();
        let stored = get(&users, "alice", true).await.unwrap();
        assert_eq!(
            (stored.kind.as_str(), stored.version.as_str()),
            ("user", "v2")
        );
        assert!(stored.spec.as_ref().unwrap().local_auth.is_some());
        let plain = get(&users, "alice", false).await.unwrap();
        assert_eq!(plain.spec.unwrap().local_auth, None);
        let listed = list(&users, false).await.unwrap();
        assert!(listed
            .iter()
            .all(|u| u.spec.as_ref().unwrap().local_auth.is_none()));
        assert_eq!(list(&users, true).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn bad_users_are_refused_and_nothing_is_written() {
        let (users, roles) = collections().await;
        let err = create(&users, &roles, user("a/b", &["dev"]))
            .await
            .unwrap_err();
        assert!(matches!(err, ResourceError::Invalid(_)), "{err}");
        assert!(list(&users, true).await.unwrap().is_empty());
        let unknown = create(&users, &roles, user("alice", &["dev", "nope"])).await;
        assert!(
            matches!(&unknown, Err(ResourceError::Invalid(m)) if m.contains("role `nope`, which does not exist")),
            "{unknown:?}"
        );
        assert!(list(&users, true).await.unwrap().is_empty());
        create(&users, &roles, user("alice", &["dev", "admin"]))
            .await
            .unwrap();
        let again = create(&users, &roles, user("alice", &["ops"])).await;
        assert!(
            matches!(again, Err(ResourceError::AlreadyExists { .. })),
            "{again:?}"
        );
        let missing = update(&users, &roles, user("bob", &["dev"])).await;
        assert!(
            matches!(missing, Err(ResourceError::NotFound { .. })),
            "{missing:?}"
        );
        let unknown = update(&users, &roles, user("alice", &["nope"])).await;
        assert!(
            matches!(unknown, Err(ResourceError::Invalid(_))),
            "{unknown:?}"
        );
        update(&users, &roles, user("alice", &["ops"]))
            .await
            .unwrap();
        let roles = get(&users, "alice", false)
            .await
            .unwrap()
            .spec
            .unwrap()
            .roles;
        assert_eq!(roles, ["ops"]);
    }
}
