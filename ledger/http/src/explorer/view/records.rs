//! A consignment's records and the amendment history of its documents.

use super::*;

/// A consignment's records (signed-in viewers only).
pub(crate) fn consignment(ctx: &Ctx, ucr: &Ucr, d: &ConsignmentData) -> Markup {
    html! {
        h1 { "Consignment " (ucr) }
        @if let Some(e) = &d.examination {
            div.notice.note {
                p {
                    strong { "Under examination" } " by customs office " (e.office) " since "
                    (time(e.timestamp_ms)) " (" a href={"/blocks/" (e.location.height)} { "block " (e.location.height) } "): "
                    "no new version of its documents is accepted."
                }
            }
        } @else {
            p { "Not under examination: its documents may still be amended." }
        }
        h2 { "Latest documents" }
        @if d.documents.is_empty() {
            p { "No document is anchored." }
        } @else {
            div.table-wrap { table {
                caption {
                    @if d.more_documents { "The latest anchored version of the first " (d.documents.len()) " document types (more are anchored) · " }
                    @else { "The latest anchored version of each document · " }
                    a href={"/consignments/" (ucr) "/history"} { "full amendment history" }
                }
                thead { tr {
                    th scope="col" { "Type" } th scope="col" class="num" { "Version" }
                    th scope="col" { "SHA-256 digest" } th scope="col" { "Reference" } th scope="col" class="num" { "Block" }
                } }
                tbody {
                    @for (k, e) in &d.documents {
                        tr {
                            td { (k.doc_type) } td.num { (k.version) }
                            td.hash { (hex::encode(e.digest)) } td.mono { (e.reference) }
                            td.num { a href={"/blocks/" (e.location.height)} { (e.location.height) } }
                        }
                    }
                }
            } }
        }
        h2 { "Records" }
        div.table-wrap { table {
            caption {
                (d.records.len()) " record(s)"
                @if d.later || d.next.is_some() { " on this page" }
                ", in ledger order"
            }
            thead { tr {
                th scope="col" class="num" { "Block" } th scope="col" { "Kind" }
                th scope="col" { "What" } th scope="col" { "Transaction" }
            } }
            tbody {
                @for (loc, tx) in &d.records {
                    @let hash = tx.hash();
                    tr {
                        td.num { a href={"/blocks/" (loc.height)} { (loc.height) } }
                        td { (kind_words(tx)) }
                        td {
                            @match tx {
                                Transaction::AnchorDocument(a) => { (a.doc_type) " version " (a.version) }
                                Transaction::SubmitProof(p) => { (zkcustoms_verifier::describe(&p.envelope)) }
                                other => { (summary(ctx, other)) }
                            }
                        }
                        td.hash { a href={"/tx/" (hex::encode(hash))} { (short(&hash)) } }
                    }
                }
            }
        } }
        (pager(&format!("/consignments/{ucr}"), d.later, d.next.as_deref(), "Next records"))
    }
}

/// The amendment history of a consignment's documents (signed-in viewers only).
pub(crate) fn history(ucr: &Ucr, d: &HistoryData) -> Markup {
    let rows = &d.rows;
    let paged = d.later || d.next.is_some();
    let mut types: Vec<&str> = rows.iter().map(|r| r.key.doc_type.as_str()).collect();
    types.dedup();
    html! {
        h1 { "Amendment history of " (ucr) }
        p {
            "Every anchored version of each document of the consignment: records are versioned, \
             never edited. "
            a href={"/consignments/" (ucr)} { "Back to the consignment's records" }
        }
        @if let Some(e) = &d.examination {
            div.notice.note { p {
                "Amendments closed: customs office " (e.office) " started examining the declaration on "
                (time(e.timestamp_ms)) " (block " (e.location.height) ")."
            } }
        } @else {
            p { "Amendments are still open: customs has not started examining the declaration." }
        }
        @for t in types {
            @let versions: Vec<&VersionRow> = rows.iter().filter(|r| r.key.doc_type == t).collect();
            h2 { "Document: " (t) }
            div.table-wrap { table {
                caption { (versions.len()) " version(s) of " (t) @if paged { " on this page" } }
                thead { tr {
                    th scope="col" class="num" { "Version" } th scope="col" { "Status" }
                    th scope="col" { "Anchored" } th scope="col" { "SHA-256 digest" }
                    th scope="col" { "Reference" } th scope="col" { "Transaction" }
                } }
                tbody {
                    @for r in &versions {
                        tr {
                            td.num { (r.key.version) }
                            td {
                                @match r.superseded_by {
                                    None => { "current" }
                                    Some(v) => { "superseded by " (v) }
                                }
                                @if let Some(s) = r.supersedes { " (replaces " (s) ")" }
                            }
                            td {
                                @if let Some(ts) = r.timestamp_ms { (time(ts)) ", " }
                                a href={"/blocks/" (r.entry.location.height)} { "block " (r.entry.location.height) }
                            }
                            td.hash { (hex::encode(r.entry.digest)) }
                            td.mono { (r.entry.reference) }
                            td.hash {
                                @if let Some(h) = &r.tx_hash { a href={"/tx/" (hex::encode(h))} { (short(h)) } }
                            }
                        }
                    }
                }
            } }
        }
        (pager(&format!("/consignments/{ucr}/history"), d.later, d.next.as_deref(), "More versions"))
    }
}
