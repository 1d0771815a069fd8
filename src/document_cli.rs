//! `zkcustoms document put|get|forget`: off-ledger documents through a node's API;
//! `zkcustoms document rotate-master-key`: the node's master key, offline.
//!
//! Exit codes: 0 done; 1 the node refused (not on the access list, unknown anchor or document,
//! already uploaded, forgotten, digest mismatch); 2 bad input, an unreachable node, or a rotation
//! that could not run.

use crate::ledger_cli::{ClientArgs, Refusal};
use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zkcustoms_documents::{
    check_key_file_outside, DocumentError, DocumentService, LocalMasterKey, MasterKey,
    DEFAULT_MAX_DOCUMENT_BYTES, DOCUMENTS_DIR,
};
use zkcustoms_ledger_client::ClientError;
use zkcustoms_ledger_types::party::parse_readers;
use zkcustoms_ledger_types::tx::DocumentKey;
use zkcustoms_ledger_types::tx::{check_doc_type, Ucr};

/// Which document: consignment, type and version.
#[derive(Args)]
pub struct DocumentId {
    /// Unique consignment reference.
    #[arg(long)]
    ucr: String,
    /// Document type (`invoice`, `declaration`, ...).
    #[arg(long)]
    doc_type: String,
    /// Version.
    #[arg(long, default_value_t = 1)]
    version: u32,
}

impl DocumentId {
    fn key(&self) -> anyhow::Result<DocumentKey> {
        check_doc_type(&self.doc_type)?;
        if self.version == 0 {
            return Err(anyhow!("versions start at 1"));
        }
        Ok(DocumentKey {
            ucr: Ucr::parse(&self.ucr)?,
            doc_type: self.doc_type.clone(),
            version: self.version,
        })
    }
}

/// `zkcustoms document`.
#[derive(Subcommand)]
pub enum DocumentCommand {
    /// Upload an anchored document to the node, which keeps it encrypted under a key of its own
    /// (the consignment's trader, signing with `--party` and `--party-key`). Its SHA-256 must be
    /// the anchored digest.
    Put {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        id: DocumentId,
        /// The document's bytes, or give `--invoice`.
        #[arg(long, conflicts_with = "invoice", required_unless_present = "invoice")]
        file: Option<PathBuf>,
        /// Invoice JSON: its canonical encoding (the bytes whose digest is anchored) is uploaded.
        #[arg(long)]
        invoice: Option<PathBuf>,
        /// Who may read it besides the uploader, comma-separated: `customs:ADMIN` (every office
        /// of an administration, e.g. `customs:DE`) or party ids (an auditor's id, an EORI).
        #[arg(long, default_value = "")]
        readers: String,
    },
    /// Read a document (the uploader and the parties on its access list, signing with `--party`
    /// and `--party-key`).
    Get {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        id: DocumentId,
        /// Write the bytes to this new file, readable by its owner only (standard output when
        /// absent).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Forget a document: the node destroys its key, and it can never be read again; its digest
    /// and every proof about it stay on the ledger (the consignment's trader, signing).
    Forget {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        id: DocumentId,
    },
    /// Rotate the node's document master key, with the node stopped: every document key is
    /// re-wrapped under the new master key, and the values wrapped under the old one are erased
    /// from the database's files. Then point `document_master_key` in node.json at the new key
    /// file (or put it in place of the old one) and start the node. Keep the old key while
    /// backups taken before the rotation are kept: they need it.
    RotateMasterKey {
        /// The stopped node's data directory (its documents are in `DATA_DIR/documents`).
        #[arg(long)]
        data_dir: PathBuf,
        /// The current master key file (64 hex digits, mode 600); without it, the environment
        /// variable ZKCUSTOMS_DOCUMENT_MASTER_KEY, as for the node.
        #[arg(long)]
        master_key: Option<PathBuf>,
        /// The new master key file, outside the data directory.
        #[arg(long)]
        new_master_key: PathBuf,
        /// Create the new master key file (random, owner-only; an existing file is never
        /// overwritten) instead of reading it.
        #[arg(long)]
        generate: bool,
    },
}

/// The current master key: from `path`, else from [`LocalMasterKey::ENV`].
fn current_master_key(path: Option<&Path>, data_dir: &Path) -> anyhow::Result<LocalMasterKey> {
    match path {
        Some(path) => {
            check_key_file_outside(path, data_dir)?;
            Ok(LocalMasterKey::load(path)?)
        }
        None => {
            let hex = std::env::var(LocalMasterKey::ENV).map_err(|_| {
                anyhow!(
                    "give the current master key with --master-key (or {})",
                    LocalMasterKey::ENV
                )
            })?;
            LocalMasterKey::from_hex(&hex).with_context(|| LocalMasterKey::ENV)
        }
    }
}

/// Runs `document rotate-master-key`.
fn rotate_master_key(
    data_dir: &Path,
    master_key: Option<&Path>,
    new_master_key: &Path,
    generate: bool,
) -> anyhow::Result<()> {
    let dir = data_dir.join(DOCUMENTS_DIR);
    if !dir.join("CURRENT").is_file() {
        return Err(anyhow!(
            "{} holds no document database ({DOCUMENTS_DIR}/ of a node's data directory)",
            data_dir.display()
        ));
    }
    let old: Arc<dyn MasterKey> = Arc::new(current_master_key(master_key, data_dir)?);
    check_key_file_outside(new_master_key, data_dir)?;
    // Opening checks the current key against the database before a new key file is made.
    let mut docs = DocumentService::open(&dir, DEFAULT_MAX_DOCUMENT_BYTES, old.clone()).map_err(
        |e| match e {
            DocumentError::Db(db) if db.to_string().to_lowercase().contains("lock") => anyhow!(
                "the document database {} is in use: stop the node first ({db})",
                dir.display()
            ),
            e => e.into(),
        },
    )?;
    let new: Arc<dyn MasterKey> = Arc::new(if generate {
        LocalMasterKey::create(new_master_key)?
    } else {
        LocalMasterKey::load(new_master_key)?
    });
    let rotated = docs.rotate_master_key(new.clone()).with_context(|| {
        format!(
            "the rotation to {} did not complete: if the database now refuses the old master \
             key, it is under the new one, and opening it with the new one (the node's start) \
             completes the rotation",
            new_master_key.display()
        )
    })?;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "rotated_keys": rotated,
            "master_key_id": hex::encode(new.id()),
            "previous_master_key_id": hex::encode(old.id()),
        }))?
    );
    eprintln!(
        "the documents of {} are now under master key {} ({}): point document_master_key in \
         node.json at it before starting the node",
        data_dir.display(),
        hex::encode(new.id()),
        new_master_key.display()
    );
    Ok(())
}

