//! Registry roots of each authority, and the node's status.

use super::*;

pub(super) fn root_rows(rows: &[RootRow], now_ms: u64) -> Markup {
    html! {
        thead { tr {
            th scope="col" class="num" { "#" } th scope="col" { "Root" }
            th scope="col" { "Published" } th scope="col" { "Standing" }
        } }
        tbody {
            @for r in rows {
                tr {
                    td.num { (r.sequence) }
                    td.hash { (fr_to_hex(&r.entry.root)) }
                    td { (time(r.entry.timestamp_ms)) ", " a href={"/blocks/" (r.entry.height)} { "block " (r.entry.height) } }
                    td {
                        @match r.acceptable_until_ms {
                            None => { strong { "current" } }
                            Some(until) if until > now_ms => { "superseded; still accepted until " (time(until)) }
                            Some(until) => { "superseded; no longer accepted since " (time(until)) }
                        }
                    }
                }
            }
        }
    }
}

/// Every authority's registry roots.
pub(crate) fn registry_index(all: &[(String, RootsPage)], now_ms: u64) -> Markup {
    html! {
        h1 { "Registry roots" }
        p {
            "Each AEO authority publishes the Merkle root of its certificate registry, signed. \
             Proofs of AEO status are accepted against the current root, or a superseded one \
             during its grace period."
        }
        @for (a, roots) in all {
            h2 { a href={"/registry/" (a)} { (a) } }
            @if roots.rows.is_empty() {
                p { "No root published yet." }
            } @else {
                div.table-wrap { table {
                    caption {
                        @if roots.next.is_some() { "The latest roots of " (a) ", newest first" }
                        @else { "Roots of " (a) ", newest first" }
                    }
                    (root_rows(&roots.rows, now_ms))
                } }
                @if roots.next.is_some() {
                    p { a href={"/registry/" (a)} { "Every root of " (a) } }
                }
            }
        }
    }
}

/// One authority's registry-root history.
pub(crate) fn registry(authority: &str, roots: &RootsPage, now_ms: u64) -> Markup {
    let paged = roots.later || roots.next.is_some();
    html! {
        h1 { "Registry roots of " (authority) }
        @if roots.rows.is_empty() && !roots.later {
            p { "This authority has published no root yet." }
        } @else if roots.rows.is_empty() {
            p { "No older root." }
        } @else {
            div.table-wrap { table {
                caption { (roots.rows.len()) " root(s)" @if paged { " on this page" } ", newest first" }
                (root_rows(&roots.rows, now_ms))
            } }
        }
        (pager(&format!("/registry/{authority}"), roots.later, roots.next.as_deref(), "Older roots"))
        p { a href="/registry" { "All authorities" } }
    }
}

/// The node and validator status page.
pub(crate) fn status(ctx: &Ctx, genesis: &Genesis, d: &StatusData) -> Markup {
    let g = &genesis.file;
    html! {
        h1 { "Node and validators" }
        h2 { "This node" }
        dl.facts {
            dt { "Ledger" } dd { (g.chain_name) }
            dt { "Chain id" } dd.hash { (hex::encode(genesis.chain_id)) }
            dt { "Finalized height" } dd { (d.height) }
            dt { "Tip" } dd.hash { (hex::encode(d.tip)) }
            dt { "Last block" } dd {
                @match d.tip_time_ms {
                    Some(t) => { (time(t)) " (" (ago(d.now_ms, t)) ")" }
                    None => { "none yet" }
                }
            }
            dt { "Mempool" } dd { (d.mempool.0) " transaction(s), " (d.mempool.1) " bytes" }
            dt { "Node clock" } dd { (time(d.now_ms)) }
        }
        h2 { "Validators" }
        div.table-wrap { table {
            caption { (g.validators.len()) " validator(s); blocks proposed among the last " (d.recent) }
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Public key" }
                @if ctx.signed_in() { th scope="col" { "Peer address" } }
                th scope="col" class="num" { "Proposed" }
                th scope="col" { "Last proposal" }
            } }
            tbody {
                @for v in &g.validators {
                    @let p = d.proposals.get(&v.public_key.to_ascii_lowercase());
                    tr {
                        td { (v.name) }
                        td.hash { (v.public_key) }
                        // Where validators listen is for the ledger's parties only.
                        @if ctx.signed_in() { td.mono { (v.p2p_address) } }
                        td.num { (p.map_or(0, |p| p.0)) }
                        td { @match p { Some((_, h)) => { a href={"/blocks/" (h)} { "block " (h) } } None => { "none recently" } } }
                    }
                }
            }
        } }
        h2 { "Parties" }
        dl.facts {
            dt { "AEO authorities" } dd {
                @for (i, a) in g.authorities.iter().enumerate() {
                    @if i > 0 { ", " }
                    a href={"/registry/" (a.id)} { (a.id) }
                }
            }
            dt { "Customs offices" } dd {
                (g.customs_offices.iter().map(|o| o.id.as_str()).collect::<Vec<_>>().join(", "))
            }
        }
        h2 { "Verifying keys accepted" }
        div.table-wrap { table {
            caption { "Pinned in genesis" }
            thead { tr { th scope="col" { "Statement" } th scope="col" { "Key id" } } }
            tbody {
                @for (c, id) in &genesis.pinned {
                    tr { td { (c) } td.hash { (id) } }
                }
            }
        } }
        h2 { "Rules" }
        dl.facts {
            dt { "Root grace period" } dd { (g.params.root_grace_seconds) " s" }
            dt { "As-of day tolerance" } dd {
                @match g.params.as_of_tolerance_days {
                    Some(n) => { (n) " day(s)" }
                    None => { "off (any day accepted)" }
                }
            }
            dt { "Largest block" } dd { (g.params.max_block_txs) " transactions" }
        }
    }
}
