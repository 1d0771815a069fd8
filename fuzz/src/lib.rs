//! Fuzz targets: one function per decoder of bytes that come from outside a party (a peer, a
//! client, a file another party made), each taking arbitrary bytes.
//!
//! A target must never panic, whatever the bytes; where a decoder accepts them, the value must
//! encode back to the same bytes (the binary formats are canonical, so a transaction or a block
//! has one encoding and one hash) or, for JSON, to a value that decodes to the same thing. A
//! panic is a finding.
//!
//! The same functions run under libFuzzer (`fuzz/libfuzzer`, `make fuzz`) and in the test suite,
//! which replays every committed corpus (`fuzz/corpus/<target>/`) through [`TARGETS`]. See
//! `FUZZING.md`.

use std::path::Path;
use std::sync::OnceLock;
use zkcustoms_circuits::invoice::Invoice;
use zkcustoms_circuits::CircuitId;
use zkcustoms_documents::{
    DocumentBlobs, DocumentKeys, DocumentMaster, DocumentMetas, DocumentShreds,
};
use zkcustoms_ledger_core::inclusion;
use zkcustoms_ledger_core::schema::{self, Schema};
use zkcustoms_ledger_types::block::{Block, BlockHeader};
use zkcustoms_ledger_types::genesis::{Genesis, NodeConfig};
use zkcustoms_ledger_types::tx::Transaction;
use zkcustoms_ledger_types::{json, wire};
use zkcustoms_node::consensus::{BlocksMessage, Peeked, BLOCK_REQUEST_TAG, BLOCK_TAG};
use zkcustoms_node::sync::SyncMessage;
use zkcustoms_prover::witness::Witness;
use zkcustoms_verifier::{envelope, ProofEnvelope, VerifyingKey};

/// A fuzz target: arbitrary bytes in, a panic on a finding.
pub type Target = fn(&[u8]);

/// Every target by name; the name is the libFuzzer binary's and the corpus directory's.
pub const TARGETS: &[(&str, Target)] = &[
    ("transaction_binary", transaction_binary),
    ("tx_peek", tx_peek),
    ("transaction_json", transaction_json),
    ("block", block),
    ("blocks_message", blocks_message),
    ("envelope_binary", envelope_binary),
    ("envelope_json", envelope_json),
    ("sync_message", sync_message),
    ("inclusion_proof", inclusion_proof),
    ("genesis", genesis),
    ("node_config", node_config),
    ("witness_json", witness_json),
    ("invoice_json", invoice_json),
    ("invoice_binary", invoice_binary),
    ("stored_value", stored_value),
    ("verifying_key", verifying_key),
    ("ceremony_file", ceremony_file),
    ("ptau_file", ptau_file),
    ("http_signature", http_signature),
    ("wire_json", wire_json),
    ("page_cursor", page_cursor),
    ("access_list", access_list),
];

/// The genesis the inclusion proofs of the corpus were made on (the fixed example ledger of the
/// seed generator, `examples/seed_corpus.rs`), so that the fuzzer reaches past the chain id check.
pub const FIXTURE_GENESIS: &[u8] = include_bytes!("../fixtures/genesis.json");

fn fixture_genesis() -> &'static Genesis {
    static GENESIS: OnceLock<Genesis> = OnceLock::new();
    GENESIS
        .get_or_init(|| Genesis::from_bytes(FIXTURE_GENESIS).expect("the fixture genesis is valid"))
}

/// A transaction in the binary encoding (relayed by peers,
/// stored in blocks).
pub fn transaction_binary(data: &[u8]) {
    if let Ok(tx) = Transaction::from_bytes(data) {
        assert_eq!(tx.to_bytes(), data, "a transaction has one binary encoding");
        let again = Transaction::from_json(tx.to_json()).expect("its JSON decodes");
        assert_eq!(again, tx, "binary and JSON carry the same transaction");
    }
}

