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

/// Items a list walk holds at most: a node that keeps answering pages cannot fill the client's
/// memory.
const MAX_ITEMS: usize = 1_000_000;

/// Most characters of a cursor (a node's is `v1.` and a few dozen hex digits).
const MAX_CURSOR: usize = 256;

/// Whether `c` is a cursor as nodes make them (`v1.` and hex): anything else, put into the
/// request's query, could change what is asked.
fn is_cursor(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= MAX_CURSOR
        && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

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
        if !is_cursor(c) {
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
    let mut held = 0usize;
    while let Some(cursor) = next {
        // The node's cursor goes into a request this client may sign: it must be one.
        if !is_cursor(&cursor) {
            return Err(anyhow!(
                "the node answered a next_cursor that is not a cursor: {}",
                zkcustoms_ledger_client::printable(&cursor)
            )
            .into());
        }
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
        held = held.saturating_add(extra.len());
        if held > MAX_ITEMS {
            return Err(anyhow!(
                "the node's list is longer than {MAX_ITEMS} items: read it a page at a time \
                 (--first-page, then --cursor)"
            )
            .into());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_node_s_own_kind_of_cursor_is_sent_on() {
        assert!(is_cursor("v1.00ff12"));
        // Anything that would change the query, or is too long to be a cursor, is not.
        for bad in [
            "",
            "v1.00&ucr=26DE-HAM-000043",
            "v1.00#",
            "v1.00%26x",
            "v1.\u{1b}[2K",
            &"a".repeat(MAX_CURSOR + 1),
        ] {
            assert!(!is_cursor(bad), "{bad:?}");
        }
    }
}
