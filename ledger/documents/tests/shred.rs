//! Forgetting is crash-safe: a fault injected at every step of a forget, or a SIGKILL there, and
//! then a restart (or a retry) leave neither the document's wrapped key nor its ciphertext in any
//! file of the data directory, and the document answers "forgotten" (the API's 410).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use zkcustoms_documents::testing::{
    anchor, files_containing, office, readers, uploader, uploading_trader,
};
use zkcustoms_documents::{
    DocumentError, DocumentService, DocumentState, LocalMasterKey, MasterKey,
};
use zkcustoms_ledger_core::store::TempStore;
use zkcustoms_ledger_types::tx::{sha256, DocumentKey, Ucr};

/// Every step of a forget where a fault is injected, in order.
const STEPS: [&str; 5] = [
    "forget-before-batch",
    "forget-after-batch",
    "erase-after-flush",
    "erase-after-compaction",
    "forget-after-erase",
];

const CONTENT: &[u8] = b"SHRED-MARKER-4f1b: Static converters, 4 x 1200 EUR";
const KEPT: &[u8] = b"KEPT-MARKER-93aa: another consignment's invoice";

fn id(doc_type: &str) -> DocumentKey {
    DocumentKey {
        ucr: Ucr::parse("26DE-HAM-000042").unwrap(),
        doc_type: doc_type.into(),
        version: 1,
    }
}

/// A document database holding two uploaded documents; answers the on-disk bytes (wrapped key
/// value, ciphertext) of the one to forget.
fn prepare(dir: &Path, master: Arc<dyn MasterKey>) -> (Vec<u8>, Vec<u8>) {
    let ledger = TempStore::new().unwrap();
    anchor(
        &ledger,
        &[(&id("invoice"), CONTENT), (&id("declaration"), KEPT)],
    );
    let docs = DocumentService::open(dir, 1 << 16, master).unwrap();
    docs.upload(
        &ledger,
        &id("invoice"),
        CONTENT,
        &readers("customs:DE"),
        &uploader(),
        1,
    )
    .unwrap();
    docs.upload(&ledger, &id("declaration"), KEPT, &[], &uploader(), 1)
        .unwrap();
    let entries = docs.stored_entries(&id("invoice")).unwrap();
    assert!(!files_containing(dir, &entries.0).is_empty());
    entries
}

/// After a restart: the document is forgotten (410), the erase confirmed, nothing of it in any
/// file, and the other document intact.
fn assert_shredded(dir: &Path, master: Arc<dyn MasterKey>, entries: &(Vec<u8>, Vec<u8>), at: &str) {
    let docs = DocumentService::open(dir, 1 << 16, master).unwrap();
    assert!(
        matches!(
            docs.read(&id("invoice"), &uploading_trader()),
            Err(DocumentError::Forgotten { .. })
        ),
        "{at}"
    );
    assert!(!docs.erase_pending(&id("invoice")).unwrap(), "{at}");
    assert!(
        matches!(
            docs.forget(&id("invoice"), &uploading_trader(), 9),
            Err(DocumentError::Forgotten { .. })
        ),
        "{at}: a confirmed forget answers 410"
    );
    assert_eq!(
        docs.read(&id("declaration"), &uploading_trader()).unwrap(),
        KEPT
    );
    drop(docs);
    for needle in [&entries.0, &entries.1] {
        assert_eq!(
            files_containing(dir, needle),
            Vec::<PathBuf>::new(),
            "{at}: the forgotten key or ciphertext is still on disk"
        );
    }
    for plain in [CONTENT, KEPT] {
        assert_eq!(files_containing(dir, plain), Vec::<PathBuf>::new(), "{at}");
    }
}

