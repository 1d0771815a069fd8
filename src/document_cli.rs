//! `zkcustoms document put|get|forget`: off-ledger documents through a node's API.
//!
//! Exit codes: 0 done; 1 the node refused (not on the access list, unknown anchor or document,
//! already uploaded, forgotten, digest mismatch); 2 bad input or an unreachable node.

use crate::ledger_cli::{ClientArgs, Refusal};
use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use zkcustoms_documents::DEFAULT_MAX_DOCUMENT_BYTES;
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
        /// Write the bytes to this file (standard output when absent).
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
                    std::fs::write(&path, &bytes)
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
        DocumentCommand::Forget { client, id } => {
            let key = id.key()?;
            let v = client.client()?.forget_document(&key).map_err(refusal)?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
    }
}