/// A transaction's kind and signer read from its bytes before they are decoded
/// ([`zkcustoms_ledger_types::tx::peek`], what a node screens a relayed transaction by): never a
/// panic, and for bytes that decode, the decoded transaction's kind, namespace and signer.
pub fn tx_peek(data: &[u8]) {
    let peeked = zkcustoms_ledger_types::tx::peek(data);
    if let Ok(tx) = Transaction::from_bytes(data) {
        let p = peeked.expect("bytes that decode are peeked");
        let signer = tx.signer();
        assert_eq!(
            (p.kind, p.namespace, p.signer, p.id),
            (tx.kind(), tx.namespace(), signer.kind(), signer.id()),
            "peeking agrees with decoding"
        );
    }
}

/// JSON read as the node reads every request body and the client every answer: the strict
/// reader (no repeated key, a bounded number of values), which must agree with serde_json on
/// whatever it accepts.
fn strict(data: &[u8]) -> Option<serde_json::Value> {
    let value = json::strict_json(data, data.len()).ok()?;
    let plain: serde_json::Value =
        serde_json::from_slice(data).expect("what the strict reader accepts is JSON");
    assert_eq!(
        value, plain,
        "the strict reader reads what serde_json reads"
    );
    Some(value)
}

/// A transaction in JSON (HTTP `application/json`), read as the node reads a request body.
pub fn transaction_json(data: &[u8]) {
    let Some(value) = strict(data) else {
        return;
    };
    if let Ok(tx) = Transaction::from_json(value) {
        let bytes = tx.to_bytes();
        let again = Transaction::from_bytes(&bytes).expect("its binary encoding decodes");
        assert_eq!(again, tx, "JSON and binary carry the same transaction");
        assert_eq!(
            Transaction::from_json(tx.to_json()).expect("re-encoded JSON"),
            tx
        );
    }
}

/// A block (p2p blocks channel) or, on a first byte of 0, a block header.
pub fn block(data: &[u8]) {
    match data.split_first() {
        Some((0, rest)) => {
            if let Ok(header) = BlockHeader::from_bytes(rest) {
                assert_eq!(header.to_bytes(), rest, "a header has one encoding");
            }
        }
        _ => {
            if let Ok(block) = Block::from_bytes(data) {
                assert_eq!(block.to_bytes(), data, "a block has one encoding");
            }
        }
    }
}

/// A message of the p2p blocks channel (a block, or a request for one): the node's receive path
/// (peek, then the commitment check on the block's bytes), which must agree with full decoding.
pub fn blocks_message(data: &[u8]) {
    let screened = match BlocksMessage::peek(data) {
        Ok(Peeked::Block(header, bytes)) => {
            let checked = Block::check_commitment(bytes);
            if let Ok(h) = &checked {
                assert!(*h == header, "the commitment check reads the peeked header");
            }
            Some(checked.is_ok())
        }
        _ => None,
    };
    match BlocksMessage::decode(data) {
        Ok(BlocksMessage::Block(block, size)) => {
            assert_eq!(
                screened,
                Some(true),
                "a block that decodes passes the node's checks"
            );
            assert_eq!(data[0], BLOCK_TAG);
            assert!(
                matches!(BlocksMessage::peek(data), Ok(Peeked::Block(h, _)) if h == block.header),
                "what decodes peeks to its header"
            );
            assert_eq!(size, data.len() - 1);
            assert_eq!(block.to_bytes(), &data[1..], "a block has one encoding");
        }
        Ok(BlocksMessage::Request(hash)) => {
            assert_eq!(data[0], BLOCK_REQUEST_TAG);
            assert_eq!(&hash[..], &data[1..]);
        }
        Err(_) => {}
    }
}

/// A proof envelope in its binary encoding; on a first byte of 0, the bare proof points.
pub fn envelope_binary(data: &[u8]) {
    match data.split_first() {
        Some((0, rest)) => {
            if let Ok(proof) = envelope::decode_proof(rest) {
                assert_eq!(
                    envelope::encode_proof(&proof),
                    rest,
                    "a proof has one encoding"
                );
            }
        }
        _ => {
            if let Ok(env) = ProofEnvelope::from_bytes(data) {
                assert_eq!(env.to_bytes(), data, "an envelope has one encoding");
                let again = ProofEnvelope::from_json(&env.to_json()).expect("its JSON decodes");
                assert_eq!(
                    again.to_bytes(),
                    data,
                    "binary and JSON carry the same envelope"
                );
            }
        }
    }
}

