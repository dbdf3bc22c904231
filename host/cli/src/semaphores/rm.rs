//! `pctl semaphores rm KIND NAME`.

use portcullis_api::services::SemaphoreFilter;

use crate::connect::ConnectArgs;

/// Options of `pctl semaphores rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// What the semaphore limits, e.g. `connection`.
    kind: String,
    /// Its name, e.g. the user whose connections it counts.
    name: String,
}

/// Deletes the semaphore and every lease on it; holders learn it at their next keep-alive
/// (NOT_FOUND).
pub async fn run(connect: &ConnectArgs, args: RmArgs) -> anyhow::Result<()> {
    let client = connect.connect().await?;
    client
        .rpc()
        .delete_semaphore(SemaphoreFilter {
            semaphore_kind: args.kind.clone(),
            semaphore_name: args.name.clone(),
        })
        .await?;
    println!("semaphore {}/{} deleted", args.kind, args.name);
    Ok(())
}