fn refusal(e: ClientError) -> Refusal {
    match &e {
        ClientError::Api {
            status: 403 | 404 | 409 | 410 | 422,
            ..
        } => Refusal(1, e.into()),
        _ => Refusal(2, e.into()),
    }
}

/// Runs `document`.
pub fn run(cmd: DocumentCommand) -> Result<(), Refusal> {
    match cmd {
        DocumentCommand::Put {
            client,
            id,
            file,
            invoice,
            readers,
        } => {
            let key = id.key()?;
            let readers = parse_readers(&readers)?;
            let bytes = match (file, invoice) {
                (Some(path), _) => std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                (None, Some(path)) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let inv: zkcustoms_circuits::invoice::Invoice = serde_json::from_str(&text)
                        .with_context(|| format!("{} is not a valid invoice", path.display()))?;
                    inv.encode()?
                }
                (None, None) => return Err(anyhow!("give --file or --invoice").into()),
            };
            let v = client
                .client()?
                .put_document(&key, &bytes, &readers)
                .map_err(refusal)?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
        DocumentCommand::Get { client, id, out } => {
            let key = id.key()?;
            let bytes = client
                .client()?
                .get_document(&key, DEFAULT_MAX_DOCUMENT_BYTES.max(64 << 20))
                .map_err(refusal)?;
            match out {
                Some(path) => {
                    // A new file, readable by the reader only (the document may be personal
                    // data); an existing file is not replaced.
                    zkcustoms_ledger_types::crypto::write_secret(&path, &bytes)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "{} bytes of {}/{}/v{} written to {}",
                        bytes.len(),
                        key.ucr,
                        key.doc_type,
                        key.version,
                        path.display()
                    );
                }
                None => std::io::stdout().write_all(&bytes)?,
            }
            Ok(())
        }
        DocumentCommand::RotateMasterKey {
            data_dir,
            master_key,
            new_master_key,
            generate,
        } => Ok(rotate_master_key(
            &data_dir,
            master_key.as_deref(),
            &new_master_key,
            generate,
        )?),
        DocumentCommand::Forget { client, id } => {
            let key = id.key()?;
            let v = client.client()?.forget_document(&key).map_err(refusal)?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
    }
}
