//! What a caller without the secrets permission sees of a resource: one implementation per
//! kind that has secrets, used by every read path (Get*, listings, WatchEvents, the users
//! that `where` clauses and policy look-ups see).

use portcullis_api::auth::event::Resource as EventResource;
use portcullis_api::services::{CaKeySet, CertAuthorityV2, ProvisionTokenV2, UserV2};
use portcullis_api::tokens::redact;

/// A resource with its secrets removed.
pub trait WithoutSecrets {
    /// The resource without what only a secrets reader may see.
    fn without_secrets(self) -> Self;

    /// The resource as it is, or without its secrets unless `with_secrets`.
    fn secrets_if(self, with_secrets: bool) -> Self
    where
        Self: Sized,
    {
        if with_secrets {
            self
        } else {
            self.without_secrets()
        }
    }
}

/// A user without its password hash and second factors.
impl WithoutSecrets for UserV2 {
    fn without_secrets(mut self) -> Self {
        if let Some(spec) = self.spec.as_mut() {
            spec.local_auth = None;
        }
        self
    }
}

/// An authority without any private key (public keys and certificates stay).
impl WithoutSecrets for CertAuthorityV2 {
    fn without_secrets(mut self) -> Self {
        if let Some(spec) = self.spec.as_mut() {
            spec.signing_keys.clear();
            for pair in &mut spec.tls_key_pairs {
                pair.key.clear();
            }
            for pair in &mut spec.jwt_key_pairs {
                pair.private_key.clear();
            }
            for set in [
                spec.active_keys.as_mut(),
                spec.additional_trusted_keys.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                clear_private_keys(set);
            }
        }
        self
    }
}

fn clear_private_keys(set: &mut CaKeySet) {
    for pair in &mut set.tls {
        pair.key.clear();
    }
    for pair in &mut set.ssh {
        pair.private_key.clear();
    }
    for pair in &mut set.jwt {
        pair.private_key.clear();
    }
}

/// A provisioning token known by its redacted value: the value is the secret.
impl WithoutSecrets for ProvisionTokenV2 {
    fn without_secrets(mut self) -> Self {
        if let Some(metadata) = self.metadata.as_mut() {
            metadata.name = redact(&metadata.name);
        }
        self
    }
}

/// A watched resource, by its kind.
impl WithoutSecrets for EventResource {
    fn without_secrets(self) -> Self {
        match self {
            EventResource::User(user) => EventResource::User(user.without_secrets()),
            EventResource::CertAuthority(ca) => EventResource::CertAuthority(ca.without_secrets()),
            EventResource::ProvisionToken(token) => {
                EventResource::ProvisionToken(token.without_secrets())
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use portcullis_api::services::{
        CaKeySet, CertAuthoritySpecV2, JwtKeyPair, LocalAuthSecrets, Metadata, SshKeyPair,
        TlsKeyPair, UserSpecV2,
    };

    use super::*;

    #[test]
    fn users_lose_their_local_auth() {
        let user = UserV2 {
            spec: Some(UserSpecV2 {
                roles: vec!["dev".into()],
                local_auth: Some(LocalAuthSecrets::default()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let kept = user.clone().secrets_if(true);
        assert!(kept.spec.as_ref().unwrap().local_auth.is_some());
        let spec = user.without_secrets().spec.unwrap();
        assert_eq!(spec.local_auth, None);
        assert_eq!(spec.roles, ["dev"], "the rest stays");
    }

    #[test]
    fn authorities_lose_every_private_key_and_keep_public_ones() {
        let ssh = || SshKeyPair {
            public_key: b"pub".to_vec(),
            private_key: b"secret".to_vec(),
            ..Default::default()
        };
        let tls = || TlsKeyPair {
            cert: b"cert".to_vec(),
            key: b"secret".to_vec(),
            ..Default::default()
        };
        let jwt = || JwtKeyPair {
            public_key: b"pub".to_vec(),
            private_key: b"secret".to_vec(),
            ..Default::default()
        };
        let set = || CaKeySet {
            ssh: vec![ssh()],
            tls: vec![tls()],
            jwt: vec![jwt()],
        };
        let ca = CertAuthorityV2 {
            spec: Some(CertAuthoritySpecV2 {
                signing_keys: vec![b"secret".to_vec()],
                tls_key_pairs: vec![tls()],
                jwt_key_pairs: vec![jwt()],
                active_keys: Some(set()),
                additional_trusted_keys: Some(set()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let encoded = format!("{:?}", ca.without_secrets());
        assert!(
            !encoded.contains("115, 101, 99, 114, 101, 116"),
            "no `secret` bytes left: {encoded}"
        );
        assert!(
            encoded.contains("112, 117, 98"),
            "public keys stay: {encoded}"
        );
        assert!(
            encoded.contains("99, 101, 114, 116"),
            "certificates stay: {encoded}"
        );
    }

    #[test]
    fn tokens_and_watched_resources_are_redacted() {
        let token = ProvisionTokenV2 {
            metadata: Some(Metadata {
                name: "0123456789abcdef0123456789abcdef".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let redacted = redact("0123456789abcdef0123456789abcdef");
        let event = EventResource::ProvisionToken(token).without_secrets();
        let EventResource::ProvisionToken(token) = event else {
            panic!("still a token: {event:?}");
        };
        assert_eq!(token.metadata.unwrap().name, redacted);
    }
}
