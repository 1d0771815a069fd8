//! Rotating the master key: every document key re-wrapped under a new master key, and the values
//! wrapped under the old one erased from the database's files.

use crate::keys::key_wrap_data;
use crate::{
    corrupted, display_id, DocumentError, DocumentKeys, DocumentMaster, DocumentService, MasterKey,
    StoredKey,
};
use rocksdb::{IteratorMode, WriteBatch};
use std::sync::Arc;
use zkcustoms_ledger_core::store::Schema;

impl DocumentService {
    /// Re-wraps every stored document key under `new` and answers how many keys it re-wrapped;
    /// from then on the database opens under `new` only. Each key is unwrapped (authenticated)
    /// under the current master key first: a key that does not unwrap stops the rotation before
    /// anything is written, and names its document.
    ///
    /// Crash-safe in the way opening a database written by older versions is: one synced batch
    /// writes every re-wrapped key and removes the recorded master key id; then the key column
    /// family's files are rewritten so that no file holds a key wrapped under the old master key
    /// any more (the reason to rotate is often that the old key may be exposed); only then is
    /// `new` recorded. If anything stops it after the batch, the next [`DocumentService::open`]
    /// under `new` finds no recorded master key, checks every key against `new`, and runs the same
    /// erase before recording it; an open under the old key is refused, by the new key's id. A
    /// database without keys is switched in one batch.
    ///
    /// The batch holds every key (about 130 bytes each): a million documents make a batch of
    /// about 130 MB. Backups taken before the rotation still need the old master key.
    pub fn rotate_master_key(&mut self, new: Arc<dyn MasterKey>) -> Result<usize, DocumentError> {
        if new.id() == self.master.id() {
            return Err(DocumentError::MasterKey(format!(
                "the new master key is the current one ({})",
                hex::encode(new.id())
            )));
        }
        // `&mut self`: nothing else reads or writes through this service while it runs.
        let mut batch = WriteBatch::default();
        let mut rewrapped = 0usize;
        for item in self
            .db
            .iterator_cf(self.cf(DocumentKeys::CF), IteratorMode::Start)
        {
            let (k, v) = item?;
            let id = DocumentKeys::decode_key(&k).map_err(|e| corrupted(DocumentKeys::CF, e))?;
            let stored =
                DocumentKeys::decode_value(&v).map_err(|e| corrupted(DocumentKeys::CF, e))?;
            let key = self.unwrap(&id, stored).map_err(|e| match e {
                DocumentError::MasterKey(why) => DocumentError::MasterKey(format!(
                    "the key of {} does not unwrap, nothing was rotated: {why}",
                    display_id(&id)
                )),
                e => e,
            })?;
            let wrapped = StoredKey::Wrapped {
                master: new.id(),
                wrapped: new.wrap(key.key_bytes(), &key_wrap_data(&id, key.nonce()))?,
                nonce: *key.nonce(),
            };
            self.put::<DocumentKeys>(&mut batch, &id, &wrapped);
            rewrapped += 1;
        }
        if rewrapped == 0 {
            self.put::<DocumentMaster>(&mut batch, &(), &new.id());
        } else {
            self.delete::<DocumentMaster>(&mut batch, &());
        }
        step!("rotate-before-batch");
        self.write_synced(batch)?;
        let old = std::mem::replace(&mut self.master, new);
        step!("rotate-after-batch");
        if rewrapped > 0 {
            self.erase_deleted_in(None, &[DocumentKeys::CF])?;
            step!("rotate-after-erase");
            let mut record = WriteBatch::default();
            self.put::<DocumentMaster>(&mut record, &(), &self.master.id());
            self.write_synced(record)?;
        }
        tracing::info!(
            keys = rewrapped,
            from = %hex::encode(old.id()),
            to = %hex::encode(self.master.id()),
            "document master key rotated"
        );
        Ok(rewrapped)
    }
}
