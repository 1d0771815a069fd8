//! The explorer's HTML (maud: every interpolated value is escaped). One function per page; the
//! data comes from the handlers in the parent module.

use super::{
    BlockData, ConsignmentData, Ctx, HistoryData, HomeData, IncludedTx, RootRow, RootsPage,
    StatusData, Verdict, VersionRow,
};
use axum::http::StatusCode;
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;
use zkcustoms_circuits::date::Day;
use zkcustoms_circuits::field::fr_to_hex;
use zkcustoms_ledger_core::chain::TxStatus;
use zkcustoms_ledger_core::store::Finality;
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::{Hash, Signer, Transaction, Ucr};
use zkcustoms_verifier::{ProofEnvelope, VerifierKeys, VerifyError};

mod forms;
mod records;
mod registry;

pub(crate) use forms::*;
pub(crate) use records::*;
pub(crate) use registry::*;

/// A timestamp (milliseconds since the epoch) as `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn time(ms: u64) -> String {
    let secs = ms / 1000;
    let day = u32::try_from(secs / 86_400)
        .ok()
        .and_then(|d| Day::from_days(d).ok());
    let t = secs % 86_400;
    match day {
        Some(d) => format!(
            "{d} {:02}:{:02}:{:02} UTC",
            t / 3600,
            (t % 3600) / 60,
            t % 60
        ),
        None => format!("{ms} ms after the epoch"),
    }
}

fn ago(now_ms: u64, ms: u64) -> String {
    let s = now_ms.saturating_sub(ms) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

fn short(h: &Hash) -> String {
    hex::encode(&h[..8]) + "…"
}

/// The name of the validator with this public key (hex of the bytes when not in genesis).
fn validator_name(genesis: &Genesis, key: &[u8; 32]) -> String {
    let hex_key = hex::encode(key);
    genesis
        .file
        .validators
        .iter()
        .find(|v| v.public_key.eq_ignore_ascii_case(&hex_key))
        .map(|v| v.name.clone())
        .unwrap_or(hex_key)
}

/// Whether an anonymous visitor may see a transaction's details and download its inclusion
/// proof: not a record of a consignment, not signed by a trader, not about a trader's key
/// (traders' identities and keys are for the ledger's parties).
pub(crate) fn public_to_anyone(tx: &Transaction) -> bool {
    tx.ucr().is_none()
        && !matches!(tx.signer(), Signer::Trader(_))
        && tx.registered_trader().is_none()
}

/// A transaction kind in words.
fn kind_words(tx: &Transaction) -> &'static str {
    match tx.kind() {
        "publish_root" => "Registry root published",
        "anchor_document" => "Document anchored",
        "submit_proof" => "Proof submitted",
        "mark_examination" => "Declaration under examination",
        "register_trader" => "Trader registered",
        "rotate_trader_key" => "Trader key rotated",
        "revoke_trader" => "Trader key revoked",
        "delegate" => "Delegation changed",
        other => other,
    }
}

/// A one-line summary of a transaction: public facts for anyone, record facts for a signed-in
/// viewer only.
fn summary(ctx: &Ctx, tx: &Transaction) -> Markup {
    if let Transaction::PublishRoot(p) = tx {
        return html! {
            "root #" (p.sequence) " of " a href={"/registry/" (p.authority)} { (p.authority) }
        };
    }
    let Some(ucr) = tx.ucr() else {
        return html! {};
    };
    if !ctx.signed_in() {
        return html! { span.tag { "record" } " (sign in to see it)" };
    }
    html! {
        a href={"/consignments/" (ucr)} { (ucr) }
        @match tx {
            Transaction::AnchorDocument(a) => { ": " (a.doc_type) " version " (a.version) }
            Transaction::SubmitProof(p) => { ": " (p.envelope.circuit.statement()) }
            _ => {}
        }
    }
}

