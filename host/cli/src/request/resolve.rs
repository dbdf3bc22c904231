//! `pctl request approve|deny ID [--roles R,..] [--reason TEXT] [--annotations k=v,..]
//! [--delegator U]`.

use portcullis_api::auth::RequestStateSetter;
use portcullis_api::services::RequestState;
use portcullis_api::wrappers::LabelValues;

use crate::connect::ConnectArgs;

/// Options of `pctl request approve` and `pctl request deny`.
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The request ID.
    id: String,
    /// When approving, grant only these of the requested roles (comma-separated).
    #[arg(long, value_delimiter = ',')]
    roles: Vec<String>,
    /// Why.
    #[arg(long, default_value = "")]
    reason: String,
    /// Values to attach (`ticket=42`, comma-separated; repeated keys collect values).
    #[arg(long, value_delimiter = ',', value_parser = crate::parse_label, value_name = "K=V")]
    annotations: Vec<(String, String)>,
    /// Who the decision is made for (e.g. the user behind a plugin).
    #[arg(long, default_value = "")]
    delegator: String,
}

/// Sets the request's state.
pub async fn run(
    connect: &ConnectArgs,
    args: ResolveArgs,
    state: RequestState,
) -> anyhow::Result<()> {
    let values = super::annotation_map(args.annotations);
    let client = connect.connect().await?;
    client
        .rpc()
        .set_access_request_state(RequestStateSetter {
            id: args.id.clone(),
            state: state as i32,
            delegator: args.delegator,
            reason: args.reason,
            annotations: Some(LabelValues {
                values: values.into_iter().collect(),
            }),
            roles: args.roles,
        })
        .await?;
    println!("access request `{}` {}", args.id, state.label());
    Ok(())
}
