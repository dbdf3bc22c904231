//! Reset password token handlers: CreateResetPasswordToken, GetResetPasswordToken,
//! RotateResetPasswordTokenSecrets, ChangePasswordWithToken. Where clauses see a token by
//! its user, never by its ID (the ID is the secret).

use portcullis_api::auth::{
    ChangePasswordWithTokenRequest, CreateResetPasswordTokenRequest, GetResetPasswordTokenRequest,
    RotateResetPasswordTokenSecretsRequest,
};
use portcullis_api::services::{ResetPasswordTokenSecretsV3, ResetPasswordTokenV3};
use tonic::{Request, Status};

use super::authorize;
use super::passwords::for_user;
use crate::rbac::Target;
use crate::resources::validate::validate_name;
use crate::state::State;
use crate::users::reset_tokens::{self, KIND_RESET_PASSWORD_TOKEN};

/// A target naming no token (its ID is the secret) and no user: the caller needs the rule,
/// whoever the token is for.
fn any_token() -> Target {
    Target::named(KIND_RESET_PASSWORD_TOKEN, "")
}

pub(super) async fn create(
    state: &State,
    request: Request<CreateResetPasswordTokenRequest>,
) -> Result<ResetPasswordTokenV3, Status> {
    let name = &request.get_ref().name;
    validate_name("user", name)?;
    // The user is named for where clauses only: creating a token is never self-service.
    let mut target = for_user(KIND_RESET_PASSWORD_TOKEN, "", name);
    target.user = None;
    let caller = authorize(state, &request, "CreateResetPasswordToken", target).await?;
    let req = request.get_ref();
    let accounts = state.accounts();
    let now = portcullis_clock::now();
    let by = &caller.username;
    Ok(reset_tokens::create(&accounts, &req.name, &req.r#type, req.ttl, by, now).await?)
}

pub(super) async fn get(
    state: &State,
    request: Request<GetResetPasswordTokenRequest>,
) -> Result<ResetPasswordTokenV3, Status> {
    authorize(state, &request, "GetResetPasswordToken", any_token()).await?;
    let id = &request.get_ref().token_id;
    Ok(reset_tokens::get(&state.backend, id, portcullis_clock::now()).await?)
}

pub(super) async fn rotate_secrets(
    state: &State,
    request: Request<RotateResetPasswordTokenSecretsRequest>,
) -> Result<ResetPasswordTokenSecretsV3, Status> {
    authorize(
        state,
        &request,
        "RotateResetPasswordTokenSecrets",
        any_token(),
    )
    .await?;
    let id = &request.get_ref().token_id;
    let accounts = state.accounts();
    Ok(reset_tokens::rotate_secrets(&accounts, id, portcullis_clock::now()).await?)
}

pub(super) async fn change_password(
    state: &State,
    request: Request<ChangePasswordWithTokenRequest>,
) -> Result<(), Status> {
    super::limit(state, &request, crate::ratelimit::Limited::PasswordChecks)?;
    authorize(state, &request, "ChangePasswordWithToken", any_token()).await?;
    let req = request.get_ref();
    let accounts = state.accounts();
    let now = portcullis_clock::now();
    reset_tokens::change_password(&accounts, &req.token_id, &req.password, &req.otp_code, now)
        .await?;
    Ok(())
}
