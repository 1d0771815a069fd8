//! Registry roots: sequences, the latest root of each authority, and the grace window of a
//! superseded root.

use super::{CheckError, Overlay, Rejection, Rules};
use crate::store::{roots_prefix, RegistryRoots, RootIndex, StoreError};
use zkcustoms_circuits::field::fr_to_be_bytes;
use zkcustoms_circuits::Fr;
use zkcustoms_ledger_types::tx::PublishRoot;

impl Rules<'_> {
    pub(super) fn check_publish_root(
        &self,
        t: &PublishRoot,
        overlay: &Overlay,
    ) -> Result<(), CheckError> {
        let latest = self
            .latest_root(&t.authority, overlay)?
            .map_or(0, |(s, _)| s);
        // A hostile store an auditor replays may hold the last sequence there is.
        let next = latest.checked_add(1);
        if Some(t.sequence) != next {
            return Err(Rejection::new(
                "bad-sequence",
                format!(
                    "{}'s next root must have sequence {}, got {}",
                    t.authority,
                    next.map_or_else(
                        || "none (the sequence is exhausted)".into(),
                        |n| n.to_string()
                    ),
                    t.sequence
                ),
            )
            .into());
        }
        if self
            .root_sequence(&t.authority, &t.root, overlay)?
            .is_some()
        {
            return Err(Rejection::new(
                "duplicate-root",
                "this root was already published by the authority",
            )
            .into());
        }
        Ok(())
    }

    /// The latest root of an authority: its sequence and root.
    pub fn latest_root(
        &self,
        authority: &str,
        overlay: &Overlay,
    ) -> Result<Option<(u64, Fr)>, StoreError> {
        if let Some((seq, (root, _))) = overlay
            .roots
            .get(authority)
            .and_then(|m| m.last_key_value())
        {
            return Ok(Some((*seq, *root)));
        }
        Ok(self
            .store
            .last_with_prefix::<RegistryRoots>(&roots_prefix(authority))?
            .map(|((_, seq), e)| (seq, e.root)))
    }

    fn root_sequence(
        &self,
        authority: &str,
        root: &Fr,
        overlay: &Overlay,
    ) -> Result<Option<u64>, StoreError> {
        if let Some(m) = overlay.roots.get(authority) {
            if let Some((seq, _)) = m.iter().find(|(_, (r, _))| r == root) {
                return Ok(Some(*seq));
            }
        }
        self.store.get::<RootIndex>(&(authority.to_owned(), *root))
    }

    fn root_timestamp(
        &self,
        authority: &str,
        seq: u64,
        overlay: &Overlay,
    ) -> Result<Option<u64>, StoreError> {
        if let Some((_, ts)) = overlay.roots.get(authority).and_then(|m| m.get(&seq)) {
            return Ok(Some(*ts));
        }
        Ok(self
            .store
            .get::<RegistryRoots>(&(authority.to_owned(), seq))?
            .map(|e| e.timestamp_ms))
    }

    /// A root is acceptable when it is the authority's latest, or was superseded less than the
    /// grace window ago.
    pub(super) fn check_root(
        &self,
        authority: &str,
        root: &Fr,
        overlay: &Overlay,
        time_ms: u64,
    ) -> Result<(), CheckError> {
        let short = || hex::encode(&fr_to_be_bytes(root)[..8]);
        let seq = self
            .root_sequence(authority, root, overlay)?
            .ok_or_else(|| {
                Rejection::new(
                    "unknown-root",
                    format!(
                        "registry root {}… was never published by {authority}",
                        short()
                    ),
                )
            })?;
        let latest = self.latest_root(authority, overlay)?.map_or(0, |(s, _)| s);
        if seq == latest {
            return Ok(());
        }
        let superseded_at = self
            .root_timestamp(authority, seq + 1, overlay)?
            .unwrap_or(time_ms);
        let grace_ms = self
            .genesis
            .params()
            .root_grace_seconds
            .saturating_mul(1000);
        if time_ms.saturating_sub(superseded_at) > grace_ms {
            return Err(Rejection::new(
                "stale-root",
                format!(
                    "registry root {}… of {authority} was superseded by sequence {} more than \
                     {} s ago",
                    short(),
                    seq + 1,
                    self.genesis.params().root_grace_seconds
                ),
            )
            .into());
        }
        Ok(())
    }
}