/// The page around every view: skip link, header with navigation and sign-in state, main.
pub(crate) fn layout(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (ctx.chain_name) " · zkcustoms explorer" }
                link rel="stylesheet" href="/assets/explorer.css";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.site {
                    div.bar {
                        a.brand href="/" { "zkcustoms explorer" }
                        nav aria-label="Main" {
                            ul {
                                li { a href="/" { "Home" } }
                                li { a href="/registry" { "Registry roots" } }
                                li { a href="/status" { "Node status" } }
                                li { a href="/verify" { "Verify a proof" } }
                            }
                        }
                        div.who {
                            @if let Some(v) = &ctx.viewer {
                                span { "Signed in: " strong { (v.name) } " (" (v.party) ")" }
                                form method="post" action="/signout" {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    button.quiet type="submit" { "Sign out" }
                                }
                            } @else {
                                a href="/signin" { "Sign in" }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    (body)
                }
                footer {
                    "Ledger " (ctx.chain_name) ". Records of consignments are shown to customs \
                     and auditors only; everything else here is public."
                }
            }
        }
    }
}

fn search_box(signed_in: bool) -> Markup {
    html! {
        form.search method="get" action="/search" role="search" {
            div.field {
                label for="q" { "Search the ledger" }
                input type="search" id="q" name="q" required
                    maxlength="200" autocomplete="off" aria-describedby="q-hint";
                p.hint id="q-hint" {
                    "A UCR, a transaction or block hash, a nullifier or a block height."
                    @if !signed_in { " UCRs and nullifiers need a customs or auditor sign-in." }
                }
            }
            button type="submit" { "Search" }
        }
    }
}

/// An error page's body.
pub(crate) fn error(title: &str, message: &str, status: StatusCode) -> Markup {
    html! {
        h1 { (title) }
        div.notice.bad role="alert" {
            p { (message) }
            p.hint { "HTTP status " (status.as_u16()) }
        }
        p { a href="/" { "Back to the home page" } }
    }
}

/// The notice that a page needs a sign-in.
pub(crate) fn sign_in_needed(what: &str, back: &str) -> Markup {
    html! {
        h1 { "Sign in to see records" }
        div.notice.note role="alert" {
            p { "To see " (what) ", sign in with your customs officer's or auditor's explorer account." }
            p { a href={"/signin?next=" (back)} { "Sign in" } }
        }
    }
}

/// Links between the pages of a list at `base`: back to the first page on a later one, and on to
/// the next page (`base?cursor=...`, labelled `onward`) when there is one. Cursors are `v1.` and
/// hex digits: nothing in them needs escaping in an address.
fn pager(base: &str, later: bool, next: Option<&str>, onward: &str) -> Markup {
    html! {
        @if later || next.is_some() {
            nav.pager aria-label="Pages" {
                @if later { a href=(base) { "← First page" } }
                @if let Some(c) = next { a href={(base) "?cursor=" (c)} rel="next" { (onward) " →" } }
            }
        }
    }
}

