//! Provisioning token handlers: GenerateToken, GetToken, GetTokens, UpsertToken,
//! DeleteToken. Where clauses see a token by its redacted value, never the secret.

use portcullis_api::auth::{
    DeleteTokenRequest, GenerateTokenRequest, GenerateTokenResponse, GetTokenRequest,
    GetTokensRequest, ProvisionTokenV2List,
};
use portcullis_api::services::ProvisionTokenV2;
use tonic::{Request, Status};

use super::authorize;
use crate::rbac::Target;
use crate::resources::{Resource, WithoutSecrets};
use crate::state::State;
use crate::tokens::{redact, Generate, KIND_TOKEN};

fn target(value: &str) -> Target {
    Target::named(KIND_TOKEN, &redact(value))
}

pub(super) async fn generate(
    state: &State,
    request: Request<GenerateTokenRequest>,
) -> Result<GenerateTokenResponse, Status> {
    authorize(
        state,
        &request,
        "GenerateToken",
        Target::named(KIND_TOKEN, ""),
    )
    .await?;
    let req = request.into_inner();
    let generate = Generate {
        roles: req.roles,
        value: req.token,
        ttl_nanos: req.ttl,
        labels: req.labels.into_iter().collect(),
    };
    let value = state
        .tokens
        .generate(generate, portcullis_clock::now())
        .await?;
    Ok(GenerateTokenResponse { token: value })
}

pub(super) async fn get(
    state: &State,
    request: Request<GetTokenRequest>,
) -> Result<ProvisionTokenV2, Status> {
    let value = request.get_ref().token.clone();
    authorize(state, &request, "GetToken", target(&value)).await?;
    Ok(state.tokens.get(&value).await?)
}

pub(super) async fn list(
    state: &State,
    request: Request<GetTokensRequest>,
) -> Result<ProvisionTokenV2List, Status> {
    let secrets = request.get_ref().with_secrets;
    authorize(
        state,
        &request,
        "GetTokens",
        Target::default().secrets(secrets),
    )
    .await?;
    let req = request.get_ref();
    let page = state
        .tokens
        .page(req.limit, &req.start_after, state.max_unpaged_list)
        .await?;
    Ok(ProvisionTokenV2List {
        next_start_after: page.next_start_after(),
        provision_tokens: page.map(|t| t.secrets_if(secrets)).items,
    })
}

pub(super) async fn upsert(
    state: &State,
    request: Request<ProvisionTokenV2>,
) -> Result<(), Status> {
    let value = request.get_ref().name().to_owned();
    authorize(state, &request, "UpsertToken", target(&value)).await?;
    let mut token = request.into_inner();
    crate::tokens::normalize(&mut token)?;
    state.tokens.upsert(&token).await?;
    Ok(())
}

pub(super) async fn delete(
    state: &State,
    request: Request<DeleteTokenRequest>,
) -> Result<(), Status> {
    let value = request.get_ref().token.clone();
    authorize(state, &request, "DeleteToken", target(&value)).await?;
    Ok(state.tokens.delete(&value).await?)
}
