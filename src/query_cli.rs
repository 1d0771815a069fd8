//! `zkcustoms query`: the ledger's lists and records, read through a node's API.

use crate::ledger_cli::{api_refusal, ClientArgs, Refusal};
use anyhow::anyhow;
use clap::{Args, Subcommand};
use serde_json::Value;
use zkcustoms_ledger_client::Client;
use zkcustoms_ledger_types::tx::{self, Ucr};

/// `zkcustoms query`.
#[derive(Subcommand)]
pub enum QueryCommand {
    /// Every record of a consignment (customs, auditor, or the owning trader and its delegates).
    Records(ConsignmentList),
    /// Every anchored version of every document of a consignment, grouped by document type, each
    /// oldest first (who may read its records).
    History(ConsignmentList),
    /// A transaction's status.
    Tx {
        #[command(flatten)]
        client: ClientArgs,
        /// Transaction hash.
        hash: String,
    },
    /// The inclusion proof of a finalized transaction, for `zkcustoms verify-inclusion` (role:
    /// customs or auditor).
    Inclusion {
        #[command(flatten)]
        client: ClientArgs,
        /// Transaction hash.
        hash: String,
    },
    /// A finalized block, or the latest (role: customs or auditor).
    Block {
        #[command(flatten)]
        client: ClientArgs,
        /// Height, or `latest`.
        #[arg(default_value = "latest")]
        height: String,
    },
    /// An authority's published registry roots, oldest first.
    Registry {
        #[command(flatten)]
        client: ClientArgs,
        /// Authority id.
        authority: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Finalized block headers, newest first (role: customs or auditor).
    Blocks {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        page: PageArgs,
    },
    /// The node's status.
    Status {
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// A list of one consignment's.
#[derive(Args)]
pub struct ConsignmentList {
    #[command(flatten)]
    client: ClientArgs,
    /// Unique consignment reference.
    #[arg(long)]
    ucr: String,
    #[command(flatten)]
    page: PageArgs,
}

/// Which page of a list to print.
#[derive(Args, Debug, Clone)]
pub struct PageArgs {
    /// Print only the page that continues after this `next_cursor` (as the node answered it)
    /// instead of walking the whole list.
    #[arg(long)]
    cursor: Option<String>,
    /// Items per page (1 to 1000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000))]
    limit: u16,
    /// Print only the first page instead of walking the whole list (lists of blocks are long).
    #[arg(long, conflicts_with = "cursor")]
    first_page: bool,
}

/// Pages a list walk reads at most before it gives up (a node that keeps answering new
/// cursors is not trusted to end the walk).
const MAX_PAGES: usize = 100_000;

/// Reads a list of `path` (which may already carry a query) under `items`: one page when a
/// cursor or `--first-page` is given, otherwise every page, following `next_cursor` until the
/// node answers none, refusing a cursor that repeats. The walk's answer is the first page's
/// object with every page's items and `next_cursor: null`.
fn read_list(client: &Client, path: &str, items: &str, page: &PageArgs) -> Result<Value, Refusal> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = |cursor: Option<&str>| {
        let mut u = format!("{path}{sep}limit={}", page.limit);
        if let Some(c) = cursor {
            u.push_str("&cursor=");
            u.push_str(c);
        }
        u
    };
    if let Some(c) = &page.cursor {
        // A cursor is `v1.` and hex: anything else would change the query, so it is refused here.
        if !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
            return Err(
                anyhow!("a cursor is what a node answered as next_cursor (v1.<hex>)").into(),
            );
        }
    }
    let mut first = client
        .get(&url(page.cursor.as_deref()))
        .map_err(api_refusal)?;
    if page.cursor.is_some() || page.first_page {
        return Ok(first);
    }
    let mut seen = std::collections::HashSet::new();
    let mut next = first["next_cursor"].as_str().map(str::to_string);
    let mut pages = 1;
    while let Some(cursor) = next {
        if !seen.insert(cursor.clone()) || pages >= MAX_PAGES {
            return Err(anyhow!(
                "the node's list does not end: cursor {cursor} repeats or too many pages"
            )
            .into());
        }
        let mut more = client.get(&url(Some(&cursor))).map_err(api_refusal)?;
        let extra = more[items]
            .as_array_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        first[items]
            .as_array_mut()
            .ok_or_else(|| anyhow!("the node's answer has no list {items:?}"))?
            .extend(extra);
        next = more["next_cursor"].as_str().map(str::to_string);
        pages += 1;
    }
    first["next_cursor"] = Value::Null;
    Ok(first)
}

/// Runs `query`.
pub fn query(cmd: QueryCommand) -> Result<(), Refusal> {
    let v = match cmd {
        QueryCommand::Records(list) => consignment_list(list, "/v1/records", "records")?,
        QueryCommand::History(list) => consignment_list(list, "/v1/records/history", "versions")?,
        QueryCommand::Registry {
            client,
            authority,
            page,
        } => {
            tx::check_party_id("authority", &authority)?;
            read_list(
                &client.client()?,
                &format!("/v1/registry/{authority}"),
                "roots",
                &page,
            )?
        }
        QueryCommand::Blocks { client, page } => {
            read_list(&client.client()?, "/v1/blocks", "blocks", &page)?
        }
        QueryCommand::Tx { client, hash } => get(&client, &format!("/v1/transactions/{hash}"))?,
        QueryCommand::Inclusion { client, hash } => {
            tx::parse_digest(&hash).map_err(|_| anyhow!("a transaction hash is 64 hex digits"))?;
            get(&client, &format!("/v1/transactions/{hash}/inclusion"))?
        }
        QueryCommand::Block { client, height } => get(&client, &format!("/v1/blocks/{height}"))?,
        QueryCommand::Status { client } => get(&client, "/v1/status")?,
    };
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

/// Reads one consignment's list at `route` under `items`.
fn consignment_list(list: ConsignmentList, route: &str, items: &str) -> Result<Value, Refusal> {
    let ConsignmentList { client, ucr, page } = list;
    Ucr::parse(&ucr)?;
    read_list(
        &client.client()?,
        &format!("{route}?ucr={ucr}"),
        items,
        &page,
    )
}

fn get(client: &ClientArgs, path: &str) -> Result<Value, Refusal> {
    client.client()?.get(path).map_err(api_refusal)
}
