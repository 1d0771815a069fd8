//! Command-line interface: argument parsing, file I/O and exit codes.
//!
//! Exit codes: 0 success; 1 a proof that does not verify (for `verify` and `export`); 2 bad input
//! (malformed files, unknown statements, wrong keys, unsatisfied witnesses).

use crate::audit_cli;
use crate::ceremony_cli;
use crate::document_cli;
use crate::ledger_cli;
use crate::party_cli;
use crate::prover_cli;
use crate::query_cli;
use anyhow::{anyhow, Context, Result};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zkcustoms_circuits::aeo_status::holder_commitment;
use zkcustoms_circuits::date::Day;
use zkcustoms_circuits::field::fr_to_hex;
use zkcustoms_circuits::registry::{self, RegistryInput};
use zkcustoms_circuits::{serde_fr, CircuitId, Fr};
use zkcustoms_prover::setup::{setup_dev, SetupEvent};
use zkcustoms_prover::{ProverError, ProvingKey, Witness};
use zkcustoms_verifier::batch::Backend;
use zkcustoms_verifier::{snarkjs, KeyDir, ProofEnvelope, VerifyError};

/// zkcustoms: zero-knowledge proofs for Customs over BLS12-381 (Groth16).
#[derive(Parser)]
#[command(name = "zkcustoms", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make proving and verifying keys for every statement and size class.
    Setup {
        /// Make deterministic development keys.
        #[arg(long, conflicts_with = "ceremony")]
        dev: bool,
        /// Install the keys of a finalized trusted-setup ceremony from its directory instead.
        #[arg(long)]
        ceremony: Option<PathBuf>,
        /// Directory to write the keys and their manifest to.
        #[arg(long)]
        out: PathBuf,
        /// Only these circuits (`aeo-status/v1`, `invoice-value/v1:4`, `invoice-value/v1:16`,
        /// `declaration-match/v1:4`, `declaration-match/v1:16`).
        #[arg(long = "circuit")]
        circuits: Vec<String>,
    },
    /// The trusted-setup ceremony for production keys (docs/ceremony.md); exit 1 when
    /// verification refuses a transcript file.
    Ceremony {
        #[command(subcommand)]
        command: ceremony_cli::CeremonyCommand,
    },
    /// Print a complete example witness that `prove` accepts as is (or the example certificate
    /// list that `registry build` accepts, or the example invoice).
    Example {
        /// `aeo-status/v1`, `invoice-value/v1`, `declaration-match/v1` (or `aeo-status`,
        /// `invoice-value`, `declaration-match`), `certificates` or `invoice`.
        statement: String,
        /// The day the example is stated on (`YYYY-MM-DD`, UTC): the certificates' validity and
        /// the aeo-status witness's `as_of` are relative to it. Default: today.
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
    },
    /// Commercial invoices (run by the trader).
    Invoice {
        #[command(subcommand)]
        command: InvoiceCommand,
    },
    /// AEO registries (run by the issuing authority).
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Certificate holders' secrets (run by the trader).
    Holder {
        #[command(subcommand)]
        command: HolderCommand,
    },
    /// Prove a statement from a witness file and write the proof envelope.
    Prove {
        /// Statement id: `aeo-status/v1`, `invoice-value/v1` or `declaration-match/v1` (or the
        /// short name without `/v1`).
        statement: String,
        /// Key directory (from `setup`).
        #[arg(long)]
        keys: PathBuf,
        /// Witness file (JSON; see `example`).
        #[arg(long)]
        witness: PathBuf,
        /// Where to write the envelope (standard output when absent).
        #[arg(long)]
        out: Option<PathBuf>,
        /// For an aeo-status proof to file on a ledger: the consignment it is filed under. The
        /// witness's scope is replaced by the ledger's scope for this UCR (the only scope the
        /// ledger accepts there); needs `--genesis`.
        #[arg(long, requires = "genesis", value_name = "UCR")]
        for_ucr: Option<String>,
        /// The ledger's genesis file (its hash is the chain id the scope is bound to).
        #[arg(long, requires = "for_ucr")]
        genesis: Option<PathBuf>,
    },
    /// Verify proof envelopes: exit 0 when all verify, 1 when one does not, 2 on bad input.
    Verify {
        /// Key directory (from `setup`).
        #[arg(long)]
        keys: PathBuf,
        /// Pairing implementation: `blst` (fast) or `arkworks` (the reference).
        #[arg(long, default_value = "blst")]
        backend: String,
        /// Envelope files, verified together in batches (one per verifying key).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Export a proof to another tool's format, after verifying it.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Write a ledger genesis: validators, AEO authorities, customs offices, pinned verifying keys.
    Genesis(ledger_cli::GenesisArgs),
    /// Run a ledger node (RocksDB, Simplex consensus, HTTP API) until SIGINT or SIGTERM.
    Node(ledger_cli::NodeArgs),
    /// Local validator clusters: `cluster init` writes genesis, keys and one config per node.
    Cluster {
        #[command(subcommand)]
        command: ledger_cli::ClusterCommand,
    },
    /// Submit a transaction to a node and wait for its outcome: exit 0 when included, 1 when a
    /// ledger rule refused it, 2 on bad input or an unreachable node.
    Submit {
        #[command(subcommand)]
        command: ledger_cli::SubmitCommand,
    },
    /// Parties: key files, traders registered by customs offices, delegations between traders.
    /// Exit 1 when a ledger rule refused the transaction, 2 on bad input or an unreachable node.
    Party {
        #[command(subcommand)]
        command: party_cli::PartyCommand,
    },
    /// Read from a node: records of a consignment, a transaction, a block, a registry, the status.
    Query {
        #[command(subcommand)]
        command: query_cli::QueryCommand,
    },
    /// Off-ledger documents on a node: upload (encrypted at rest), read, forget (crypto-shredding);
    /// rotate a stopped node's master key. Exit 1 when the node refuses, 2 on bad input, an
    /// unreachable node or a rotation that could not run.
    Document {
        #[command(subcommand)]
        command: document_cli::DocumentCommand,
    },
    /// Audit a ledger from genesis: hash links, transaction roots, finalization certificates,
    /// every ledger rule and signature, every proof (batched). Exit 0 when everything holds, 1 when
    /// a check fails (the first failure is named), 2 when the audit cannot run.
    Audit(audit_cli::AuditArgs),
    /// Check an inclusion proof offline against the genesis file: exit 0 valid, 1 refused, 2 bad
    /// input.
    VerifyInclusion(audit_cli::VerifyInclusionArgs),
    /// Run a service: `serve prover` proves statements over HTTP for the trader's own systems.
    Serve {
        #[command(subcommand)]
        command: prover_cli::ServeCommand,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Write an envelope and its verifying key as snarkjs Groth16 files (`verification_key.json`,
    /// `proof.json`, `public.json`, curve `bls12381`) for `snarkjs groth16 verify`. The envelope
    /// is verified first: exit 1 when it does not verify, 2 on bad input, and nothing is written.
    Snarkjs {
        /// Key directory (from `setup`).
        #[arg(long)]
        keys: PathBuf,
        /// Envelope file.
        file: PathBuf,
        /// Directory to write the three files to (created when missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a stopped node's ledger as JSON lines, one transaction per line in ledger order
    /// (height, index, block, timestamp, hash, transaction), for external tools. Nothing is
    /// checked beyond decoding: run `audit` to rely on it.
    Log(audit_cli::ExportLogArgs),
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Build a registry: its root and each holder's membership witness.
    Build {
        /// JSON file: `{"authority": "...", "certificates": [...]}`.
        #[arg(long)]
        certificates: PathBuf,
        /// Output directory: `root.json` and `members/<operator>.json`.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum InvoiceCommand {
    /// Print the SHA-256 digest of an invoice's canonical encoding (the digest to anchor).
    Digest {
        /// Invoice file (JSON, the `invoice` object of an invoice-value witness).
        #[arg(long)]
        invoice: PathBuf,
        /// Size class (4 or 16); the smallest that fits when absent.
        #[arg(long)]
        size_class: Option<u32>,
        /// Also write the canonical bytes to this new file (readable by its owner only).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum HolderCommand {
    /// Make a new holder secret and print its commitment (give only the commitment away).
    New {
        /// Where to write the secret (created with owner-only permissions; must not exist).
        #[arg(long)]
        out: PathBuf,
    },
}

/// An error with its exit code.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 2,
            error: e.into(),
        }
    }
}

fn refusal(r: ledger_cli::Refusal) -> Failure {
    Failure {
        code: r.0,
        error: r.1,
    }
}

/// Runs the command line and returns the process exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

/// The day an example is stated on: `--as-of` when given, else today (UTC).
fn example_day(as_of: Option<&str>) -> Result<Day> {
    match as_of {
        Some(s) => Day::parse(s).context("--as-of"),
        None => {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("the system clock is before 1970")?
                .as_secs();
            let days = u32::try_from(secs / 86_400).context("the system clock is past 9999")?;
            Ok(Day::from_days(days)?)
        }
    }
}

fn dispatch(command: Command) -> Result<(), Failure> {
    match command {
        Command::Setup {
            dev,
            ceremony,
            out,
            circuits,
        } => setup(dev, ceremony.as_deref(), &out, &circuits),
        Command::Ceremony { command } => {
            ceremony_cli::run(command).map_err(|(code, error)| Failure { code, error })
        }
        Command::Example { statement, as_of } if statement == "certificates" => {
            let reg = registry::example_registry_on(example_day(as_of.as_deref())?)
                .context("--as-of: the example's certificates would fall outside the calendar")?;
            let input = RegistryInput {
                authority: reg.authority,
                certificates: reg.members.into_iter().map(|m| m.certificate).collect(),
            };
            println!("{}", serde_json::to_string_pretty(&input)?);
            Ok(())
        }
        Command::Example { statement, .. } if statement == "invoice" => {
            let invoice = zkcustoms_circuits::invoice::example_invoice();
            println!("{}", serde_json::to_string_pretty(&invoice)?);
            Ok(())
        }
        Command::Example { statement, as_of } => {
            let day = example_day(as_of.as_deref())?;
            let w = zkcustoms_prover::witness::example_on(&statement_id(&statement)?, day)?;
            println!("{}", serde_json::to_string_pretty(&w)?);
            Ok(())
        }
        Command::Invoice {
            command:
                InvoiceCommand::Digest {
                    invoice,
                    size_class,
                    out,
                },
        } => invoice_digest(&invoice, size_class, out.as_deref()),
        Command::Registry {
            command: RegistryCommand::Build { certificates, out },
        } => registry_build(&certificates, &out),
        Command::Holder {
            command: HolderCommand::New { out },
        } => holder_new(&out),
        Command::Prove {
            statement,
            keys,
            witness,
            out,
            for_ucr,
            genesis,
        } => {
            let statement = statement_id(&statement)?;
            let mut text = read_text(&witness)?;
            let filing = for_ucr.is_some();
            if let (Some(ucr), Some(genesis)) = (for_ucr, genesis) {
                text = ledger_cli::with_ledger_scope(&statement, &text, &ucr, &genesis)?;
            }
            prove(&statement, &keys, &text, out.as_deref(), filing)
        }
        Command::Verify {
            keys,
            backend,
            files,
        } => verify(&keys, &backend, &files),
        Command::Export {
            command: ExportCommand::Snarkjs { keys, file, out },
        } => export_snarkjs(&keys, &file, &out),
        Command::Export {
            command: ExportCommand::Log(args),
        } => audit_cli::export_log(args).map_err(refusal),
        Command::Audit(args) => audit_cli::audit(args).map_err(refusal),
        Command::VerifyInclusion(args) => audit_cli::verify_inclusion(args).map_err(refusal),
        Command::Genesis(args) => Ok(ledger_cli::genesis(args)?),
        Command::Node(args) => Ok(ledger_cli::run_node(args)?),
        Command::Cluster { command } => Ok(ledger_cli::cluster(command)?),
        Command::Submit { command } => ledger_cli::submit(command).map_err(refusal),
        Command::Query { command } => query_cli::query(command).map_err(refusal),
        Command::Party { command } => party_cli::run(command).map_err(refusal),
        Command::Document { command } => document_cli::run(command).map_err(refusal),
        Command::Serve { command } => Ok(prover_cli::run(command)?),
    }
}

fn statement_id(s: &str) -> Result<String> {
    let id = match s {
        "aeo-status" => zkcustoms_circuits::aeo_status::ID,
        "invoice-value" => zkcustoms_circuits::invoice_value::ID,
        "declaration-match" => zkcustoms_circuits::declaration_match::ID,
        other => other,
    };
    if !zkcustoms_prover::STATEMENTS.contains(&id) {
        return Err(anyhow!(
            "unknown statement {s:?}: expected one of {}",
            zkcustoms_prover::STATEMENTS.join(", ")
        ));
    }
    Ok(id.to_string())
}

fn parse_circuit(s: &str) -> Result<CircuitId> {
    let (statement, class) = match s.split_once(':') {
        Some((st, c)) => (st, Some(c)),
        None => (s, None),
    };
    let class = class
        .map(|c| {
            c.parse::<u32>()
                .map_err(|_| anyhow!("size class {c:?} is not a number"))
                .and_then(|n| {
                    zkcustoms_circuits::invoice::SizeClass::try_from(n).map_err(|e| anyhow!(e))
                })
        })
        .transpose()?;
    CircuitId::from_parts(&statement_id(statement)?, class).map_err(|e| anyhow!(e))
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn setup(
    dev: bool,
    ceremony: Option<&Path>,
    out: &Path,
    circuits: &[String],
) -> Result<(), Failure> {
    if !dev && ceremony.is_none() {
        return Err(anyhow!(
            "only development keys can be made here (--dev); production keys come from a \
             multi-party ceremony (`zkcustoms ceremony`, then `setup --ceremony DIR`)"
        )
        .into());
    }
    let circuits: Vec<CircuitId> = if circuits.is_empty() {
        CircuitId::ALL.to_vec()
    } else {
        circuits
            .iter()
            .map(|c| parse_circuit(c))
            .collect::<Result<_>>()?
    };
    if let Some(dir) = ceremony {
        return ceremony_cli::setup_from_ceremony(dir, out, &circuits)
            .map_err(|(code, error)| Failure { code, error });
    }
    let banner = "!! DEVELOPMENT KEYS: made from a public seed, anyone can forge proofs under them. !!\n\
                  !! Never use them in production; production keys come from a multi-party ceremony. !!";
    eprintln!("{banner}");
    setup_dev(out, &circuits, |event| match event {
        SetupEvent::Started {
            index,
            total,
            circuit,
            constraints,
        } => {
            eprint!("[{index}/{total}] {circuit}: {constraints} constraints, generating keys... ");
            let _ = std::io::stderr().flush();
        }
        SetupEvent::Finished {
            vk_id,
            pk_bytes,
            elapsed,
            ..
        } => eprintln!(
            "done in {:.1} s (proving key {:.1} MB, verifying key id {vk_id})",
            elapsed.as_secs_f64(),
            pk_bytes as f64 / 1e6
        ),
        _ => {}
    })?;
    eprintln!("{banner}");
    println!("keys written to {}", out.display());
    Ok(())
}

fn registry_build(certificates: &Path, out: &Path) -> Result<(), Failure> {
    let input: RegistryInput = serde_json::from_str(&read_text(certificates)?)
        .with_context(|| format!("{} is not a valid certificate list", certificates.display()))?;
    let reg = registry::build(&input)?;
    // One membership file per operator: ids that map to the same file name (on a file system
    // that ignores case too) are refused before anything is written, so that no holder is handed
    // another operator's certificate and path.
    let mut files: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for m in &reg.members {
        let id = m.certificate.operator_id.as_str();
        if let Some(other) = files.insert(sanitize(id).to_ascii_lowercase(), id) {
            return Err(anyhow!(
                "operators {other:?} and {id:?} would share the membership file {}.json: \
                 give them ids that differ in letters or digits",
                sanitize(id)
            )
            .into());
        }
    }
    let root = serde_json::json!({
        "authority": reg.authority,
        "registry_root": fr_to_hex(&reg.root),
        "certificates": reg.members.len(),
    });
    // Built whole beside `out` and then put in its place: a crash never pairs one build's root
    // with another's witnesses, and a rebuild leaves no witness of an operator no longer listed.
    crate::files::replace_dir(out, &["root.json", "members"], |staging| {
        // The root is published; each operator's certificate and path is its witness, for it
        // alone (the registry is not disclosed), so the members are readable by the owner only.
        let members = staging.join("members");
        let mut dir = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(&members)?;
        crate::files::write_synced(
            &staging.join("root.json"),
            serde_json::to_string_pretty(&root)?.as_bytes(),
            0o644,
        )?;
        for m in &reg.members {
            let name = sanitize(&m.certificate.operator_id);
            crate::files::write_synced(
                &members.join(format!("{name}.json")),
                serde_json::to_string_pretty(m)?.as_bytes(),
                0o600,
            )?;
        }
        crate::files::sync_dir(&members)?;
        Ok(())
    })
    .with_context(|| format!("cannot write the registry to {}", out.display()))?;
    let members = out.join("members");
    println!(
        "registry of {} with {} certificates: root {}",
        reg.authority,
        reg.members.len(),
        fr_to_hex(&reg.root)
    );
    println!("membership witnesses in {}", members.display());
    Ok(())
}

fn invoice_digest(path: &Path, size_class: Option<u32>, out: Option<&Path>) -> Result<(), Failure> {
    use zkcustoms_circuits::invoice::{sha256, Invoice, SizeClass};
    let invoice: Invoice = serde_json::from_str(&read_text(path)?)
        .with_context(|| format!("{} is not a valid invoice", path.display()))?;
    let bytes = match size_class {
        Some(n) => invoice.encode_in(SizeClass::try_from(n).map_err(|e| anyhow!(e))?)?,
        None => invoice.encode()?,
    };
    // The invoice's bytes are the trader's: a new file, readable by its owner only.
    if let Some(out) = out {
        zkcustoms_ledger_types::crypto::write_secret(out, &bytes)
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    println!("{}", hex::encode(sha256(&bytes)));
    Ok(())
}

/// A file name from an operator id: letters, digits, `-` and `_` kept, the rest replaced.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(serde::Serialize)]
struct HolderSecretFile {
    #[serde(with = "serde_fr")]
    holder_secret: Fr,
    #[serde(with = "serde_fr")]
    holder_commitment: Fr,
}

fn holder_new(out: &Path) -> Result<(), Failure> {
    use ark_ff::UniformRand;
    let secret = Fr::rand(&mut rand::rngs::OsRng);
    let file = HolderSecretFile {
        holder_secret: secret,
        holder_commitment: holder_commitment(&secret),
    };
    // Whole and synced before the commitment is shown: the authority certifies the commitment,
    // and the secret behind it must not be lost to a crash.
    let text = serde_json::to_string_pretty(&file)?;
    zkcustoms_ledger_types::crypto::write_secret(out, text.as_bytes())
        .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
    println!(
        "holder secret written to {} (keep it private)",
        out.display()
    );
    println!(
        "holder commitment (give this to your AEO authority): {}",
        fr_to_hex(&file.holder_commitment)
    );
    Ok(())
}

/// Proves `witness`; `filing` when its scope was set from `--for-ucr`, the only way a proof in a
/// ledger's scope is made.
fn prove(
    statement: &str,
    keys: &Path,
    witness: &str,
    out: Option<&Path>,
    filing: bool,
) -> Result<(), Failure> {
    let witness = Witness::from_json(statement, witness)?;
    if !filing {
        ledger_cli::refuse_ledger_scope(&witness)?;
    }
    let statement = witness.statement()?;
    // The native check runs before the proving key is even loaded.
    statement.check()?;
    let dir = KeyDir::open(keys)?;
    let circuit = statement.circuit();
    let pk = ProvingKey::load(&dir, circuit)?;
    let start = std::time::Instant::now();
    let envelope = zkcustoms_prover::prove(&pk, &statement, &mut rand::rngs::OsRng)
        .map_err(|e: ProverError| Failure::from(anyhow!(e)))?;
    let json = envelope.to_json();
    match out {
        Some(path) => {
            std::fs::write(path, &json)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "proved {circuit} in {:.2} s; envelope written to {}",
                start.elapsed().as_secs_f64(),
                path.display()
            );
        }
        None => println!("{json}"),
    }
    Ok(())
}

fn verify(keys: &Path, backend: &str, files: &[PathBuf]) -> Result<(), Failure> {
    let backend = match backend {
        "blst" => Backend::Blst,
        "arkworks" => Backend::Arkworks,
        other => {
            return Err(anyhow!("unknown backend {other:?}: expected blst or arkworks").into())
        }
    };
    let keys = KeyDir::open(keys)?.verifying_keys()?;
    let texts: Vec<Result<String, VerifyError>> = files
        .iter()
        .map(|f| read_text(f).map_err(|e| VerifyError::Malformed(format!("{e:#}"))))
        .collect();
    let readable: Vec<&str> = texts
        .iter()
        .filter_map(|t| t.as_ref().ok().map(String::as_str))
        .collect();
    let mut verdicts = keys.verify_batch_json(&readable, backend).into_iter();
    let mut worst = 0u8;
    let mut failed = 0usize;
    for (file, text) in files.iter().zip(&texts) {
        let result = match text {
            Ok(_) => verdicts.next().expect("one verdict per readable file"),
            Err(e) => Err(e.clone()),
        };
        match result {
            Ok(envelope) => println!(
                "{}: VALID: {}",
                file.display(),
                zkcustoms_verifier::describe(&envelope)
            ),
            Err(e) => {
                let code = if e.is_invalid_proof() { 1 } else { 2 };
                worst = worst.max(code);
                failed += 1;
                let kind = if code == 1 { "INVALID" } else { "MALFORMED" };
                println!("{}: {kind}: {e}", file.display());
            }
        }
    }
    if worst == 0 {
        Ok(())
    } else {
        Err(Failure {
            code: worst,
            error: anyhow!("{failed} of {} envelopes did not verify", files.len()),
        })
    }
}

fn export_snarkjs(keys: &Path, file: &Path, out: &Path) -> Result<(), Failure> {
    let envelope = ProofEnvelope::from_json(&read_text(file)?)
        .with_context(|| format!("{} is not a valid proof envelope", file.display()))?;
    let key = KeyDir::open(keys)?.verifying_key(envelope.circuit)?;
    // A proof that does not verify is never handed on.
    key.verify(&envelope).map_err(|e| Failure {
        code: if e.is_invalid_proof() { 1 } else { 2 },
        error: anyhow!(e).context(format!("{} was not exported", file.display())),
    })?;
    let written = snarkjs::export(&key, &envelope)?.write_to_dir(out)?;
    println!(
        "{}: VALID; exported for snarkjs (groth16, curve {}) to {}:",
        file.display(),
        snarkjs::CURVE,
        out.display()
    );
    for path in &written {
        println!("  {}", path.display());
    }
    Ok(())
}