/// A proof envelope in JSON (files, the prover service, the explorer's verify form).
pub fn envelope_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(env) = ProofEnvelope::from_json(text) {
        let again = ProofEnvelope::from_bytes(&env.to_bytes()).expect("its binary decodes");
        assert_eq!(
            again.to_json(),
            env.to_json(),
            "JSON and binary carry the same envelope"
        );
    }
}

/// A message of the p2p sync channel (requests and certified block batches).
pub fn sync_message(data: &[u8]) {
    if let Ok(msg) = SyncMessage::from_bytes(data) {
        assert_eq!(msg.to_bytes(), data, "a sync message has one encoding");
        // A block read as far as its header decodes in full (when it does) to that header.
        if let SyncMessage::Response { blocks, .. } = msg {
            for raw in blocks {
                if let Ok(block) = raw.decode_block(|_| None) {
                    assert_eq!(block.header, raw.header);
                    assert_eq!(block.to_bytes(), raw.block);
                }
            }
        }
    }
}

/// An inclusion proof (JSON from any node), checked against the fixture genesis.
pub fn inclusion_proof(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(proof) = inclusion::parse(text) {
        let _ = inclusion::verify(&proof, fixture_genesis(), None);
    }
}

/// The time and key of [`http_signature`]'s requests (the seeds are signed at this time with
/// this key, so that the fuzzer starts from requests that verify).
pub const HTTP_SIGNATURE_NOW: u64 = 1_767_225_600;

/// The party key of [`http_signature`]: seed 7.
pub fn http_signature_key() -> zkcustoms_ledger_types::crypto::PrivateKey {
    <zkcustoms_ledger_types::crypto::PrivateKey as commonware_cryptography::Signer>::from_seed(7)
}

/// A party's signed request as a node receives it (RFC 9421 headers, outside bytes at every
/// node): lines for `Host` (empty for none), `Signature-Input`, `Signature` and
/// `Content-Digest` (empty for none), then the body. A request that verifies must have been
/// signed with the fixture key over that body, and one bound to a node (covering `@authority`)
/// to the `Host` it arrived at.
pub fn http_signature(data: &[u8]) {
    if let Some(v) = verify_http_signature(data) {
        assert!(v.created.abs_diff(HTTP_SIGNATURE_NOW) <= 300);
        if let Some(authority) = &v.authority {
            let host = std::str::from_utf8(data)
                .ok()
                .and_then(|t| t.split('\n').next());
            assert_eq!(
                Some(authority.as_str()),
                host,
                "bound to the Host it arrived at"
            );
        }
    }
}

/// What [`http_signature`] verifies: the request it decodes, if its signature holds.
pub fn verify_http_signature(
    data: &[u8],
) -> Option<zkcustoms_ledger_types::http_signature::VerifiedRequest> {
    use zkcustoms_ledger_types::http_signature::{verify_request_at, SignatureHeaders};
    let text = std::str::from_utf8(data).ok()?;
    let mut parts = text.splitn(5, '\n');
    let host = Some(parts.next().unwrap_or("")).filter(|h| !h.is_empty());
    let (input, signature) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let digest = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("");
    let headers = SignatureHeaders {
        signature_input: vec![input],
        signature: vec![signature],
        content_digest: if digest.is_empty() {
            vec![]
        } else {
            vec![digest]
        },
    };
    let key = zkcustoms_ledger_types::crypto::public_of(&http_signature_key());
    verify_request_at(
        &headers,
        host,
        "POST",
        "/v1/transactions",
        body.as_bytes(),
        |_| Some(key),
        HTTP_SIGNATURE_NOW,
        300,
    )
    .ok()
}

/// A genesis file.
pub fn genesis(data: &[u8]) {
    if let Ok(g) = Genesis::from_bytes(data) {
        let again = serde_json::to_vec(&g.file).expect("a genesis file serializes");
        let reread = Genesis::from_bytes(&again).expect("a re-encoded genesis is valid");
        assert_eq!(reread.validators, g.validators);
        assert_eq!(reread.authorities, g.authorities);
        assert_eq!(reread.offices, g.offices);
        assert_eq!(reread.auditors, g.auditors);
        assert_eq!(reread.pinned, g.pinned);
    }
}

