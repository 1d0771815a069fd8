//! What the node records about a document: its digest, its uploader and access list, and whether
//! (and by whom) it was forgotten.

use zkcustoms_ledger_types::party::{Party, Reader, CUSTOMS_PREFIX};
use zkcustoms_ledger_types::tx::{Eori, Hash};

/// Most readers an access list may name (besides the uploader, who always reads).
pub const MAX_READERS: usize = 64;

/// Where a document stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentState {
    /// Stored, encrypted; readable by its uploader and its access list.
    Stored,
    /// Forgotten: key and ciphertext destroyed.
    Forgotten {
        /// The id of the party that forgot it (an EORI number, an office's id, ...).
        by: String,
        /// When, in milliseconds since the Unix epoch.
        at_ms: u64,
    },
}

/// What the node records about a document (kept after it is forgotten).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentMeta {
    /// The anchored digest.
    pub digest: Hash,
    /// Plaintext size in bytes.
    pub size: u64,
    /// The trader who uploaded it: always a reader.
    pub uploader: Eori,
    /// Who else may read it: administrations and parties, sorted, without repeats, at most
    /// [`MAX_READERS`].
    pub readers: Vec<Reader>,
    /// Upload time, in milliseconds since the Unix epoch.
    pub uploaded_at_ms: u64,
    /// Stored or forgotten.
    pub state: DocumentState,
}

impl DocumentMeta {
    /// True when `party` may read the document: its uploader (the trader with the uploader's
    /// EORI number), or a party that one of its readers admits.
    pub fn may_read(&self, party: &Party) -> bool {
        matches!(party, Party::Trader(eori) if *eori == self.uploader)
            || self.readers.iter().any(|r| r.admits(party))
    }

    /// The JSON form (what the API answers; never the key or the contents).
    pub fn to_json(&self) -> serde_json::Value {
        let readers: Vec<String> = self.readers.iter().map(ToString::to_string).collect();
        let mut v = serde_json::json!({
            "digest": hex::encode(self.digest),
            "size": self.size,
            "uploader": self.uploader.as_str(),
            "readers": readers,
            "uploaded_at_ms": self.uploaded_at_ms,
        });
        match &self.state {
            DocumentState::Stored => v["state"] = "stored".into(),
            DocumentState::Forgotten { by, at_ms } => {
                v["state"] = "forgotten".into();
                v["forgotten_by"] = by.as_str().into();
                v["forgotten_at_ms"] = (*at_ms).into();
            }
        }
        v
    }
}

/// `Ok` when `reader` is what [`Reader::parse`] answers for its text: a valid administration
/// or party id, and no party id that reads as an administration (`customs:...`). Only such
/// readers are stored, so that a stored access list decodes to what was written.
pub(crate) fn check_reader(reader: &Reader) -> Result<(), String> {
    let text = reader.to_string();
    match Reader::parse(&text) {
        Ok(parsed) if parsed == *reader => Ok(()),
        Ok(_) => Err(format!(
            "a party id may not start with {CUSTOMS_PREFIX:?} (that names an administration)"
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// `Ok` when `readers` is sorted, without repeats, and at most [`MAX_READERS`] long.
pub(crate) fn check_reader_list(readers: &[Reader]) -> Result<(), String> {
    if readers.len() > MAX_READERS {
        return Err(format!(
            "{} readers, at most {MAX_READERS} allowed",
            readers.len()
        ));
    }
    if let Some(w) = readers.windows(2).find(|w| w[0] >= w[1]) {
        return Err(format!(
            "readers are not sorted without repeats ({} then {})",
            w[0], w[1]
        ));
    }
    Ok(())
}