/// The home page.
pub(crate) fn home(ctx: &Ctx, genesis: &Genesis, d: &HomeData) -> Markup {
    html! {
        h1 { "Ledger " (genesis.file.chain_name) }
        (search_box(ctx.signed_in()))
        h2 id="counts" { "At a glance" }
        ul.cards aria-labelledby="counts" {
            li { span.n { (d.height) } "blocks" }
            li {
                @match d.total_txs {
                    Some(n) => { span.n { (n) } "transactions" }
                    None => { span.n { "…" } "transactions (being counted)" }
                }
            }
            li { span.n { (d.mempool.0) } "waiting in the mempool" }
            li { span.n { (genesis.file.validators.len()) } "validators" }
            li { span.n { (d.roots.iter().map(|r| r.1).sum::<usize>()) } "registry roots published" }
        }
        p {
            "Tip: " span.hash { (hex::encode(d.tip)) } ". "
            a href="/status" { "Node and validator status" }
        }
        h2 { "Latest blocks" }
        @if d.blocks.is_empty() {
            @if d.later { p { "No older block." } } @else { p { "No block is finalized yet." } }
            (pager("/", d.later, None, "Older blocks"))
        } @else {
            div.table-wrap {
                table {
                    caption {
                        @if d.later { (d.blocks.len()) " finalized blocks, newest first" }
                        @else { "The " (d.blocks.len()) " most recent finalized blocks, newest first" }
                    }
                    thead { tr {
                        th scope="col" class="num" { "Height" }
                        th scope="col" { "Time" }
                        th scope="col" class="num" { "Transactions" }
                        th scope="col" { "Proposer" }
                        th scope="col" { "Hash" }
                    } }
                    tbody {
                        @for h in &d.blocks {
                            tr {
                                td.num { a href={"/blocks/" (h.height)} { (h.height) } }
                                td { (time(h.timestamp_ms)) }
                                td.num { (h.tx_count) }
                                td { (validator_name(genesis, &h.proposer)) }
                                td.hash { (short(&h.hash())) }
                            }
                        }
                    }
                }
            }
            (pager("/", d.later, d.next.as_deref(), "Older blocks"))
            h2 { "Their transactions" }
            div.table-wrap {
                table {
                    caption { "Transactions of these blocks, newest first" }
                    thead { tr {
                        th scope="col" class="num" { "Block" }
                        th scope="col" { "Kind" }
                        th scope="col" { "About" }
                        th scope="col" { "Hash" }
                    } }
                    tbody {
                        @for (height, tx) in &d.latest_txs {
                            @let hash = tx.hash();
                            tr {
                                td.num { a href={"/blocks/" (height)} { (height) } }
                                td { (kind_words(tx)) }
                                td { (summary(ctx, tx)) }
                                td.hash { a href={"/tx/" (hex::encode(hash))} { (short(&hash)) } }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Authorities" }
        ul {
            @for (a, n) in &d.roots {
                li { a href={"/registry/" (a)} { (a) } ": " (n) " registry root(s) published" }
            }
        }
    }
}

fn finality_words(f: &Finality) -> Markup {
    match f {
        Finality::Certificate { view, .. } => html! {
            "finalized by its own certificate (consensus view " (view) ")"
        },
        Finality::Descendant(h) => html! {
            "finalized with the certificate of its descendant "
            a href={"/blocks/" (h)} { "block " (h) }
        },
    }
}

/// A block page.
pub(crate) fn block(ctx: &Ctx, genesis: &Genesis, b: &BlockData, tip: u64) -> Markup {
    let h = &b.block.header;
    let base = format!("/blocks/{}", h.height);
    let shown = match (b.txs.first(), b.txs.last()) {
        (Some(first), Some(last)) => format!(", {} to {} of {}", first.0, last.0, h.tx_count),
        _ => String::new(),
    };
    html! {
        h1 { "Block " (h.height) }
        nav.pager aria-label="Neighbouring blocks" {
            @if h.height > 1 { a href={"/blocks/" (h.height - 1)} { "← Block " (h.height - 1) } }
            @if h.height < tip { a href={"/blocks/" (h.height + 1)} { "Block " (h.height + 1) " →" } }
        }
        dl.facts {
            dt { "Hash" } dd.hash { (hex::encode(b.block.hash())) }
            dt { "Parent" } dd.hash {
                @if h.height > 1 { a href={"/blocks/" (h.height - 1)} { (hex::encode(h.parent)) } }
                @else { (hex::encode(h.parent)) " (genesis)" }
            }
            dt { "Time" } dd { (time(h.timestamp_ms)) }
            dt { "Proposer" } dd { (validator_name(genesis, &h.proposer)) }
            dt { "Transactions" } dd { (h.tx_count) }
            dt { "Transaction root" } dd.hash { (hex::encode(h.tx_root)) }
            dt { "Finality" } dd { (finality_words(&b.block.finality)) }
        }
        h2 { "Transactions" }
        div.table-wrap {
            table {
                caption { "Transactions of block " (h.height) ", in order" (shown) }
                thead { tr {
                    th scope="col" class="num" { "#" }
                    th scope="col" { "Kind" }
                    th scope="col" { "About" }
                    th scope="col" { "Hash" }
                } }
                tbody {
                    @for (i, hash, tx) in &b.txs {
                        tr {
                            td.num { (i) }
                            td { (kind_words(tx)) }
                            td { (summary(ctx, tx)) }
                            td.hash { a href={"/tx/" (hex::encode(hash))} { (short(hash)) } }
                        }
                    }
                }
            }
        }
        (pager(&base, b.later, b.next.as_deref(), "Next transactions"))
    }
}

/// A JSON value as text: strings without quotes, lists and objects (such as a declaration's
/// items) as words.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join("; "),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| format!("{} {}", field_words(k), value_text(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// A field name in words (`declared_value_minor` → `declared value minor`).
fn field_words(k: &str) -> String {
    k.replace('_', " ")
}

fn json_facts(v: &Value, skip: &[&str]) -> Markup {
    html! {
        dl.facts {
            @if let Some(obj) = v.as_object() {
                @for (k, v) in obj {
                    @if !skip.contains(&k.as_str()) {
                        dt { (field_words(k)) } dd.mono { (value_text(v)) }
                    }
                }
            }
        }
    }
}

/// The named public values of an envelope, from its JSON form (so every statement shows).
fn public_values(env: &ProofEnvelope) -> Markup {
    let json: Value = serde_json::from_str(&env.to_json()).unwrap_or_default();
    json_facts(&json["public"], &[])
}

fn verify_error_words(e: &VerifyError) -> String {
    match e {
        VerifyError::InvalidProof => {
            "the proof does not verify: it is not a proof of these public values".into()
        }
        VerifyError::NoKey(c) => format!("this node holds no verifying key for {c}"),
        VerifyError::WrongKey { expected, .. } => format!(
            "the proof names another verifying key than the one this ledger accepts ({expected})"
        ),
        other => other.to_string(),
    }
}

fn proof_details(env: &ProofEnvelope) -> Markup {
    html! {
        dl.facts {
            dt { "Statement" } dd { (env.circuit) }
            dt { "Verifying key" } dd.hash { (env.vk_id) }
        }
        h3 { "Public values" }
        (public_values(env))
    }
}

/// A transaction page.
pub(crate) fn transaction(
    ctx: &Ctx,
    genesis: &Genesis,
    hash: &Hash,
    status: &TxStatus,
    included: Option<&IncludedTx>,
) -> Markup {
    let hex_hash = hex::encode(hash);
    html! {
        h1 { "Transaction" }
        dl.facts {
            dt { "Hash" } dd.hash { (hex_hash) }
            dt { "Status" } dd {
                @match status {
                    TxStatus::Included { location, .. } => {
                        "on the ledger in " a href={"/blocks/" (location.height)} { "block " (location.height) }
                        ", position " (location.index)
                    }
                    TxStatus::Pending => { "waiting in the mempool for the next block" }
                    // The message may name the consignment: for signed-in viewers only.
                    TxStatus::Rejected { why: r, .. } if ctx.signed_in() => { "refused: " (r.message) " (" code { (r.code) } ")" }
                    TxStatus::Rejected { why: r, .. } => { "refused (" code { (r.code) } "; sign in for the reason)" }
                    TxStatus::Unknown => { "unknown" }
                }
            }
            @if let Some(inc) = included {
                dt { "Kind" } dd { (kind_words(inc.tx())) }
                dt { "Block time" } dd { (time(inc.finalized.block.header.timestamp_ms)) }
                dt { "Finality" } dd { (finality_words(&inc.finalized.block.finality)) }
                dt { "Proposer" } dd { (validator_name(genesis, &inc.finalized.block.header.proposer)) }
            }
        }
        @if let Some(inc) = included {
            @let tx = inc.tx();
            @if tx.ucr().is_some() && !ctx.signed_in() {
                div.notice.note {
                    p {
                        "This transaction is a record of a consignment. Its details and its inclusion \
                         proof are shown to customs and auditors only: "
                        a href={"/signin?next=/tx/" (hex_hash)} { "sign in" } "."
                    }
                }
            } @else {
                (tx_details(ctx, tx, inc))
                h2 { "Inclusion proof" }
                @if ctx.signed_in() || public_to_anyone(tx) {
                    p {
                        "The transaction, its Merkle path in the block, the block header and the \
                         finalization certificate, for checking offline with "
                        code { "zkcustoms verify-inclusion" } ": "
                        a href={"/tx/" (hex_hash) "/inclusion"} download={"inclusion-" (hex_hash) ".json"} {
                            "download the inclusion proof (JSON)"
                        }
                    }
                } @else {
                    p {
                        "It names a trader: its inclusion proof is for customs and auditors, "
                        a href={"/signin?next=/tx/" (hex_hash)} { "signed in" } "."
                    }
                }
            }
        }
    }
}

fn tx_details(ctx: &Ctx, tx: &Transaction, inc: &IncludedTx) -> Markup {
    html! {
        @match tx {
            Transaction::PublishRoot(p) => {
                h2 { "Registry root" }
                dl.facts {
                    dt { "Authority" } dd { a href={"/registry/" (p.authority)} { (p.authority) } }
                    dt { "Sequence" } dd { "root #" (p.sequence) }
                    dt { "Root" } dd.hash { (fr_to_hex(&p.root)) }
                    dt { "Signature" } dd { "the authority's, checked by every validator before the block was finalized" }
                }
            }
            Transaction::AnchorDocument(a) => {
                h2 { "Anchored document" }
                dl.facts {
                    dt { "Consignment (UCR)" } dd { a href={"/consignments/" (a.ucr)} { (a.ucr) } }
                    dt { "Document type" } dd { (a.doc_type) }
                    dt { "Version" } dd {
                        (a.version)
                        @if let Some(s) = a.supersedes { " (replaces version " (s) ")" }
                        " · " a href={"/consignments/" (a.ucr) "/history"} { "amendment history" }
                    }
                    dt { "SHA-256 digest" } dd.hash { (hex::encode(a.digest)) }
                    dt { "Off-ledger reference" } dd.mono { (a.reference) }
                }
            }
            Transaction::SubmitProof(p) => {
                h2 { "Proof" }
                dl.facts {
                    dt { "Consignment (UCR)" } dd { a href={"/consignments/" (p.ucr)} { (p.ucr) } }
                    dt { "In plain words" } dd { "It proves that " (zkcustoms_verifier::describe(&p.envelope)) "." }
                    dt { "Verification" } dd {
                        @match &inc.verdict {
                            Some(Ok(())) => {
                                strong.verdict-good { "Valid. " }
                                "The node verified it on arrival, again in its block, and again now \
                                 with the ledger's verifying key."
                            }
                            Some(Err(e)) => { strong.verdict-bad { "Not valid now: " } (verify_error_words(e)) }
                            None => { "verified by every validator before the block was finalized" }
                        }
                    }
                }
                (proof_details(&p.envelope))
            }
            other => {
                h2 { (kind_words(other)) }
                @if let Some(ucr) = other.ucr() {
                    @if ctx.signed_in() {
                        p { "Consignment: " a href={"/consignments/" (ucr)} { (ucr) } }
                    }
                }
                // Traders' identities and keys are for the ledger's parties, not for anonymous
                // visitors.
                @if ctx.signed_in() || public_to_anyone(other) {
                    (json_facts(&other.to_json(), &["type"]))
                } @else {
                    p { span.tag { "record" } " (sign in to see it)" }
                }
            }
        }
        @if ctx.signed_in() {
            dl.facts {
                dt { "Signed by" } dd.mono { (tx.signer().id()) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_and_values_read_as_words() {
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(1_795_608_000_123), "2026-11-25 12:00:00 UTC");
        assert_eq!(ago(125_000, 5_000), "2 min ago");
        let items = json!([{"hs_code": "850440", "value_minor": 100}, {"hs_code": "850450"}]);
        assert_eq!(
            value_text(&items),
            "hs code 850440, value minor 100; hs code 850450"
        );
        assert_eq!(value_text(&json!(null)), "none");
        assert_eq!(value_text(&json!("EUR")), "EUR");
    }
}