/// A node configuration file.
pub fn node_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = NodeConfig::parse(text, Path::new("config/node.json"));
}

/// A witness file; the first byte chooses the statement it is read for.
pub fn witness_json(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let statement = CircuitId::ALL[usize::from(which) % CircuitId::ALL.len()].statement();
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let _ = Witness::from_json(statement, text);
}

/// An invoice in JSON: where it encodes, the canonical bytes decode to the same invoice.
pub fn invoice_json(data: &[u8]) {
    let Ok(invoice) = serde_json::from_slice::<Invoice>(data) else {
        return;
    };
    if let Ok(bytes) = invoice.encode() {
        let (again, _) = Invoice::decode(&bytes).expect("a canonical encoding decodes");
        assert!(
            again == invoice,
            "the canonical encoding carries the invoice"
        );
    }
}

/// An invoice in its canonical binary encoding (what a document digest is taken over).
pub fn invoice_binary(data: &[u8]) {
    if let Ok((invoice, class)) = Invoice::decode(data) {
        let bytes = invoice.encode_in(class).expect("a decoded invoice encodes");
        assert_eq!(bytes, data, "an invoice has one canonical encoding");
    }
}

/// A column family's key and value decoders, as [`stored_value`] calls them.
type StoredDecoder = fn(bool, &[u8]);

/// The column families of [`stored_value`], by selector, each with its decoders: the ledger's in
/// the order of [`schema::COLUMN_FAMILIES`] (which the seeds follow), then the document store's.
pub const STORED: [(&str, StoredDecoder); 23] = [
    (schema::Meta::CF, stored::<schema::Meta>),
    (schema::Blocks::CF, stored::<schema::Blocks>),
    (schema::BlockHashes::CF, stored::<schema::BlockHashes>),
    (schema::Transactions::CF, stored::<schema::Transactions>),
    (schema::Records::CF, stored::<schema::Records>),
    (schema::Nullifiers::CF, stored::<schema::Nullifiers>),
    (schema::Claims::CF, stored::<schema::Claims>),
    (schema::RegistryRoots::CF, stored::<schema::RegistryRoots>),
    (schema::RootIndex::CF, stored::<schema::RootIndex>),
    (schema::Documents::CF, stored::<schema::Documents>),
    (schema::Digests::CF, stored::<schema::Digests>),
    (schema::Examinations::CF, stored::<schema::Examinations>),
    (schema::VerifyingKeys::CF, stored::<schema::VerifyingKeys>),
    (schema::PendingBlocks::CF, stored::<schema::PendingBlocks>),
    (schema::TraderKeys::CF, stored::<schema::TraderKeys>),
    (schema::Owners::CF, stored::<schema::Owners>),
    (schema::Delegations::CF, stored::<schema::Delegations>),
    (schema::NullifierIndex::CF, stored::<schema::NullifierIndex>),
    (DocumentMetas::CF, stored::<DocumentMetas>),
    (DocumentKeys::CF, stored::<DocumentKeys>),
    (DocumentBlobs::CF, stored::<DocumentBlobs>),
    (DocumentShreds::CF, stored::<DocumentShreds>),
    (DocumentMaster::CF, stored::<DocumentMaster>),
];

fn stored<S: Schema>(key: bool, data: &[u8]) {
    if key {
        if let Ok(k) = S::decode_key(data) {
            assert_eq!(S::encode_key(&k), data, "{} keys have one encoding", S::CF);
        }
    } else if let Ok(v) = S::decode_value(data) {
        assert_eq!(
            S::encode_value(&v),
            data,
            "{} values have one encoding",
            S::CF
        );
    }
}

/// A stored key or value (a data directory is outside bytes to an auditor, and to a node after
/// a disk fault). The first byte chooses the column family and whether a key or a value is read;
/// the last choice is the auditor's reader of stored blocks. The selectors are the indices of
/// [`STORED`].
pub fn stored_value(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let key = which & 0x80 != 0;
    match STORED.get(usize::from(which & 0x7f)) {
        Some((_, decode)) => decode(key, rest),
        None => {
            let _ = zkcustoms_audit::parse_stored_block(rest);
        }
    }
}

