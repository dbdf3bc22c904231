//! Tests of the user workflows against the in-memory store.

use std::sync::Arc;
use std::time::SystemTime;

use portcullis_api::services::{LocalAuthSecrets, UserSpecV2};
use portcullis_store::MemoryBackend;

use super::*;
use crate::resources::Resource;

fn user(name: &str, roles: &[&str]) -> UserV2 {
    let mut user = UserV2 {
        spec: Some(UserSpecV2 {
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
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
async fn users_are_normalized_and_never_carry_credentials() {
    let (users, roles) = collections().await;
    create(&users, &roles, user("alice", &["dev"]))
        .await
        .unwrap();
    let stored = get(&users, "alice", true).await.unwrap();
    assert_eq!(
        (stored.kind.as_str(), stored.version.as_str()),
        ("user", "v2")
    );
    let mut with_hash = user("bob", &["dev"]);
    with_hash.spec.as_mut().unwrap().local_auth = Some(LocalAuthSecrets {
        password_hash: b"$2y$hash".to_vec(),
        ..Default::default()
    });
    let refused = create(&users, &roles, with_hash.clone()).await;
    assert!(
        matches!(&refused, Err(ResourceError::Invalid(m)) if m.contains("local_auth")),
        "{refused:?}"
    );
    with_hash.metadata_mut().name = "alice".into();
    let refused = update(&users, &roles, with_hash).await;
    assert!(
        matches!(refused, Err(ResourceError::Invalid(_))),
        "{refused:?}"
    );
    assert_eq!(
        list(&users, true, &PageRequest::everything(100))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        get(&users, "alice", true)
            .await
            .unwrap()
            .spec
            .unwrap()
            .local_auth,
        None
    );
}

#[tokio::test]
async fn bad_users_are_refused_and_nothing_is_written() {
    let (users, roles) = collections().await;
    let err = create(&users, &roles, user("a/b", &["dev"]))
        .await
        .unwrap_err();
    assert!(matches!(err, ResourceError::Invalid(_)), "{err}");
    assert!(list(&users, true, &PageRequest::everything(100))
        .await
        .unwrap()
        .items
        .is_empty());
    let unknown = create(&users, &roles, user("alice", &["dev", "nope"])).await;
    assert!(
        matches!(&unknown, Err(ResourceError::Invalid(m)) if m.contains("role `nope`, which does not exist")),
        "{unknown:?}"
    );
    assert!(list(&users, true, &PageRequest::everything(100))
        .await
        .unwrap()
        .items
        .is_empty());
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

/// The credential workflows over an in-memory store with user `alice` (role `dev`).
struct Fixture {
    users: Collection<UserV2>,
    backend: Arc<dyn portcullis_store::Backend>,
    audit: AuditLog,
    settings: Settings,
}

impl Fixture {
    async fn new() -> Fixture {
        let backend: Arc<dyn portcullis_store::Backend> = Arc::new(MemoryBackend::new());
        let roles = Collection::new(backend.clone());
        let mut dev = portcullis_authz::builtin::implicit();
        dev.metadata_mut().name = "dev".into();
        roles.create(&dev).await.unwrap();
        let users = Collection::new(backend.clone());
        create(&users, &roles, user("alice", &["dev"]))
            .await
            .unwrap();
        Fixture {
            audit: AuditLog::new(backend.clone()),
            users,
            backend,
            settings: Settings::default(),
        }
    }

    /// alice, with password [`GOOD`] and one web session opened at `now`.
    async fn alice_signed_in(&self, now: SystemTime) -> portcullis_api::services::WebSessionV2 {
        check::set_password(&self.accounts(), "alice", GOOD, None, "admin")
            .await
            .unwrap();
        let alice = self.users.get("alice").await.unwrap();
        let ttl = self.settings.web_session_ttl;
        crate::web_sessions::create(&self.backend, &alice, ttl, now)
            .await
            .unwrap()
    }

    fn accounts(&self) -> Accounts<'_> {
        Accounts {
            users: &self.users,
            backend: &self.backend,
            audit: &self.audit,
            settings: &self.settings,
            cluster_name: "example",
        }
    }

    async fn check(&self, password: &str, otp: &str, now: SystemTime) -> Result<UserV2> {
        let presented = check::Presented {
            user: "alice",
            password,
            otp_code: otp,
        };
        check::check_password(&self.accounts(), presented, "test", now).await
    }

    async fn events(&self, event: &str) -> Vec<crate::audit::AuditEvent> {
        let query = crate::audit::Query {
            limit: 100,
            event: Some(event.into()),
            ..Default::default()
        };
        self.audit.search(&query).await.unwrap().0
    }
}

const GOOD: &str = "correct horse battery";

#[tokio::test]
async fn passwords_follow_the_rules_and_are_stored_hashed_apart_from_the_user() {
    let f = Fixture::new().await;
    let accounts = f.accounts();
    let short = check::set_password(&accounts, "alice", "short", None, "admin").await;
    assert!(
        matches!(short, Err(UserError::WeakPassword(_))),
        "{short:?}"
    );
    let named = check::set_password(&accounts, "alice", "alice-is-my-name", None, "admin").await;
    assert!(
        matches!(named, Err(UserError::WeakPassword(_))),
        "{named:?}"
    );
    assert_eq!(
        credentials::read(&f.backend, "alice").await.unwrap(),
        Default::default()
    );
    let missing = check::set_password(&accounts, "bob", GOOD, None, "admin").await;
    assert!(matches!(
        missing,
        Err(UserError::Resource(ResourceError::NotFound { .. }))
    ));

    check::set_password(&accounts, "alice", GOOD, None, "admin")
        .await
        .unwrap();
    let stored = credentials::read(&f.backend, "alice").await.unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"), "{stored:?}");
    let user = get(&f.users, "alice", true).await.unwrap();
    assert!(!format!("{user:?}").contains("argon2"), "{user:?}");

    let now = SystemTime::now();
    f.check(GOOD, "", now).await.unwrap();
    let wrong = f.check("correct horse batterx", "", now).await;
    assert!(matches!(wrong, Err(UserError::BadCredentials)), "{wrong:?}");
    let logins = f.events(USER_LOGIN).await;
    let outcomes: Vec<bool> = logins.iter().map(|e| e.fields["success"] == true).collect();
    assert_eq!(outcomes, [true, false]);
    assert!(
        !format!("{logins:?}").contains("horse"),
        "passwords are never audited"
    );
}

#[tokio::test]
async fn failed_checks_lock_the_user_until_it_is_unlocked_or_the_lock_lifts() {
    let f = Fixture::new().await;
    let accounts = f.accounts();
    check::set_password(&accounts, "alice", GOOD, None, "admin")
        .await
        .unwrap();
    let now = SystemTime::now();
    for _ in 0..4 {
        let wrong = f.check("wrong password!!", "", now).await;
        assert!(matches!(wrong, Err(UserError::BadCredentials)), "{wrong:?}");
    }
    let fifth = f.check("wrong password!!", "", now).await;
    assert!(matches!(fifth, Err(UserError::Locked { .. })), "{fifth:?}");
    let right = f.check(GOOD, "", now).await.unwrap_err();
    assert!(right.to_string().contains("is locked until"), "{right}");
    let user = f.users.get("alice").await.unwrap();
    let until = lockout::locked_until(&user, now).unwrap();
    assert_eq!(until.duration_since(now).unwrap(), f.settings.lockout);
    assert!(
        lockout::as_of(user.clone(), now)
            .spec
            .unwrap()
            .status
            .unwrap()
            .is_locked
    );
    let later = until + std::time::Duration::from_secs(1);
    assert!(
        !lockout::as_of(user, later)
            .spec
            .unwrap()
            .status
            .unwrap_or_default()
            .is_locked
    );
    f.check(GOOD, "", later).await.unwrap();
    assert_eq!(f.events(USER_LOCKED).await.len(), 1);

    // Failures older than the window do not count.
    for _ in 0..4 {
        f.check("wrong password!!", "", later).await.unwrap_err();
    }
    let much_later = later + f.settings.attempt_window + std::time::Duration::from_secs(1);
    let wrong = f.check("wrong password!!", "", much_later).await;
    assert!(matches!(wrong, Err(UserError::BadCredentials)), "{wrong:?}");

    for _ in 0..5 {
        f.check("wrong password!!", "", now).await.unwrap_err();
    }
    lockout::unlock(&accounts, "alice", "admin").await.unwrap();
    f.check(GOOD, "", now).await.unwrap();
    let unlocked = f.events(USER_UNLOCKED).await;
    assert_eq!(unlocked.len(), 1);
    assert_eq!(unlocked[0].fields["by"], "admin");
}

fn code(key: &str, at: SystemTime) -> String {
    let secret = totp_rs::Secret::Encoded(key.into()).to_bytes().unwrap();
    let totp =
        totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret, None, "a".into()).unwrap();
    totp.generate(at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs())
}

#[tokio::test]
async fn reset_tokens_enrol_totp_set_the_password_once_and_codes_are_used_once() {
    let f = Fixture::new().await;
    let accounts = f.accounts();
    let now = SystemTime::now();
    let session = f.alice_signed_in(now).await;

    let too_long = reset_tokens::create(
        &accounts,
        "alice",
        "reset",
        49 * 3600 * 1_000_000_000,
        "admin",
        now,
    )
    .await;
    assert!(
        matches!(&too_long, Err(UserError::Resource(ResourceError::Invalid(m))) if m.contains("maximum of 2days")),
        "{too_long:?}"
    );
    let unknown = reset_tokens::create(&accounts, "bob", "invite", 0, "admin", now).await;
    assert!(matches!(
        unknown,
        Err(UserError::Resource(ResourceError::NotFound { .. }))
    ));
    let bad_type = reset_tokens::create(&accounts, "alice", "magic", 0, "admin", now).await;
    assert!(matches!(bad_type, Err(UserError::Invalid(_))));

    let token = reset_tokens::create(&accounts, "alice", "reset", 0, "admin", now)
        .await
        .unwrap();
    let id = token.metadata.as_ref().unwrap().name.clone();
    assert_eq!(id.len(), 32);
    // A reset token cuts the old password and sessions off at once.
    assert!(matches!(
        f.check(GOOD, "", now).await,
        Err(UserError::BadCredentials)
    ));
    let ended = crate::web_sessions::get(&f.backend, "alice", session.name()).await;
    assert!(ended.is_err());

    let secrets = reset_tokens::rotate_secrets(&accounts, &id, now)
        .await
        .unwrap();
    let spec = secrets.spec.unwrap();
    assert!(
        spec.otp_auth_url.starts_with("otpauth://totp/"),
        "{}",
        spec.otp_auth_url
    );
    assert_eq!(&spec.qr_code_png[..4], b"\x89PNG");
    let key = spec.otp_key;

    let weak = reset_tokens::change_password(&accounts, &id, "short", &code(&key, now), now).await;
    assert!(matches!(weak, Err(UserError::WeakPassword(_))), "{weak:?}");
    let no_code = reset_tokens::change_password(&accounts, &id, GOOD, "", now).await;
    assert!(
        matches!(no_code, Err(UserError::OtpRequired(_))),
        "{no_code:?}"
    );
    let enrol_code = code(&key, now);
    reset_tokens::change_password(&accounts, &id, GOOD, &enrol_code, now)
        .await
        .unwrap();
    let again = reset_tokens::change_password(&accounts, &id, GOOD, &enrol_code, now).await;
    assert!(matches!(again, Err(UserError::TokenNotFound)), "{again:?}");

    // The code used to enrol is spent; a check needs a code, and each code works once.
    assert!(matches!(
        f.check(GOOD, "", now).await,
        Err(UserError::OtpRequired(_))
    ));
    let replay = f.check(GOOD, &enrol_code, now).await;
    assert!(matches!(replay, Err(UserError::OtpReplayed)), "{replay:?}");
    let next = now + std::time::Duration::from_secs(30);
    f.check(GOOD, &code(&key, next), next).await.unwrap();
    let replay = f.check(GOOD, &code(&key, next), next).await;
    assert!(matches!(replay, Err(UserError::OtpReplayed)), "{replay:?}");
    let wrong = f
        .check(GOOD, "000000", next + std::time::Duration::from_secs(60))
        .await;
    assert!(matches!(
        wrong,
        Err(UserError::BadCredentials) | Err(UserError::OtpReplayed)
    ));
}

#[tokio::test]
async fn deleting_a_user_deletes_its_credentials_sessions_and_tokens() {
    let f = Fixture::new().await;
    let accounts = f.accounts();
    let now = SystemTime::now();
    f.alice_signed_in(now).await;
    let token = reset_tokens::create(&accounts, "alice", "invite", 0, "admin", now)
        .await
        .unwrap();
    delete(&accounts, "alice").await.unwrap();
    assert_eq!(
        credentials::read(&f.backend, "alice").await.unwrap(),
        Default::default()
    );
    let everything = crate::resources::PageRequest::everything(100);
    assert!(crate::web_sessions::list(&f.backend, "alice", &everything)
        .await
        .unwrap()
        .items
        .is_empty());
    let id = token.metadata.unwrap().name;
    let gone = reset_tokens::get(&f.backend, &id, now).await;
    assert!(matches!(gone, Err(UserError::TokenNotFound)), "{gone:?}");
    let everything = f.backend.range(b"/", None, 0).await.unwrap();
    let keys: Vec<String> = everything
        .items
        .iter()
        .map(|i| String::from_utf8_lossy(&i.key).into_owned())
        .collect();
    assert!(
        keys.iter()
            .all(|k| !k.contains("alice") || k.starts_with("/audit/")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn the_user_stream_reads_the_store_a_page_at_a_time() {
    use futures::TryStreamExt;
    let (users, roles) = collections().await;
    let names: Vec<String> = (0..1234).map(|i| format!("u{i:04}")).collect();
    for name in &names {
        users.create(&user(name, &["dev"])).await.unwrap();
    }
    drop(roles);
    let all: Vec<UserV2> = stream(users.clone(), false, PageRequest::everything(1))
        .try_collect()
        .await
        .unwrap();
    let listed: Vec<&str> = all.iter().map(|u| u.name()).collect();
    assert_eq!(listed, names);
    // A limit and a start: the 600 users after u0100.
    let page = PageRequest::by_name("user", 600, "u0100", 1).unwrap();
    let some: Vec<UserV2> = stream(users, false, page).try_collect().await.unwrap();
    assert_eq!(some.len(), 600);
    assert_eq!(some[0].name(), "u0101");
    assert_eq!(some[599].name(), "u0700");
}