#[test]
fn a_fault_at_any_step_of_a_forget_is_completed_by_a_retry_or_a_restart() {
    // Fail points are global to the process: the scenario keeps the tests that use them apart.
    let scenario = fail::FailScenario::setup();
    for step in STEPS {
        for restart in [false, true] {
            let at = format!("{step}, then {}", if restart { "restart" } else { "retry" });
            let dir = tempfile::tempdir().unwrap();
            let master: Arc<dyn MasterKey> = Arc::new(LocalMasterKey::generate());
            let entries = prepare(dir.path(), master.clone());
            let docs = DocumentService::open(dir.path(), 1 << 16, master.clone()).unwrap();
            fail::cfg(step, "return").unwrap();
            let result = docs.forget(&id("invoice"), &office("DE"), 5);
            fail::remove(step);
            assert!(
                matches!(result, Err(DocumentError::Injected(s)) if s == step),
                "{at}: {result:?}"
            );
            let written = step != "forget-before-batch";
            assert_eq!(docs.erase_pending(&id("invoice")).unwrap(), written, "{at}");
            if restart {
                drop(docs);
                let docs = DocumentService::open(dir.path(), 1 << 16, master.clone()).unwrap();
                if !written {
                    // Nothing was written: the document is still there, and can be forgotten.
                    assert_eq!(
                        docs.read(&id("invoice"), &uploading_trader()).unwrap(),
                        CONTENT
                    );
                    docs.forget(&id("invoice"), &office("DE"), 6).unwrap();
                }
            } else {
                // The retry completes the forget and answers its record.
                let meta = docs.forget(&id("invoice"), &uploading_trader(), 6).unwrap();
                assert_eq!(meta.digest, sha256(CONTENT), "{at}");
                // The record names the office whose forget was interrupted once its batch was
                // written; before that, the retry is the forget.
                let (by, at_ms) = if written {
                    ("DE-OFFICE-1".to_owned(), 5)
                } else {
                    (uploader().to_string(), 6)
                };
                assert_eq!(meta.state, DocumentState::Forgotten { by, at_ms }, "{at}");
                drop(docs);
            }
            assert_shredded(dir.path(), master, &entries, &at);
        }
    }
    scenario.teardown();
}

/// The child's part of the test below (run when `SHRED_STEP` is set): forgets the document and
/// SIGKILLs itself at that step.
fn forget_and_die(step: &str) -> ! {
    let dir = PathBuf::from(std::env::var("SHRED_DIR").unwrap());
    let master = LocalMasterKey::from_hex(&std::env::var("SHRED_MASTER").unwrap()).unwrap();
    let docs = DocumentService::open(&dir, 1 << 16, Arc::new(master)).unwrap();
    fail::cfg_callback(step, || {
        let pid = std::process::id().to_string();
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    })
    .unwrap();
    let _ = docs.forget(&id("invoice"), &office("DE"), 5);
    panic!("the forget went past {step} without being killed");
}

#[test]
fn sigkill_at_any_step_of_a_forget_loses_no_erase() {
    use std::os::unix::process::ExitStatusExt;
    // This test runs itself again as a child process, which takes this branch.
    if let Ok(step) = std::env::var("SHRED_STEP") {
        forget_and_die(&step);
    }
    // No fail point of another test may fire in this process while it opens databases.
    let scenario = fail::FailScenario::setup();
    for step in STEPS {
        let dir = tempfile::tempdir().unwrap();
        let hex_key = "5a".repeat(32);
        let master: Arc<dyn MasterKey> = Arc::new(LocalMasterKey::from_hex(&hex_key).unwrap());
        let entries = prepare(dir.path(), master.clone());
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "sigkill_at_any_step_of_a_forget_loses_no_erase"])
            .env("SHRED_DIR", dir.path())
            .env("SHRED_STEP", step)
            .env("SHRED_MASTER", &hex_key)
            .output()
            .unwrap();
        assert_eq!(
            status.status.signal(),
            Some(9),
            "{step}: the child was not killed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let docs = DocumentService::open(dir.path(), 1 << 16, master.clone()).unwrap();
        if step == "forget-before-batch" {
            assert_eq!(
                docs.read(&id("invoice"), &uploading_trader()).unwrap(),
                CONTENT
            );
            docs.forget(&id("invoice"), &office("DE"), 6).unwrap();
        }
        drop(docs);
        assert_shredded(dir.path(), master, &entries, step);
    }
    scenario.teardown();
}