/// A verifying key (key directories, the ledger's pinned keys); the first byte chooses the
/// circuit it is read for.
pub fn verifying_key(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let circuit = CircuitId::ALL[usize::from(which) % CircuitId::ALL.len()];
    if let Ok(vk) = VerifyingKey::from_bytes(circuit, rest) {
        // One key, one encoding: its id (the hash of these bytes) names it in genesis and
        // key directories, so a second encoding would be a second id for the same key.
        assert_eq!(
            VerifyingKey::canonical_bytes(vk.arkworks()),
            rest,
            "a verifying key has one encoding"
        );
    }
}

/// A ceremony file from another participant: the header (first byte 0), phase-1 parameters of
/// power 1 or 2 (first byte 1 or 2) or a phase-2 key (any other first byte).
pub fn ceremony_file(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which {
        0 => {
            let _ = zkcustoms_ceremony::file::decode(rest);
        }
        1 | 2 => {
            let mut r = zkcustoms_ceremony::codec::Reader::new(rest);
            if zkcustoms_ceremony::phase1::Phase1::read(&mut r, which).is_ok() {
                let _ = r.finish();
            }
        }
        _ => {
            let _ = zkcustoms_ceremony::phase2::decode_key(rest);
        }
    }
}

/// A snarkjs `.ptau` file (a public phase 1 a coordinator imports): anything accepted must
/// encode back (without snarkjs's Lagrange sections) to a file that reads as the same powers and
/// contributions.
pub fn ptau_file(data: &[u8]) {
    use zkcustoms_ceremony::ptau;
    let name = Path::new("fuzz.ptau");
    let read = |bytes: &[u8]| {
        ptau::read_from(
            &mut std::io::Cursor::new(bytes),
            bytes.len() as u64,
            name,
            None,
        )
    };
    if let Ok(p) = read(data) {
        let encoded = ptau::encode(&p.params, p.ceremony_power, &p.contributions_section);
        let again = read(&encoded).expect("an accepted file encodes to one that reads");
        assert_eq!(again.params, p.params, "the same powers");
        assert_eq!(
            again.contributions, p.contributions,
            "the same contributions"
        );
        assert_eq!(again.ceremony_power, p.ceremony_power);
        assert!(!again.lagrange);
    }
}

/// A page cursor (`?cursor=` of the list routes), read as the cursor of each list: anything
/// accepted must be that list's cursor and print back to the same text.
pub fn page_cursor(data: &[u8]) {
    use zkcustoms_ledger_core::queries::{BlockHeight, Cursor, DocVersion, Position, RootSequence};
    use zkcustoms_ledger_core::store::TxLocation;
    fn check<P: Position>(text: &str) -> bool {
        match Cursor::<P>::decode(text) {
            Ok(c) => {
                assert_eq!(c.encode(), text, "a cursor has one spelling");
                true
            }
            Err(_) => false,
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let accepted = [
        check::<TxLocation>(text),
        check::<BlockHeight>(text),
        check::<RootSequence>(text),
        check::<DocVersion>(text),
    ];
    assert!(
        accepted.iter().filter(|a| **a).count() <= 1,
        "a cursor belongs to one list"
    );
}

/// The JSON answers of a node's API, as its clients read them from a node they do not trust
/// (the strict reader first); the first byte chooses the type.
pub fn wire_json(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let value = || strict(rest);
    match which % 4 {
        0 => {
            let _ = value().map(serde_json::from_value::<wire::ErrorBody>);
        }
        1 => {
            let _ = value().map(serde_json::from_value::<wire::Submitted>);
        }
        2 => {
            let _ = value().map(serde_json::from_value::<wire::TxState>);
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = wire::parse_hash(text);
            }
        }
    }
}

/// A document's access list (`?readers=` of an upload): anything accepted is sorted, without
/// repeats, and reads back the same from its printed form.
pub fn access_list(data: &[u8]) {
    use zkcustoms_ledger_types::party::parse_readers;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(readers) = parse_readers(text) {
        assert!(
            readers.windows(2).all(|w| w[0] < w[1]),
            "an access list is sorted, without repeats"
        );
        let printed = readers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            parse_readers(&printed).expect("a printed access list reads"),
            readers,
            "an access list reads back from its printed form"
        );
    }
}
