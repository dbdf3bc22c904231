//! Password handlers: CheckPassword, UpsertPassword, SignIn, UnlockUser. Passwords are
//! never logged: only the user name reaches the logs and the audit log.

use portcullis_api::auth::{
    CheckPasswordRequest, SignInRequest, UnlockUserRequest, UpsertPasswordRequest,
};
use portcullis_api::services::WebSessionV2;
use serde_json::json;
use tonic::{Request, Status};

use super::authorize;
use crate::rbac::Target;
use crate::resources::validate::validate_name;
use crate::state::State;
use crate::users::check::{self, Presented};
use crate::users::lockout;

/// A target of kind `kind` for user `user`, which where clauses see as
/// `resource.spec.user` and own-user checks as the user acted for.
pub(super) fn for_user(kind: &str, name: &str, user: &str) -> Target {
    Target {
        resource: Some(json!({"kind": kind, "metadata": {"name": name}, "spec": {"user": user}})),
        ..Target::default()
    }
    .for_user(user)
}

pub(super) async fn check_password(
    state: &State,
    request: Request<CheckPasswordRequest>,
) -> Result<(), Status> {
    let user = &request.get_ref().user;
    validate_name("user", user)?;
    super::limit(state, &request, crate::ratelimit::Limited::PasswordChecks)?;
    let target = for_user("password", user, user);
    authorize(state, &request, "CheckPassword", target).await?;
    let req = request.get_ref();
    let presented = Presented {
        user: &req.user,
        password: &req.password,
        otp_code: &req.otp_code,
    };
    let accounts = state.accounts();
    check::check_password(
        &accounts,
        presented,
        "check_password",
        portcullis_clock::now(),
    )
    .await?;
    Ok(())
}

pub(super) async fn upsert_password(
    state: &State,
    request: Request<UpsertPasswordRequest>,
) -> Result<(), Status> {
    let user = &request.get_ref().user;
    validate_name("user", user)?;
    super::limit(state, &request, crate::ratelimit::Limited::PasswordChecks)?;
    let target = for_user("password", user, user);
    let caller = authorize(state, &request, "UpsertPassword", target).await?;
    let req = request.get_ref();
    let accounts = state.accounts();
    check::set_password(&accounts, &req.user, &req.password, None, &caller.username).await?;
    Ok(())
}

pub(super) async fn sign_in(
    state: &State,
    request: Request<SignInRequest>,
) -> Result<WebSessionV2, Status> {
    let user = &request.get_ref().user;
    validate_name("user", user)?;
    super::limit(state, &request, crate::ratelimit::Limited::PasswordChecks)?;
    let target = for_user("web_session", "", user);
    authorize(state, &request, "SignIn", target).await?;
    let req = request.get_ref();
    let presented = Presented {
        user: &req.user,
        password: &req.password,
        otp_code: &req.otp_code,
    };
    let accounts = state.accounts();
    Ok(check::sign_in(&accounts, presented, portcullis_clock::now()).await?)
}

pub(super) async fn unlock_user(
    state: &State,
    request: Request<UnlockUserRequest>,
) -> Result<(), Status> {
    let name = &request.get_ref().name;
    validate_name("user", name)?;
    let caller = authorize(state, &request, "UnlockUser", Target::named("user", name)).await?;
    let accounts = state.accounts();
    lockout::unlock(&accounts, name, &caller.username).await?;
    Ok(())
}
