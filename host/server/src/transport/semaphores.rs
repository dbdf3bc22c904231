//! Semaphore handlers: `AcquireSemaphore` takes a lease, `KeepAliveSemaphoreLease` extends
//! it, `CancelSemaphoreLease` gives it back, `GetSemaphores` lists semaphores with their live
//! leases, `DeleteSemaphore` removes one (see [`crate::semaphores`] for the design).
//!
//! Who may do what: the RBAC table (`create`+`update` on `semaphore` to acquire, `update`
//! to keep alive or cancel, `list`+`read` to list, `delete` to delete); `where` clauses see
//! the semaphore as `{kind: semaphore, sub_kind: KIND, metadata: {name: NAME}}`.

use portcullis_api::auth::Semaphores as SemaphoreList;
use portcullis_api::kinds::KIND_SEMAPHORE;
use portcullis_api::services::{AcquireSemaphoreRequest, SemaphoreFilter, SemaphoreLease};
use serde_json::json;
use tonic::{Request, Status};

use super::authorize;
use crate::rbac::Target;
use crate::state::State;

fn target(kind: &str, name: &str) -> Target {
    Target {
        resource: Some(json!({
            "kind": KIND_SEMAPHORE,
            "sub_kind": kind,
            "metadata": {"name": name},
        })),
        ..Target::default()
    }
}

/// `AcquireSemaphore`: a lease, or RESOURCE_EXHAUSTED when every lease is held.
pub(super) async fn acquire(
    state: &State,
    request: Request<AcquireSemaphoreRequest>,
) -> Result<SemaphoreLease, Status> {
    let req = request.get_ref();
    let target = target(&req.semaphore_kind, &req.semaphore_name);
    authorize(state, &request, "AcquireSemaphore", target).await?;
    let req = request.into_inner();
    Ok(state
        .semaphores
        .acquire(&req, portcullis_clock::now())
        .await?)
}

/// `KeepAliveSemaphoreLease`: extends a live lease; NOT_FOUND once it expired.
pub(super) async fn keep_alive(
    state: &State,
    request: Request<SemaphoreLease>,
) -> Result<(), Status> {
    let lease = request.get_ref();
    let target = target(&lease.semaphore_kind, &lease.semaphore_name);
    authorize(state, &request, "KeepAliveSemaphoreLease", target).await?;
    let lease = request.into_inner();
    state
        .semaphores
        .keep_alive(&lease, portcullis_clock::now())
        .await?;
    Ok(())
}

/// `CancelSemaphoreLease`: gives a live lease back; NOT_FOUND once it expired.
pub(super) async fn cancel(state: &State, request: Request<SemaphoreLease>) -> Result<(), Status> {
    let lease = request.get_ref();
    let target = target(&lease.semaphore_kind, &lease.semaphore_name);
    authorize(state, &request, "CancelSemaphoreLease", target).await?;
    let lease = request.into_inner();
    Ok(state
        .semaphores
        .cancel(&lease, portcullis_clock::now())
        .await?)
}

/// `GetSemaphores`: the semaphores matching the filter, with their live leases.
pub(super) async fn list(
    state: &State,
    request: Request<SemaphoreFilter>,
) -> Result<SemaphoreList, Status> {
    let filter = request.get_ref();
    let target = target(&filter.semaphore_kind, &filter.semaphore_name);
    authorize(state, &request, "GetSemaphores", target).await?;
    let filter = request.into_inner();
    let semaphores = state
        .semaphores
        .list(&filter, portcullis_clock::now())
        .await?;
    Ok(SemaphoreList { semaphores })
}

/// `DeleteSemaphore`: removes the semaphore (kind and name required) with its leases.
pub(super) async fn delete(state: &State, request: Request<SemaphoreFilter>) -> Result<(), Status> {
    let filter = request.get_ref();
    let target = target(&filter.semaphore_kind, &filter.semaphore_name);
    authorize(state, &request, "DeleteSemaphore", target).await?;
    let filter = request.into_inner();
    Ok(state.semaphores.delete(&filter).await?)
}
