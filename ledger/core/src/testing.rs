//! Certified ledgers built without running consensus, for tests, benchmarks and fixtures.
//!
//! [`certify`] signs a finalization certificate the way the validators' Simplex engine does (each
//! validator's finalize vote over the proposal, assembled into one certificate), so the result
//! verifies with [`crate::finality::verify_finalization`] exactly like a certificate a running
//! node stored. [`append_block`] writes a certified block on the store's tip **without checking
//! any ledger rule**: it plays a validator that certifies whatever it is given, which is what an
//! audit must catch. Signing needs the validators' private keys: this is for development ledgers
//! only.

pub mod examples;
pub mod parties;

use crate::finality::Scheme;
use crate::rules::block_batch;
use crate::store::{Finality, Store, StoreError};
use commonware_codec::Encode as _;
use commonware_consensus::simplex::types::{Finalization, Finalize, Proposal};
use commonware_consensus::types::{Epoch, Round, View};
use commonware_cryptography::sha256::Digest;
use commonware_utils::{ordered::Set, TryCollect};
use zkcustoms_ledger_types::block::Block;
use zkcustoms_ledger_types::crypto::{self, PrivateKey};
use zkcustoms_ledger_types::genesis::{
    Genesis, GenesisFile, Params, PinnedKey, SignerEntry, ValidatorEntry, GENESIS_FORMAT,
};
use zkcustoms_ledger_types::tx::{Hash, Transaction};

/// A finalization certificate of `block_hash` in consensus view `view`, signed by `signers` (keys
/// of genesis validators; a quorum of them for the certificate to verify). Errors when a signer
/// is not a genesis validator or the votes do not assemble.
pub fn certify(
    genesis: &Genesis,
    signers: &[PrivateKey],
    view: u64,
    block_hash: &Hash,
) -> Result<Vec<u8>, String> {
    let validators: Set<_> = genesis
        .validators
        .iter()
        .cloned()
        .try_collect()
        .map_err(|_| "validator keys are not unique".to_string())?;
    let proposal = Proposal::new(
        Round::new(Epoch::zero(), View::new(view)),
        View::new(view.saturating_sub(1)),
        Digest(*block_hash),
    );
    let mut votes = Vec::new();
    for key in signers {
        let scheme = Scheme::signer(
            &crate::finality::consensus_namespace(&genesis.chain_id),
            validators.clone(),
            key.clone(),
        )
        .ok_or_else(|| {
            format!(
                "{} is not a genesis validator",
                crypto::public_hex(&crypto::public_of(key))
            )
        })?;
        votes.push(
            Finalize::<Scheme, Digest>::sign(&scheme, proposal.clone())
                .ok_or("the validator cannot sign")?,
        );
    }
    let verifier = Scheme::verifier(
        &crate::finality::consensus_namespace(&genesis.chain_id),
        validators,
    );
    let finalization =
        Finalization::from_finalizes(&verifier, votes.iter(), &commonware_parallel::Sequential)
            .ok_or("the votes do not assemble into a certificate (too few signers?)")?;
    Ok(finalization.encode().to_vec())
}

/// Builds a block of `txs` on the store's finalized tip (proposed by the first signer), certifies
/// it in view = its height, and writes it with every index it changes, as a node finalizing it
/// would. No ledger rule is checked. Answers the block.
pub fn append_block(
    store: &Store,
    genesis: &Genesis,
    signers: &[PrivateKey],
    timestamp_ms: u64,
    txs: Vec<Transaction>,
) -> Result<Block, StoreError> {
    store.bind_chain(&genesis.chain_id)?;
    let (height, parent) = store.tip()?.unwrap_or((0, genesis.chain_id));
    let proposer = signers
        .first()
        .map(|k| crypto::public_bytes(&crypto::public_of(k)))
        .unwrap_or_default();
    let block = Block::new(height + 1, parent, timestamp_ms, proposer, txs);
    let view = height + 1;
    let certificate =
        certify(genesis, signers, view, &block.hash()).map_err(StoreError::Mismatch)?;
    store.write(
        block_batch(store, &block, Finality::Certificate { view, certificate })?,
        false,
    )?;
    Ok(block)
}

/// A private key from a fixed seed: the same key in every run (for fixtures whose chain id must
/// not change).
pub fn fixed_key(seed: u64) -> PrivateKey {
    <PrivateKey as commonware_cryptography::Signer>::from_seed(seed)
}

/// A genesis with one validator (name and key, on a loopback address), the given authorities and
/// customs offices (id and signing key; an office's administration is its id up to the first
/// `-`), the pinned verifying keys and `params`: the development
/// ledger that in-process tests run a `Chain` over.
pub fn single_validator_genesis(
    chain_name: &str,
    (validator_name, validator): (&str, &PrivateKey),
    authorities: &[(&str, &PrivateKey)],
    offices: &[(&str, &PrivateKey)],
    verifying_keys: Vec<PinnedKey>,
    params: Params,
) -> Genesis {
    // An office's administration is the part of its id before the first '-'.
    let signers = |list: &[(&str, &PrivateKey)], offices: bool| -> Vec<SignerEntry> {
        list.iter()
            .map(|(id, key)| SignerEntry {
                id: (*id).into(),
                public_key: crypto::public_hex(&crypto::public_of(key)),
                administration: offices.then(|| id.split('-').next().unwrap_or(id).to_owned()),
            })
            .collect()
    };
    let file = GenesisFile {
        format: GENESIS_FORMAT.into(),
        chain_name: chain_name.into(),
        validators: vec![ValidatorEntry {
            name: validator_name.into(),
            public_key: crypto::public_hex(&crypto::public_of(validator)),
            p2p_address: "127.0.0.1:19000".parse().expect("a socket address"),
        }],
        authorities: signers(authorities, false),
        customs_offices: signers(offices, true),
        auditors: vec![],
        verifying_keys,
        params,
        development: true,
    };
    Genesis::from_bytes(&serde_json::to_vec(&file).expect("genesis serializes"))
        .expect("a valid genesis")
}
