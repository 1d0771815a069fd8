//! The index writes a finalized block makes.

use super::{claim_hash, nullifier_key};
use crate::store::{
    Batch, BlockHashes, Blocks, Claims, DelegationEntry, Delegations, Digests, DocumentEntry,
    Documents, ExaminationEntry, Examinations, Finality, Meta, NullifierIndex, Nullifiers,
    OwnerEntry, Owners, Records, RegistryRoots, RootEntry, RootIndex, Store, StoreError,
    StoredBlock, TraderKeyEntry, TraderKeys, Transactions, TxLocation, META_TIP,
};
use std::collections::HashSet;
use zkcustoms_ledger_types::block::Block;
use zkcustoms_ledger_types::tx::{DocumentKey, Eori, Transaction, Ucr};
use zkcustoms_verifier::PublicValues;

/// The writes that record a finalized block and every index it changes, with the new tip. The
/// store is read for what the block's writes depend on (whether a consignment has an owner yet);
/// the block's transactions must have passed the rules against it.
pub fn block_batch(store: &Store, block: &Block, finality: Finality) -> Result<Batch, StoreError> {
    chain_batch(store, [(block, finality)])
}

/// The writes that record consecutive finalized blocks (oldest first, the first on the store's
/// tip) and every index they change, in one batch: a crash leaves all of them or none, never an
/// ancestor that names a certified descendant the store does not hold. Each block's writes see
/// the blocks before it (a consignment bound by an earlier block keeps that owner).
pub fn chain_batch<'a>(
    store: &Store,
    blocks: impl IntoIterator<Item = (&'a Block, Finality)>,
) -> Result<Batch, StoreError> {
    let mut b = Batch::new();
    let mut bound = HashSet::new();
    for (block, finality) in blocks {
        add_block(store, &mut b, &mut bound, block, finality)?;
    }
    Ok(b)
}

/// Adds one block's writes to `b`; `bound` holds the consignments that earlier blocks of the same
/// batch gave an owner.
fn add_block(
    store: &Store,
    b: &mut Batch,
    bound: &mut HashSet<Ucr>,
    block: &Block,
    finality: Finality,
) -> Result<(), StoreError> {
    // The first trader write under a consignment makes its trader the owner.
    let bind = |b: &mut Batch,
                bound: &mut HashSet<Ucr>,
                ucr: &Ucr,
                trader: &Eori,
                location: TxLocation|
     -> Result<(), StoreError> {
        if !bound.contains(ucr) && !store.contains::<Owners>(ucr)? {
            bound.insert(ucr.clone());
            let owner = trader.clone();
            b.put::<Owners>(ucr, &OwnerEntry { owner, location });
        }
        Ok(())
    };
    let h = &block.header;
    let hash = block.hash();
    for (i, tx) in block.txs.iter().enumerate() {
        let loc = TxLocation {
            height: h.height,
            index: i as u32,
        };
        b.put::<Transactions>(&tx.hash(), &loc);
        if let Some(ucr) = tx.ucr() {
            b.put::<Records>(&(ucr.clone(), loc), tx);
        }
        match tx {
            Transaction::PublishRoot(t) => {
                b.put::<RegistryRoots>(
                    &(t.authority.clone(), t.sequence),
                    &RootEntry {
                        root: t.root,
                        height: h.height,
                        timestamp_ms: h.timestamp_ms,
                    },
                );
                b.put::<RootIndex>(&(t.authority.clone(), t.root), &t.sequence);
            }
            Transaction::AnchorDocument(t) => {
                b.put::<Documents>(
                    &DocumentKey {
                        ucr: t.ucr.clone(),
                        doc_type: t.doc_type.clone(),
                        version: t.version,
                    },
                    &DocumentEntry {
                        digest: t.digest,
                        reference: t.reference.clone(),
                        location: loc,
                    },
                );
                b.put::<Digests>(&(t.digest, t.ucr.clone()), &(t.doc_type.clone(), t.version));
                bind(b, bound, &t.ucr, &t.trader, loc)?;
            }
            Transaction::SubmitProof(t) => {
                bind(b, bound, &t.ucr, &t.trader, loc)?;
                b.put::<Claims>(&claim_hash(&t.ucr, &t.envelope), &loc);
                if let PublicValues::AeoStatus(p) = &t.envelope.public {
                    let (scope, n) = nullifier_key(&p.scope, &p.nullifier);
                    b.put::<Nullifiers>(&(scope, n), &loc);
                    b.put::<NullifierIndex>(&(n, scope), &loc);
                }
            }
            Transaction::MarkExamination(t) => {
                b.put::<Examinations>(
                    &t.ucr,
                    &ExaminationEntry {
                        office: t.office.clone(),
                        location: loc,
                        timestamp_ms: h.timestamp_ms,
                    },
                );
            }
            Transaction::RegisterTrader(t) => {
                let entry = TraderKeyEntry {
                    public_key: Some(t.public_key.clone()),
                    office: t.office.clone(),
                    location: loc,
                };
                b.put::<TraderKeys>(&(t.trader.clone(), 1), &entry);
            }
            Transaction::RotateTraderKey(t) => {
                let entry = TraderKeyEntry {
                    public_key: Some(t.public_key.clone()),
                    office: t.office.clone(),
                    location: loc,
                };
                b.put::<TraderKeys>(&(t.trader.clone(), t.sequence), &entry);
            }
            Transaction::RevokeTrader(t) => {
                let entry = TraderKeyEntry {
                    public_key: None,
                    office: t.office.clone(),
                    location: loc,
                };
                b.put::<TraderKeys>(&(t.trader.clone(), t.sequence), &entry);
            }
            Transaction::Delegate(t) => {
                let entry = DelegationEntry {
                    sequence: t.sequence,
                    active: t.active,
                    location: loc,
                };
                b.put::<Delegations>(&(t.owner.clone(), t.delegate.clone()), &entry);
            }
        }
    }
    b.put::<Blocks>(
        &h.height,
        &StoredBlock {
            block: block.clone(),
            finality,
        },
    );
    b.put::<BlockHashes>(&hash, &h.height);
    b.put::<Meta>(&META_TIP, &Store::tip_value(h.height, &hash));
    Ok(())
}
