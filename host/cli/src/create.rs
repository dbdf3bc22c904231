//! `pctl create [-f] FILE`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use portcullis_api::Client;

use super::connect::ConnectArgs;
use super::read_input;
use portcullis_api::documents::{parse_documents_with, Document};

/// Options of `pctl create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// YAML file with one or more resources (`-` reads standard input).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Overwrite resources that exist already (without it, an existing resource is an error
    /// and nothing is written).
    #[arg(short = 'f', long)]
    force: bool,
}

async fn exists(client: &Client, doc: &Document) -> anyhow::Result<bool> {
    let result = match doc {
        Document::User(_) => client.get_user(doc.name(), false).await.map(drop),
        Document::Role(_) => client.get_role(doc.name()).await.map(drop),
        Document::AccessRequestPolicy(_) => {
            let name = portcullis_api::auth::AccessRequestPolicyName {
                name: doc.name().to_owned(),
            };
            client
                .rpc()
                .get_access_request_policy(name)
                .await
                .map(drop)
                .map_err(portcullis_api::Error::from)
        }
    };
    match result {
        Ok(_) => Ok(true),
        Err(portcullis_api::Error::Status(s)) if s.code() == tonic::Code::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn write(client: &Client, doc: Document, force: bool) -> Result<(), portcullis_api::Error> {
    match (doc, force) {
        (Document::AccessRequestPolicy(policy), _) => client
            .rpc()
            .upsert_access_request_policy(*policy)
            .await
            .map(drop)
            .map_err(portcullis_api::Error::from),
        (Document::Role(role), false) => client.create_role(*role).await,
        (Document::Role(role), true) => client.upsert_role(*role).await,
        (Document::User(user), false) => client.create_user(*user).await,
        (Document::User(user), true) => match client.create_user((*user).clone()).await {
            Err(portcullis_api::Error::Status(s)) if s.code() == tonic::Code::AlreadyExists => {
                client.update_user(*user).await
            }
            other => other,
        },
    }
}

/// Parses and validates the whole file, checks that nothing exists (unless `-f`), then
/// writes roles before users so a file naming both loads in any order.
pub async fn run(connect: &ConnectArgs, args: CreateArgs) -> anyhow::Result<()> {
    let text = read_input(&args.file)?;
    let mut docs = parse_documents_with(&text, portcullis_authz::validate::document)
        .with_context(|| format!("`{}`: nothing was written", args.file.display()))?;
    if docs.is_empty() {
        bail!("`{}` holds no resources", args.file.display());
    }
    let client = connect.connect().await?;
    if !args.force {
        for doc in &docs {
            if exists(&client, doc).await? {
                bail!(
                    "{} `{}` already exists (use -f to overwrite); nothing was written",
                    doc.kind(),
                    doc.name()
                );
            }
        }
    }
    // Roles, then users, then policies: a file may name them in any order.
    docs.sort_by_key(|d| match d {
        Document::Role(_) => 0,
        Document::User(_) => 1,
        Document::AccessRequestPolicy(_) => 2,
    });
    for doc in docs {
        let (kind, name) = (doc.kind(), doc.name().to_owned());
        write(&client, doc, args.force)
            .await
            .with_context(|| format!("cannot write {kind} `{name}`"))?;
        let verb = if args.force {
            "created or updated"
        } else {
            "created"
        };
        println!("{kind} `{name}` has been {verb}");
    }
    Ok(())
}
