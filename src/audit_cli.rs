//! Audit subcommands: `audit`, `verify-inclusion` and `export log`.
//!
//! Exit codes: 0 everything holds; 1 a check failed (the audit found a failure, an inclusion
//! proof is refused); 2 the command cannot run (bad input, unreadable store, wrong genesis,
//! unreachable node).

use crate::ledger_cli::Refusal;
use anyhow::{anyhow, Context};
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zkcustoms_audit::{self as audit, AuditError, NodeSource, Progress, Report, StoreSource};
use zkcustoms_ledger_core::inclusion::{self, InclusionError};
use zkcustoms_ledger_types::genesis::Genesis;

/// `zkcustoms audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// A stopped node's data directory (or its `ledger` database directory), opened read-only.
    #[arg(long, conflicts_with = "node", required_unless_present = "node")]
    data_dir: Option<PathBuf>,
    /// A node's API address, read with an auditor (or customs) token.
    #[arg(long)]
    node: Option<String>,
    /// API token for `--node` (or `--token-file`).
    #[arg(long, env = "ZKCUSTOMS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the API token for `--node`.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// The ledger's genesis file: the auditor's own copy, the root of trust.
    #[arg(long)]
    genesis: PathBuf,
    /// Key directory with the verifying keys pinned in genesis: needed with `--node`; with
    /// `--data-dir` the keys the node stored are used when absent.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Write the JSON report to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Show no progress on standard error.
    #[arg(long)]
    quiet: bool,
}

/// `zkcustoms verify-inclusion`.
#[derive(Args)]
pub struct VerifyInclusionArgs {
    /// The inclusion proof (JSON, from `zkcustoms query inclusion` or
    /// `GET /v1/transactions/{hash}/inclusion`).
    file: PathBuf,
    /// The ledger's genesis file.
    #[arg(long)]
    genesis: PathBuf,
    /// Key directory: also verify the proof carried by a proof transaction.
    #[arg(long)]
    keys: Option<PathBuf>,
}

/// `zkcustoms export log`.
#[derive(Args)]
pub struct ExportLogArgs {
    /// A stopped node's data directory (or its `ledger` database directory), opened read-only.
    #[arg(long)]
    data_dir: PathBuf,
    /// Output file: one JSON object per transaction, in ledger order.
    #[arg(long)]
    out: PathBuf,
}

fn cannot_run(e: impl Into<anyhow::Error>) -> Refusal {
    Refusal(2, e.into())
}

fn load_genesis(path: &Path) -> Result<Genesis, Refusal> {
    Genesis::load(path).map_err(|e| cannot_run(anyhow!("genesis {}: {e}", path.display())))
}

fn audit_error(e: AuditError) -> Refusal {
    cannot_run(anyhow!(e).context("the audit cannot run"))
}

/// Prints progress at most every two seconds, and at the end.
fn progress_printer(quiet: bool) -> impl FnMut(&Progress) {
    let mut last: Option<Instant> = None;
    move |p: &Progress| {
        if quiet {
            return;
        }
        let done = p.height >= p.tip;
        if !done && last.is_some_and(|t| t.elapsed() < Duration::from_secs(2)) {
            return;
        }
        last = Some(Instant::now());
        let secs = p.elapsed.as_secs_f64().max(1e-9);
        eprintln!(
            "audit: block {}/{} ({:.0}%), {} transactions, {} proofs re-verified ({:.0}/s), {} \
             failure(s)",
            p.height,
            p.tip,
            100.0 * p.height as f64 / p.tip.max(1) as f64,
            p.transactions,
            p.proofs,
            p.proofs as f64 / secs,
            p.failures
        );
    }
}

fn print_summary(r: &Report) {
    println!("audit of {}", r.source);
    println!("chain:        {} ({})", r.chain_name, r.chain_id);
    println!("tip:          height {} ({})", r.height, r.tip);
    let kinds: Vec<String> = r
        .transactions_by_kind
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    println!(
        "read:         {} blocks, {} transactions ({})",
        r.blocks,
        r.transactions,
        if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(", ")
        }
    );
    println!(
        "certificates: {} verified against a quorum of the {} genesis validator(s)",
        r.certificates_verified, r.validators
    );
    println!(
        "proofs:       {} re-verified in batches, {} valid, in {:.2} s ({:.0} proofs/s)",
        r.proofs_checked, r.proofs_valid, r.elapsed_seconds, r.proofs_per_second
    );
    println!("checks:       {}", r.checks.join(", "));
    match &r.first_failure {
        None => println!("result:       OK: every check holds"),
        Some(first) => {
            println!(
                "result:       FAILED: {} failure(s); the first:",
                r.failure_count
            );
            println!("  {first}");
            for f in r.failures.iter().skip(1).take(9) {
                println!("  then {f}");
            }
            if r.failure_count > 10 {
                println!(
                    "  … (the report lists up to {})",
                    audit::MAX_LISTED_FAILURES
                );
            }
        }
    }
}

