//! Parties: whose key signs each transaction, traders' key history (registration, rotation,
//! revocation by an office of the administration that vouches for the trader), consignment
//! ownership and delegation.

use super::{CheckError, Overlay, Rejection, Rules, SignatureBatch, TraderKey, NOT_OWNER};
use crate::store::{trader_keys_prefix, Delegations, Owners, StoreError, TraderKeys};
use crate::verdicts::signature_digest;
use zkcustoms_ledger_types::crypto::PublicKey;
use zkcustoms_ledger_types::genesis::Office;
use zkcustoms_ledger_types::tx::{Delegate, Eori, Hash, Signer, SignerKind, Transaction, Ucr};

impl Rules<'_> {
    /// The current key entry of a trader (`None` when never registered).
    fn trader_key(
        &self,
        trader: &Eori,
        overlay: &Overlay,
    ) -> Result<Option<TraderKey>, StoreError> {
        if let Some(k) = overlay.trader_keys.get(trader) {
            return Ok(Some(k.clone()));
        }
        Ok(self
            .store
            .last_with_prefix::<TraderKeys>(&trader_keys_prefix(trader))?
            .map(|((_, sequence), e)| TraderKey {
                sequence,
                key: e.public_key,
                office: e.office,
            }))
    }

    /// The current public key of a registered, not revoked trader.
    pub fn active_trader_key(
        &self,
        trader: &Eori,
        overlay: &Overlay,
    ) -> Result<Option<PublicKey>, StoreError> {
        Ok(self.trader_key(trader, overlay)?.and_then(|k| k.key))
    }

    fn office(&self, id: &str) -> Result<&Office, Rejection> {
        self.genesis.offices.get(id).ok_or_else(|| {
            Rejection::new(
                "unknown-office",
                format!("customs office {id:?} is not listed in genesis"),
            )
        })
    }

    /// The key a trader signs with now: `unknown-party` when it is not registered here (nor
    /// pending registration), `revoked-key` when its key is revoked.
    pub fn trader_signing_key(
        &self,
        eori: &Eori,
        overlay: &Overlay,
    ) -> Result<PublicKey, CheckError> {
        match self.trader_key(eori, overlay)? {
            None => Err(Rejection::new(
                "unknown-party",
                format!("trader {eori} is not registered on this ledger"),
            )
            .into()),
            Some(TraderKey { key: None, .. }) => {
                Err(Rejection::new("revoked-key", format!("trader {eori}'s key is revoked")).into())
            }
            Some(TraderKey { key: Some(k), .. }) => Ok(k),
        }
    }

    /// The signer's key must have signed the transaction on this ledger. With `batch`, the
    /// signature is queued there instead of checked now (the caller verifies the batch, and
    /// checks one by one again when the batch fails, to name the transaction).
    pub(super) fn check_signer(
        &self,
        tx: &Transaction,
        hash: &Hash,
        overlay: &Overlay,
        batch: Option<&mut SignatureBatch>,
    ) -> Result<(), CheckError> {
        let chain = &self.genesis.chain_id;
        let key = match tx.signer() {
            Signer::Authority(id) => {
                let key = self.genesis.authorities.get(id).ok_or_else(|| {
                    Rejection::new(
                        "unknown-authority",
                        format!("authority {id:?} is not listed in genesis"),
                    )
                })?;
                key.clone()
            }
            Signer::Office(id) => self.office(id)?.key.clone(),
            Signer::Trader(eori) => self.trader_signing_key(eori, overlay)?,
        };
        // A signature of these very bytes verified against this key before holds again.
        let remembered = self
            .signatures
            .map(|verdicts| (verdicts, signature_digest(hash, &key)));
        if let Some((verdicts, digest)) = &remembered {
            if verdicts.contains(digest) {
                return Ok(());
            }
        }
        if let Some(batch) = batch {
            batch.add(tx, chain, &key);
            return Ok(());
        }
        if tx.verify_signature(chain, &key) {
            if let Some((verdicts, digest)) = remembered {
                verdicts.insert(digest);
            }
            return Ok(());
        }
        Err(signature_refused(tx).into())
    }

    /// The owner of a consignment, if it has one: the finalized owner first (a consignment's
    /// first write was finalized before any pending one), else the trader of the first pending
    /// write. The pending layer alone would name whoever wrote first among the pending
    /// transactions (a delegate, say), and validators that have finalized different heights
    /// would then disagree about the same block.
    pub fn owner(&self, ucr: &Ucr, overlay: &Overlay) -> Result<Option<Eori>, StoreError> {
        if let Some(entry) = self.store.get::<Owners>(ucr)? {
            return Ok(Some(entry.owner));
        }
        Ok(overlay.owners.get(ucr).cloned())
    }

    /// Whether `delegate` may act for `owner`.
    pub fn is_delegate(
        &self,
        owner: &Eori,
        delegate: &Eori,
        overlay: &Overlay,
    ) -> Result<bool, StoreError> {
        Ok(self
            .delegation(owner, delegate, overlay)?
            .is_some_and(|(_, active)| active))
    }

    fn delegation(
        &self,
        owner: &Eori,
        delegate: &Eori,
        overlay: &Overlay,
    ) -> Result<Option<(u32, bool)>, StoreError> {
        let key = (owner.clone(), delegate.clone());
        if let Some(d) = overlay.delegations.get(&key) {
            return Ok(Some(*d));
        }
        Ok(self
            .store
            .get::<Delegations>(&key)?
            .map(|e| (e.sequence, e.active)))
    }

    /// Whether `trader` may write under `ucr`: it owns it or is a delegate of its owner (a
    /// consignment without an owner is nobody's yet).
    pub fn may_write(
        &self,
        ucr: &Ucr,
        trader: &Eori,
        overlay: &Overlay,
    ) -> Result<bool, StoreError> {
        match self.owner(ucr, overlay)? {
            None => Ok(false),
            Some(owner) => Ok(&owner == trader || self.is_delegate(&owner, trader, overlay)?),
        }
    }

    /// An anchor or a proof under `ucr` must come from its owner or a delegate; the first one
    /// makes its trader the owner. Answers the refusal of an outsider (`not-owner`), which the
    /// caller gives only once every other rule passes as for an unused UCR.
    pub(super) fn outsider(
        &self,
        ucr: &Ucr,
        trader: &Eori,
        overlay: &Overlay,
    ) -> Result<Option<Rejection>, StoreError> {
        Ok(match self.owner(ucr, overlay)? {
            None => None,
            Some(owner) if &owner == trader => None,
            Some(owner) if self.is_delegate(&owner, trader, overlay)? => None,
            Some(_) => Some(Rejection::new(
                NOT_OWNER,
                format!("{ucr} belongs to another trader, who has not delegated to {trader}"),
            )),
        })
    }

    /// Registration: a new trader. Rotation and revocation: the next sequence, by an office of
    /// the administration that vouched for the trader.
    pub(super) fn check_trader_key_change(
        &self,
        tx: &Transaction,
        overlay: &Overlay,
    ) -> Result<(), CheckError> {
        let (office, trader, sequence, revoke) = match tx {
            Transaction::RegisterTrader(t) => (&t.office, &t.trader, 1, false),
            Transaction::RotateTraderKey(t) => (&t.office, &t.trader, t.sequence, false),
            Transaction::RevokeTrader(t) => (&t.office, &t.trader, t.sequence, true),
            _ => unreachable!("only trader key changes are checked here"),
        };
        let current = self.trader_key(trader, overlay)?;
        let Some(current) = current else {
            if sequence == 1 {
                return Ok(());
            }
            return Err(Rejection::new(
                "unknown-party",
                format!("trader {trader} is not registered on this ledger"),
            )
            .into());
        };
        if sequence == 1 {
            return Err(Rejection::new(
                "already-registered",
                format!(
                    "trader {trader} is already registered: rotate its key instead (sequence {})",
                    current.sequence.saturating_add(1)
                ),
            )
            .into());
        }
        let vouching = &self.office(&current.office)?.administration;
        let acting = &self.office(office)?.administration;
        if vouching != acting {
            return Err(Rejection::new(
                "wrong-administration",
                format!(
                    "trader {trader} is vouched for by administration {vouching}: office \
                     {office} of {acting} may not change its key"
                ),
            )
            .into());
        }
        let next = current.sequence.checked_add(1);
        if Some(sequence) != next {
            return Err(Rejection::new(
                "bad-sequence",
                format!(
                    "trader {trader}'s next key change must have sequence {}, got {sequence}",
                    next.map_or_else(
                        || "none (the sequence is exhausted)".into(),
                        |n| n.to_string()
                    )
                ),
            )
            .into());
        }
        if revoke && current.key.is_none() {
            return Err(Rejection::new(
                "revoked-key",
                format!("trader {trader}'s key is already revoked"),
            )
            .into());
        }
        Ok(())
    }

    /// A delegation names a registered delegate and the pair's next sequence.
    pub(super) fn check_delegation(
        &self,
        t: &Delegate,
        overlay: &Overlay,
    ) -> Result<(), CheckError> {
        if self.trader_key(&t.delegate, overlay)?.is_none() {
            return Err(Rejection::new(
                "unknown-party",
                format!("delegate {} is not registered on this ledger", t.delegate),
            )
            .into());
        }
        let next = self
            .delegation(&t.owner, &t.delegate, overlay)?
            .map_or(Some(1), |(s, _)| s.checked_add(1));
        if Some(t.sequence) != next {
            return Err(Rejection::new(
                "bad-sequence",
                format!(
                    "the next delegation change from {} to {} must have sequence {}, got {}",
                    t.owner,
                    t.delegate,
                    next.map_or_else(
                        || "none (the sequence is exhausted)".into(),
                        |n| n.to_string()
                    ),
                    t.sequence
                ),
            )
            .into());
        }
        Ok(())
    }
}

/// The refusal of `tx` when its signature does not verify under its signer's key.
pub fn signature_refused(tx: &Transaction) -> Rejection {
    signature_refused_by(tx.kind(), tx.signer().kind(), tx.signer().id())
}

/// The refusal of a transaction of `kind` whose signature does not verify under the key of its
/// signer (`signer`, `id`).
pub fn signature_refused_by(kind: &str, signer: SignerKind, id: &str) -> Rejection {
    // A key listed in genesis (an authority's, a customs office's) never changes: a signature
    // that does not verify is wrong for good. A trader's key changes with the ledger's state, so
    // the refusal names that.
    let (code, whose) = match signer {
        SignerKind::Authority | SignerKind::Office => {
            ("bad-signature", "the key listed in genesis")
        }
        SignerKind::Trader => ("wrong-party-key", "the trader's current key"),
    };
    Rejection::new(
        code,
        format!("the {kind} is not {id}'s on this ledger ({whose})"),
    )
}
