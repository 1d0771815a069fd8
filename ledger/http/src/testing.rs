//! Helpers for tests and benchmarks (feature `test-utils`, never in a production build): a node's
//! router over a chain, with one well-known token per role.

use crate::{role_tokens, router as node_router, Accounts, ApiState};
use axum::Router;
use std::collections::BTreeMap;
use std::sync::Arc;
use zkcustoms_documents::DocumentService;
use zkcustoms_ledger_core::chain::Chain;
use zkcustoms_ledger_types::genesis::{explorer_token_hash, ExplorerAccount, Genesis};
use zkcustoms_ledger_types::tx::Role;

/// The authority (`Host`) of the routers made here: requests bound to a node must be signed for
/// it.
pub const AUTHORITY: &str = "node.test";

/// The test token of a role.
pub fn token(role: Role) -> String {
    format!("{}-token-0123456789abcdef0123456789abcdef", role.name())
}

/// The explorer sign-in token of the test account of a role: customs reads as the first
/// customs office of the chain's genesis, auditor as its first auditor.
pub fn explorer_token(role: Role) -> String {
    format!("{}-explorer-0123456789abcdef0123456789abcdef", role.name())
}

/// The test explorer accounts of a genesis: `officer at OFFICE` for its first customs office
/// and `auditor AUDITOR` for its first auditor, with the [`explorer_token`] of their role.
pub fn explorer_accounts(genesis: &Genesis) -> Accounts {
    let mut list = Vec::new();
    if let Some(office) = genesis.offices.keys().next() {
        list.push(ExplorerAccount {
            name: format!("officer at {office}"),
            party: office.clone(),
            token_sha256: explorer_token_hash(&explorer_token(Role::Customs)),
        });
    }
    if let Some(auditor) = genesis.auditors.keys().next() {
        list.push(ExplorerAccount {
            name: format!("auditor {auditor}"),
            party: auditor.clone(),
            token_sha256: explorer_token_hash(&explorer_token(Role::Auditor)),
        });
    }
    Accounts::new(&list, genesis).expect("the test accounts are valid")
}

/// The router of a node over `chain`, with a [`token`] for every role, the
/// [`explorer_accounts`] of its genesis, at most 16 requests at
/// once, bodies of at most `max_body` bytes and rates no test reaches, reached as [`AUTHORITY`].
pub fn router(
    chain: Arc<Chain>,
    documents: Option<Arc<DocumentService>>,
    max_body: usize,
) -> Router {
    let tokens: BTreeMap<Role, String> = Role::ALL.iter().map(|r| (*r, token(*r))).collect();
    node_router(ApiState {
        documents,
        tokens: role_tokens(&tokens),
        max_body,
        max_concurrency: 16,
        // In process every request comes from one unknown address: rates high enough for any
        // test (the admission's own tests check the rates).
        rates: zkcustoms_http::Rates {
            authenticated: zkcustoms_http::Rate::new(100_000.0, 100_000.0),
            anonymous: zkcustoms_http::Rate::new(100_000.0, 100_000.0),
        },
        parties: Arc::new(
            crate::PartyAuth::default()
                .with_authorities([AUTHORITY.to_owned()])
                .expect("a valid authority"),
        ),
        accounts: Arc::new(explorer_accounts(chain.genesis())),
        chain,
    })
}
