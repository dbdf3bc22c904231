//! Provisioning token handlers: GenerateToken, GetToken, GetTokens, UpsertToken,
//! DeleteToken. Where clauses see a token by its redacted value, never the secret.

use std::time::{Duration, SystemTime};

use portcullis_api::auth::{
    DeleteTokenRequest, GenerateTokenRequest, GenerateTokenResponse, GetTokenRequest,
    GetTokensRequest, ProvisionTokenV2List,
};
use portcullis_api::services::ProvisionTokenV2;
use tonic::{Request, Status};

use crate::rbac::{authorize, Target};
use crate::resources::Resource;
use crate::state::State;
use crate::tokens::{
    canonical_roles, new_token, random_value, redact, validate_value, DEFAULT_TTL, KIND_TOKEN,
    MAX_TTL,
};

fn target(value: &str) -> Target {
    Target::named(KIND_TOKEN, &redact(value))
}

/// The lifetime asked for: `ttl_nanos` (0 = default), at most [`MAX_TTL`].
fn ttl(ttl_nanos: i64) -> Result<Duration, Status> {
    match ttl_nanos {
        0 => Ok(DEFAULT_TTL),
        n if n < 0 => Err(Status::invalid_argument(format!("ttl {n}ns is negative"))),
        n => {
            let ttl = Duration::from_nanos(n.unsigned_abs());
            if ttl > MAX_TTL {
                return Err(Status::invalid_argument(format!(
                    "ttl {} is longer than the maximum of {}",
                    humantime::format_duration(ttl),
                    humantime::format_duration(MAX_TTL)
                )));
            }
            Ok(ttl)
        }
    }
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
    let roles = canonical_roles(&req.roles)?;
    let value = if req.token.is_empty() {
        random_value()
    } else {
        validate_value(&req.token)?;
        req.token
    };
    let expires = SystemTime::now() + ttl(req.ttl)?;
    let token = new_token(
        value.clone(),
        roles,
        expires,
        req.labels.into_iter().collect(),
    );
    state.tokens.create(&token).await?;
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
    let mut tokens = state.tokens.list().await?;
    if !secrets {
        for token in &mut tokens {
            let metadata = token.metadata_mut();
            metadata.name = redact(&metadata.name);
        }
    }
    Ok(ProvisionTokenV2List {
        provision_tokens: tokens,
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