/// Runs `audit`.
pub fn audit(a: AuditArgs) -> Result<(), Refusal> {
    let genesis = load_genesis(&a.genesis)?;
    let progress = progress_printer(a.quiet);
    let report = match (&a.data_dir, &a.node) {
        (Some(dir), _) => {
            let source = StoreSource::open(dir).map_err(audit_error)?;
            let keys = match &a.keys {
                Some(k) => audit::keys_from_dir(k, &genesis),
                None => source.verifying_keys(&genesis),
            }
            .map_err(audit_error)?;
            audit::run(&genesis, &source, &keys, progress).map_err(audit_error)?
        }
        (None, Some(url)) => {
            let token = match (&a.token, &a.token_file) {
                (Some(t), _) => t.clone(),
                (None, Some(f)) => zkcustoms_ledger_types::crypto::read_secret(f)
                    .map_err(|e| cannot_run(anyhow!(e)))?
                    .to_string(),
                (None, None) => {
                    return Err(cannot_run(anyhow!(
                        "--node needs --token, --token-file or ZKCUSTOMS_TOKEN (auditor role)"
                    )))
                }
            };
            let keydir = a.keys.as_deref().ok_or_else(|| {
                cannot_run(anyhow!(
                    "--node needs --keys: the key directory with the verifying keys pinned in \
                     genesis"
                ))
            })?;
            let keys = audit::keys_from_dir(keydir, &genesis).map_err(audit_error)?;
            let source = NodeSource::new(url, token.trim());
            audit::run(&genesis, &source, &keys, progress).map_err(audit_error)?
        }
        (None, None) => return Err(cannot_run(anyhow!("give --data-dir or --node"))),
    };
    print_summary(&report);
    if let Some(path) = &a.report {
        let text = serde_json::to_string_pretty(&report).map_err(cannot_run)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write the report to {}", path.display()))
            .map_err(cannot_run)?;
        eprintln!("report written to {}", path.display());
    }
    match &report.first_failure {
        None => Ok(()),
        Some(first) => Err(Refusal(
            1,
            anyhow!(
                "the audit found {} failure(s); the first: {first}",
                report.failure_count
            ),
        )),
    }
}

/// Runs `verify-inclusion`.
pub fn verify_inclusion(a: VerifyInclusionArgs) -> Result<(), Refusal> {
    let genesis = load_genesis(&a.genesis)?;
    let keys = match &a.keys {
        Some(dir) => Some(audit::keys_from_dir(dir, &genesis).map_err(audit_error)?),
        None => None,
    };
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read {}", a.file.display()))
        .map_err(cannot_run)?;
    let verdict =
        inclusion::parse(&text).and_then(|p| inclusion::verify(&p, &genesis, keys.as_ref()));
    match verdict {
        Ok(ok) => {
            println!(
                "{}: VALID: {} transaction {} is in block {} (index {}, block {}), finalized by \
                 the certificate of block {} (view {}) of chain {} ({})",
                a.file.display(),
                ok.transaction.kind(),
                hex::encode(ok.tx_hash),
                ok.height,
                ok.index,
                hex::encode(ok.block_hash),
                ok.certified_height,
                ok.view,
                genesis.file.chain_name,
                hex::encode(genesis.chain_id)
            );
            if keys.is_some() && matches!(ok.transaction.kind(), "submit_proof") {
                println!("its proof verifies under the pinned key");
            }
            Ok(())
        }
        Err(e @ InclusionError::Refused { .. }) => {
            println!("{}: REFUSED: {e}", a.file.display());
            Err(Refusal(1, anyhow!(e)))
        }
        Err(e) => {
            println!("{}: MALFORMED: {e}", a.file.display());
            Err(cannot_run(e))
        }
    }
}

/// Runs `export log`.
pub fn export_log(a: ExportLogArgs) -> Result<(), Refusal> {
    let source = StoreSource::open(&a.data_dir).map_err(audit_error)?;
    // Written beside the target and renamed over it once complete and synced: an export cut
    // short (a crash, a full disk) never stands at the target, where it would read as the whole
    // log of a shorter ledger, and an earlier export there stays whole until replaced.
    // A target that is not a plain file (`/dev/stdout`, a pipe) is written directly.
    let partial = if std::fs::metadata(&a.out).is_ok_and(|m| !m.is_file()) {
        None
    } else {
        let mut name = a.out.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        Some(a.out.with_file_name(name))
    };
    let written_to = partial.as_deref().unwrap_or(&a.out);
    let file = match &partial {
        Some(partial) => std::fs::File::create(partial),
        None => std::fs::OpenOptions::new().write(true).open(&a.out),
    }
    .with_context(|| format!("cannot open {}", written_to.display()))
    .map_err(cannot_run)?;
    let mut out = std::io::BufWriter::new(file);
    let exported = audit::export_log(&source, &mut out)
        .map_err(|e| anyhow!(e).context("the log was not exported"))
        .and_then(|n| {
            let file = out.into_inner().map_err(|e| anyhow!(e.into_error()))?;
            if let Some(partial) = &partial {
                file.sync_all()?;
                std::fs::rename(partial, &a.out)?;
                zkcustoms_ledger_types::crypto::sync_dir(&a.out)?;
            }
            Ok(n)
        });
    match exported {
        Ok(n) => {
            eprintln!("{n} transactions written to {}", a.out.display());
            Ok(())
        }
        Err(e) => {
            if let Some(partial) = &partial {
                let _ = std::fs::remove_file(partial);
            }
            Err(cannot_run(
                e.context(format!("writing {}", a.out.display())),
            ))
        }
    }
}
