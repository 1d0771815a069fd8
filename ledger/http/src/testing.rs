//! Helpers for tests and benchmarks (feature `test-utils`, never in a production build): a node's
//! router over a chain, with one well-known token per role.

use crate::{role_tokens, router as node_router, ApiState};
use axum::Router;
use std::collections::BTreeMap;
use std::sync::Arc;
use zkcustoms_documents::DocumentService;
use zkcustoms_ledger_core::chain::Chain;
use zkcustoms_ledger_types::tx::Role;

/// The test token of a role.
pub fn token(role: Role) -> String {
    format!("{}-token-0123456789abcdef0123456789abcdef", role.name())
}

/// The router of a node over `chain`, with a [`token`] for every role, at most 16 requests at
/// once, bodies of at most `max_body` bytes and rates no test reaches.
pub fn router(
    chain: Arc<Chain>,
    documents: Option<Arc<DocumentService>>,
    max_body: usize,
) -> Router {
    let tokens: BTreeMap<Role, String> = Role::ALL.iter().map(|r| (*r, token(*r))).collect();
    node_router(ApiState {
        chain,
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
        parties: Arc::default(),
    })
}
