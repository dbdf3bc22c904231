//! `pctl audit verify [--since 1h|TIME] [--json]`.

use portcullis_api::auth::VerifyAuditLogRequest;

use crate::connect::ConnectArgs;

/// Options of `pctl audit verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Only check events since this long ago (`30m`, `2h`, `7days`) or since this RFC 3339
    /// time (default: the whole log). The first event of each chain in that range is taken
    /// as it is; the links from there on are checked.
    #[arg(long, value_name = "AGO|TIME")]
    since: Option<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
}

/// Prints `audit log intact: N events in M chains`, or one line per problem (event id,
/// chain, what is wrong) and fails.
pub async fn run(connect: &ConnectArgs, args: VerifyArgs) -> anyhow::Result<()> {
    let request = VerifyAuditLogRequest {
        since: args
            .since
            .as_deref()
            .map(super::since)
            .transpose()?
            .unwrap_or_default(),
    };
    let client = connect.connect().await?;
    let answer = client.rpc().verify_audit_log(request).await?.into_inner();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else if answer.problems.is_empty() {
        println!(
            "audit log intact: {} events in {} chains",
            answer.checked, answer.chains
        );
    } else {
        for problem in &answer.problems {
            let chain = match problem.chain.as_str() {
                "" => "-",
                chain => chain,
            };
            println!("{}  chain {chain}: {}", problem.event_id, problem.problem);
        }
    }
    if !answer.problems.is_empty() {
        anyhow::bail!(
            "the audit log is not intact: {} broken chain(s) among {} events in {} chains",
            answer.problems.len(),
            answer.checked,
            answer.chains
        );
    }
    Ok(())
}
