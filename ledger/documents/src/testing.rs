//! Helpers for the tests (feature `test-utils`): anchors in a ledger store, a scan of files for
//! bytes, and the parties the tests upload and read as.

use std::path::{Path, PathBuf};
use zkcustoms_ledger_core::store::{Batch, DocumentEntry, Documents, Store, TxLocation};
use zkcustoms_ledger_types::party::{parse_readers, Party, Reader};
use zkcustoms_ledger_types::tx::{sha256, DocumentKey, Eori};

/// Anchors each document's digest in `ledger` (its `documents` index, at the height of the
/// document's version), as a finalized anchor transaction would: what an upload checks.
pub fn anchor(ledger: &Store, docs: &[(&DocumentKey, &[u8])]) {
    let mut b = Batch::new();
    for (id, content) in docs {
        b.put::<Documents>(
            id,
            &DocumentEntry {
                digest: sha256(content),
                reference: "vault://x".into(),
                location: TxLocation {
                    height: u64::from(id.version),
                    index: 0,
                },
            },
        );
    }
    ledger.write(b, true).expect("the ledger's store writes");
}

/// Every file under `dir` (recursively) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("a readable directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .expect("a readable file")
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(path);
            }
        }
    }
    found
}

/// The trader who uploads in the tests.
pub const UPLOADER: &str = "DE123456789012345";

/// [`UPLOADER`]'s EORI number.
pub fn uploader() -> Eori {
    Eori::parse(UPLOADER).expect("a valid EORI number")
}

/// [`UPLOADER`] as an authenticated party.
pub fn uploading_trader() -> Party {
    Party::Trader(uploader())
}

/// A customs office of `administration` (its id: `ADMINISTRATION-OFFICE-1`).
pub fn office(administration: &str) -> Party {
    Party::Office {
        id: format!("{administration}-OFFICE-1"),
        administration: administration.to_owned(),
    }
}

/// An access list, as the API parses it (`customs:DE,AUDIT-EU-1`).
pub fn readers(list: &str) -> Vec<Reader> {
    parse_readers(list).expect("a valid access list")
}
