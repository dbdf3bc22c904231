//! `pctl request review ID --approve|--deny [--reason TEXT] [--annotations K=V,..]`.

use portcullis_api::auth::AccessReviewSubmission;
use portcullis_api::services::{AccessReview, RequestState};

use crate::connect::ConnectArgs;

/// Options of `pctl request review`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["approve", "deny"])))]
pub struct ReviewArgs {
    /// The request ID.
    id: String,
    /// Propose approving the request.
    #[arg(long)]
    approve: bool,
    /// Propose denying the request.
    #[arg(long)]
    deny: bool,
    /// Why.
    #[arg(long, default_value = "")]
    reason: String,
    /// Values to attach (`ticket=42`, comma-separated; repeated keys collect values).
    #[arg(long, value_delimiter = ',', value_parser = crate::parse_label, value_name = "K=V")]
    annotations: Vec<(String, String)>,
}

/// Submits the review and prints where the request now stands.
pub async fn run(connect: &ConnectArgs, args: ReviewArgs) -> anyhow::Result<()> {
    let proposed = if args.approve {
        RequestState::Approved
    } else {
        RequestState::Denied
    };
    let client = connect.connect().await?;
    let request = client
        .rpc()
        .submit_access_review(AccessReviewSubmission {
            request_id: args.id.clone(),
            review: Some(AccessReview {
                proposed_state: proposed as i32,
                reason: args.reason,
                annotations: super::annotation_map(args.annotations),
                ..AccessReview::default()
            }),
        })
        .await?
        .into_inner();
    let spec = request.spec.unwrap_or_default();
    let approvals = spec
        .reviews
        .iter()
        .filter(|r| r.proposed_state() == RequestState::Approved)
        .count();
    let denials = spec.reviews.len() - approvals;
    println!(
        "access request `{}` is {} ({approvals} approval(s), {denials} denial(s))",
        args.id,
        spec.state().label()
    );
    if spec.state() != RequestState::Pending {
        println!("resolved by {}: {}", spec.resolved_by, spec.resolve_reason);
    }
    Ok(())
}
