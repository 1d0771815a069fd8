//! Proof transactions: a pinned key, a claim not yet made for this consignment, and public values
//! bound to the context the proof is filed in: an aeo-status proof's scope is this ledger's scope
//! for the consignment, an invoice proof names the current version of an invoice anchored under
//! it.

use super::{claim_hash, nullifier_key, CheckError, Overlay, Rejection, Rules, DAY_MS};
use crate::store::{Claims, Digests, Nullifiers};
use zkcustoms_circuits::aeo_status::AeoStatusPublic;
use zkcustoms_circuits::declaration_match::DeclarationMatchPublic;
use zkcustoms_circuits::field::fr_to_be_bytes;
use zkcustoms_circuits::invoice_value::InvoiceValuePublic;
use zkcustoms_ledger_types::tx::{ledger_scope, Hash, SubmitProof};
use zkcustoms_verifier::PublicValues;

/// The document type invoice proofs refer to.
pub const INVOICE_DOC_TYPE: &str = "invoice";

impl Rules<'_> {
    /// Checks what an aeo-status proof with public values `p` must be at `time_ms`, whatever
    /// the consignment it is filed under: its authority listed in genesis, its registry root
    /// published and current (or superseded less than the grace period ago), and its day within
    /// the ledger's tolerance of that time. Also what the explorer tells a visitor verifying a
    /// proof outside any transaction.
    pub fn check_aeo_timeliness(
        &self,
        p: &AeoStatusPublic,
        overlay: &Overlay,
        time_ms: u64,
    ) -> Result<(), CheckError> {
        if !self.genesis.authorities.contains_key(&p.authority) {
            return Err(Rejection::new(
                "unknown-authority",
                format!("authority {:?} is not listed in genesis", p.authority),
            )
            .into());
        }
        self.check_root(&p.authority, &p.registry_root, overlay, time_ms)?;
        if let Some(tol) = self.genesis.params().as_of_tolerance_days {
            let day = time_ms / DAY_MS;
            let as_of = u64::from(p.as_of.days());
            if as_of.abs_diff(day) > u64::from(tol) {
                return Err(Rejection::new(
                    "as-of-day",
                    format!(
                        "the proof is for {}, more than {tol} day(s) from the ledger's day",
                        p.as_of
                    ),
                )
                .into());
            }
        }
        Ok(())
    }

    /// The rules of a proof filed under `t.ucr`. For an `outsider` (a trader that may not write
    /// under the consignment) the consignment's state is taken as empty, as for an unused UCR:
    /// the refusal it gets does not tell it whether the UCR is in use.
    pub(super) fn check_proof(
        &self,
        t: &SubmitProof,
        overlay: &Overlay,
        time_ms: u64,
        outsider: bool,
    ) -> Result<(), CheckError> {
        let env = &t.envelope;
        match self.genesis.pinned.get(&env.circuit) {
            Some(id) if *id == env.vk_id => {}
            _ => {
                return Err(Rejection::new(
                    "unpinned-key",
                    format!(
                        "verifying key {} for {} is not pinned in genesis",
                        env.vk_id, env.circuit
                    ),
                )
                .into())
            }
        }
        let claim = claim_hash(&t.ucr, env);
        if !outsider
            && (overlay.claims.contains(&claim) || self.store.contains::<Claims>(&claim)?)
        {
            return Err(Rejection::new(
                "duplicate-proof",
                "a proof of the same statement with the same public values is already accepted \
                 for this consignment (proof bytes do not make a proof new)",
            )
            .into());
        }
        match &env.public {
            PublicValues::AeoStatus(p) => {
                let expected = ledger_scope(&self.genesis.chain_id, &t.ucr);
                if p.scope != expected {
                    return Err(Rejection::new(
                        "wrong-scope",
                        format!(
                            "an aeo-status proof filed under {} on this ledger must have the \
                             scope {expected}",
                            t.ucr
                        ),
                    )
                    .into());
                }
                self.check_aeo_timeliness(p, overlay, time_ms)?;
                let (s, n) = nullifier_key(&p.scope, &p.nullifier);
                // (The scope is the consignment's: its nullifiers are the consignment's state.)
                if !outsider
                    && (overlay.nullifiers.contains(&(s, fr_to_be_bytes(&n)))
                        || self.store.contains::<Nullifiers>(&(s, n))?)
                {
                    return Err(Rejection::new(
                        "nullifier-used",
                        format!(
                            "this certificate was already presented for {} on this ledger",
                            t.ucr
                        ),
                    )
                    .into());
                }
                Ok(())
            }
            PublicValues::InvoiceValue(InvoiceValuePublic { digest, .. })
            | PublicValues::DeclarationMatch(DeclarationMatchPublic { digest, .. }) => {
                self.check_current_invoice(t, digest, overlay, outsider)
            }
            _ => Err(
                Rejection::new("malformed-proof", "statement not accepted by this ledger").into(),
            ),
        }
    }

    /// The digest must be the current version of an invoice anchored under the consignment (for
    /// an outsider, none is).
    fn check_current_invoice(
        &self,
        t: &SubmitProof,
        digest: &Hash,
        overlay: &Overlay,
        outsider: bool,
    ) -> Result<(), CheckError> {
        let statement = t.envelope.circuit.statement();
        let key = (*digest, t.ucr.clone());
        let anchored = match overlay.digests.get(&key) {
            _ if outsider => None,
            Some(v) => Some(v.clone()),
            None => self.store.get::<Digests>(&key)?,
        };
        let Some((doc_type, version)) = anchored else {
            return Err(Rejection::new(
                "unanchored-digest",
                format!(
                    "{statement}: invoice digest {} is not anchored for {}",
                    hex::encode(digest),
                    t.ucr
                ),
            )
            .into());
        };
        if doc_type != INVOICE_DOC_TYPE {
            return Err(Rejection::new(
                "not-an-invoice",
                format!(
                    "{statement}: digest {} is anchored for {} as a {doc_type}, not an invoice",
                    hex::encode(digest),
                    t.ucr
                ),
            )
            .into());
        }
        let latest = self.latest_version(&t.ucr, INVOICE_DOC_TYPE, overlay)?;
        if version != latest {
            return Err(Rejection::new(
                "superseded-digest",
                format!(
                    "{statement}: digest {} is version {version} of {}'s invoice, superseded by \
                     version {latest}",
                    hex::encode(digest),
                    t.ucr
                ),
            )
            .into());
        }
        Ok(())
    }
}
