//! `zkcustoms ceremony`: the trusted-setup ceremony that makes production keys (see
//! `zkcustoms_ceremony` and `docs/ceremony.md`), and `setup --ceremony`, which installs its keys.
//!
//! Exit codes: 0 success; 1 a transcript file or a snarkjs `.ptau` file refused by
//! verification; 2 anything else (bad arguments, a missing step, unreadable files).

use anyhow::anyhow;
use clap::{Args, Subcommand};
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use zkcustoms_ceremony::file::{circuit_name, parse_circuit_name};
use zkcustoms_ceremony::phase1::ptau_steps as ptau;
use zkcustoms_ceremony::phase1::Contributed;
use zkcustoms_ceremony::prepare::{self, Phase1Source};
use zkcustoms_ceremony::{
    finalize, phase1, phase2, Beacon, Ceremony, CeremonyError, Depth, Entropy, Event, Meter,
    StepReport,
};
use zkcustoms_circuits::CircuitId;

/// `zkcustoms ceremony`.
#[derive(Subcommand)]
pub enum CeremonyCommand {
    /// Phase 1: powers of tau, shared by every circuit up to a size.
    Phase1 {
        #[command(subcommand)]
        command: Phase1Command,
    },
    /// Phase 2: one Groth16 key per circuit, built on the prepared phase 1.
    Phase2 {
        #[command(subcommand)]
        command: Phase2Command,
    },
}

/// `zkcustoms ceremony phase1`.
#[derive(Subcommand)]
pub enum Phase1Command {
    /// Start phase 1 (the coordinator): writes `DIR/phase1/0000-new.ph1`.
    New {
        /// Ceremony directory.
        #[arg(long)]
        dir: PathBuf,
        /// log2 of the largest evaluation domain it will serve (aeo-status needs 13; `phase2
        /// new` says what a circuit needs).
        #[arg(long)]
        power: u8,
    },
    /// Start phase 1 from a public snarkjs `.ptau` file for BLS12-381 instead of `new` (the
    /// coordinator): checks every point and the powers' consistency, then writes
    /// `DIR/phase1/0000-import.ph1`. Contributions and the beacon follow as after `new`.
    ImportPtau {
        /// Ceremony directory.
        #[arg(long)]
        dir: PathBuf,
        /// The `.ptau` file (snarkjs's format, curve bls12381, prepared for phase 2 or not).
        file: PathBuf,
        /// Keep the powers for domains up to 2^power only (the file's size when absent).
        #[arg(long)]
        power: Option<u8>,
    },
    /// Verify phase 1 and write its last step as a snarkjs `.ptau` file.
    ExportPtau {
        /// Ceremony directory.
        #[arg(long)]
        dir: PathBuf,
        /// The `.ptau` file to write (never replaced).
        out: PathBuf,
    },
    /// Contribute (each participant in turn): builds on the last file, writes the next one and
    /// its attestation. The secrets never leave memory.
    Contribute(ContributeArgs),
    /// Verify the whole phase-1 transcript; prints every step with its hashes.
    Verify {
        /// Ceremony directory.
        #[arg(long)]
        dir: PathBuf,
        /// For an imported phase 1: the public `.ptau` file, imported again and compared with
        /// the transcript's first step.
        #[arg(long)]
        ptau: Option<PathBuf>,
        /// Check every file in full, not only every step's proofs and links and the last file
        /// (slower; both are sound, this one also names a bad file that a later step covers).
        #[arg(long)]
        every_file: bool,
    },
    /// Close phase 1 with a public random beacon (after the last participant).
    Beacon(BeaconArgs),
    /// Turn the closed phase 1 into the Lagrange form phase 2 needs, for one domain size.
    Prepare {
        /// Ceremony directory.
        #[arg(long)]
        dir: PathBuf,
        /// log2 of the domain (phase 1's size when absent).
        #[arg(long)]
        power: Option<u8>,
    },
}

/// `zkcustoms ceremony phase2`.
#[derive(Subcommand)]
pub enum Phase2Command {
    /// Start phase 2 of circuits from the prepared phase 1.
    New {
        /// Ceremony directory.
        #[arg(long)]
        dir: PathBuf,
        /// Circuits (`aeo-status/v1`, `invoice-value/v1:4`, ...); all when absent.
        #[arg(long = "circuit")]
        circuits: Vec<String>,
    },
    /// Contribute to circuits' phase 2 (each participant in turn), with fresh secrets per
    /// circuit.
    Contribute {
        #[command(flatten)]
        args: ContributeArgs,
        /// Circuits; every circuit with a phase 2 when absent.
        #[arg(long = "circuit")]
        circuits: Vec<String>,
    },
    /// Verify circuits' phase 2 from phase 1 (which is verified first): that each key is the
    /// circuit's, and every contribution.
    Verify {
        /// Ceremony directory.
        #[arg(long)]
        dir: PathBuf,
        /// Circuits; every circuit with a phase 2 when absent.
        #[arg(long = "circuit")]
        circuits: Vec<String>,
        /// Check every file in full, not only every step's proofs and links and the last file
        /// (slower; both are sound, this one also names a bad file that a later step covers).
        #[arg(long)]
        every_file: bool,
    },
    /// Close circuits' phase 2 with a public random beacon.
    Beacon {
        #[command(flatten)]
        args: BeaconArgs,
        /// Circuits; every circuit with a phase 2 when absent.
        #[arg(long = "circuit")]
        circuits: Vec<String>,
    },
    /// Verify everything and write the key directory (`DIR/keys` unless `--out`).
    Finalize {
        /// Ceremony directory.
        #[arg(long)]
        dir: PathBuf,
        /// Key directory to write (must not hold a manifest yet).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Circuits; every circuit with a phase 2 when absent.
        #[arg(long = "circuit")]
        circuits: Vec<String>,
    },
}

/// A participant's contribution.
#[derive(Args)]
pub struct ContributeArgs {
    /// Ceremony directory.
    #[arg(long)]
    dir: PathBuf,
    /// Your name or your administration's, as the transcript will show it.
    #[arg(long)]
    name: String,
    /// Text mixed into the operating system's randomness (optional; it adds, never replaces).
    #[arg(long)]
    entropy: Option<String>,
}

/// A beacon.
#[derive(Args)]
pub struct BeaconArgs {
    /// Ceremony directory.
    #[arg(long)]
    dir: PathBuf,
    /// The beacon's public value in hex, announced in advance (e.g. a future block's hash).
    #[arg(long)]
    value: String,
    /// log2 of the number of SHA-256 iterations applied to it.
    #[arg(long, default_value_t = 24)]
    iterations_log2: u8,
}

/// An exit code and its error.
pub type Failure = (u8, anyhow::Error);

fn fail(e: CeremonyError) -> Failure {
    let code = if matches!(
        e,
        CeremonyError::Refused { .. } | CeremonyError::PtauRefused { .. }
    ) {
        1
    } else {
        2
    };
    (code, anyhow!(e))
}

/// Progress on standard error. On a terminal, a part that counts its work (the contributions,
/// the preparation, phase 2's key) draws a bar, redrawn four times a second by a drawing thread,
/// and leaves one line with its time; elsewhere (a log, a pipe) every part is that one line.
fn progress() -> impl FnMut(Event<'_>) {
    let terminal = std::io::stderr().is_terminal();
    let mut pending = false;
    let mut bar: Option<Bar> = None;
    move |event| match event {
        Event::Started(what, meter) => {
            if pending {
                eprintln!();
            }
            match meter {
                Some(meter) if terminal => {
                    bar = Some(Bar::start(what, Arc::clone(meter)));
                }
                _ => {
                    eprint!("  {what}... ");
                    let _ = std::io::stderr().flush();
                }
            }
            pending = true;
        }
        Event::Finished(what, t) => {
            if let Some(bar) = bar.take() {
                bar.stop();
                eprint!("\r\x1b[2K  {what}... ");
            }
            if pending {
                eprintln!("{:.1} s", t.as_secs_f64());
            } else {
                eprintln!("  {what}: {:.1} s", t.as_secs_f64());
            }
            pending = false;
        }
    }
}

/// A progress bar drawn on standard error by its own thread until stopped.
struct Bar {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Bar {
    fn start(what: &str, meter: Arc<Meter>) -> Bar {
        let (stop, stopped) = mpsc::channel::<()>();
        let what = what.to_string();
        let started = Instant::now();
        let thread = std::thread::spawn(move || loop {
            let line = bar_line(&what, meter.done(), meter.total(), started.elapsed());
            eprint!("\r\x1b[2K{line}");
            let _ = std::io::stderr().flush();
            match stopped.recv_timeout(Duration::from_millis(250)) {
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                _ => break,
            }
        });
        Bar { stop, thread }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// One frame of a progress bar: the part, a bar of 30 cells, the percentage, the units done of
/// the total, the time so far and, once a percent is done, the time left at the rate so far.
pub fn bar_line(what: &str, done: u64, total: u64, elapsed: Duration) -> String {
    const CELLS: u64 = 30;
    let done = done.min(total);
    let fraction = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    let full = (fraction * CELLS as f64) as u64;
    let cells: String = (0..CELLS)
        .map(|i| if i < full { '#' } else { '-' })
        .collect();
    let left = if (0.01..1.0).contains(&fraction) {
        let secs = elapsed.as_secs_f64() * (1.0 - fraction) / fraction;
        format!(", {} left", clock(secs))
    } else {
        String::new()
    };
    format!(
        "  {what} [{cells}] {:>3}% ({done}/{total}) {}{left}",
        (fraction * 100.0) as u64,
        clock(elapsed.as_secs_f64()),
    )
}

/// Seconds as `m:ss` (or `h:mm:ss`).
fn clock(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn circuits(names: &[String], ceremony: &Ceremony, all: bool) -> Result<Vec<CircuitId>, Failure> {
    if names.is_empty() {
        let list = if all {
            CircuitId::ALL.to_vec()
        } else {
            ceremony.phase2_circuits()
        };
        if list.is_empty() {
            return Err((2, anyhow!("no circuit has a phase 2 yet: run `phase2 new`")));
        }
        return Ok(list);
    }
    names
        .iter()
        .map(|n| parse_circuit_name(n).map_err(|e| (2, anyhow!(e))))
        .collect()
}

fn beacon(args: &BeaconArgs) -> Result<Beacon, Failure> {
    let value =
        hex::decode(args.value.trim()).map_err(|_| (2, anyhow!("the beacon value must be hex")))?;
    Beacon::new(value, args.iterations_log2).map_err(fail)
}

fn print_contributed(c: &Contributed) {
    eprintln!("wrote {} and {}", c.file.display(), c.attestation.display());
    println!("{}", c.text);
}

fn depth(every_file: bool) -> Depth {
    if every_file {
        Depth::EveryFile
    } else {
        Depth::Linked
    }
}

/// Who contributed to each stage a finalize or an install verified.
fn print_verified(done: &finalize::Finalized) {
    println!("phase 1 (2^{}): verified", done.phase1.power);
    print_reports(&done.phase1.reports);
    for (c, v) in &done.phase2 {
        println!("phase 2 of {}: verified", circuit_name(*c));
        print_reports(&v.reports);
    }
}

fn print_reports(reports: &[StepReport]) {
    for r in reports {
        let who = if r.participant.is_empty() {
            String::new()
        } else {
            format!(" by {}", r.participant)
        };
        let checked = if r.in_full {
            "checked in full"
        } else {
            "proofs and links checked"
        };
        println!("  {}: {}{who} ({checked})", r.step, r.kind);
        println!("      file {}", r.file.display());
        println!(
            "      contribution hash {}",
            hex::encode(r.contribution_hash)
        );
        println!("      file hash         {}", hex::encode(r.file_hash));
        if let Some(source) = &r.imported {
            println!("      {source}");
        }
    }
}

fn verify_phase1(ceremony: &Ceremony, depth: Depth) -> Result<phase1::Verified, Failure> {
    eprintln!("verifying phase 1 in {}", ceremony.dir().display());
    let v = match depth {
        Depth::Linked => phase1::verify(ceremony, &mut progress()),
        Depth::EveryFile => phase1::verify_every_file(ceremony, &mut progress()),
    }
    .map_err(fail)?;
    println!(
        "phase 1 (2^{}): {} steps, {}",
        v.power,
        v.reports.len(),
        if v.closed {
            "closed by a beacon"
        } else {
            "open (no beacon yet)"
        }
    );
    print_reports(&v.reports);
    Ok(v)
}

/// Runs a `zkcustoms ceremony` command.
pub fn run(command: CeremonyCommand) -> Result<(), Failure> {
    match command {
        CeremonyCommand::Phase1 { command } => run_phase1(command),
        CeremonyCommand::Phase2 { command } => run_phase2(command),
    }
}

fn run_phase1(command: Phase1Command) -> Result<(), Failure> {
    match command {
        Phase1Command::New { dir, power } => {
            let path = phase1::new(&Ceremony::new(dir), power).map_err(fail)?;
            println!("phase 1 of 2^{power} started: {}", path.display());
        }
        Phase1Command::Contribute(a) => {
            eprintln!("contributing to phase 1 as {:?}", a.name);
            let entropy = Entropy::from_os(a.entropy.as_deref().unwrap_or_default());
            let c = phase1::contribute(&Ceremony::new(a.dir), &a.name, entropy, &mut progress())
                .map_err(fail)?;
            print_contributed(&c);
        }
        Phase1Command::ImportPtau { dir, file, power } => {
            eprintln!("importing {}", file.display());
            let done =
                ptau::import(&Ceremony::new(dir), &file, power, &mut progress()).map_err(fail)?;
            println!("phase 1 imported: {}", done.file.display());
            println!("  {}", done.description);
            println!("  file hash {}", hex::encode(done.file_hash));
        }
        Phase1Command::ExportPtau { dir, out } => {
            let done = ptau::export(&Ceremony::new(dir), &out, &mut progress()).map_err(fail)?;
            println!(
                "{} written: {} ({} bytes, 2^{}), listing {} snarkjs contributions",
                done.file.display(),
                done.step,
                done.bytes,
                done.power,
                done.contributions
            );
            if !done.closed {
                println!("  phase 1 is not closed by a beacon yet: do not use this file for keys");
            }
        }
        Phase1Command::Verify {
            dir,
            ptau: source,
            every_file,
        } => {
            let ceremony = Ceremony::new(dir);
            verify_phase1(&ceremony, depth(every_file))?;
            if let Some(file) = source {
                ptau::check_source(&ceremony, &file, &mut progress()).map_err(fail)?;
                println!(
                    "phase 1 step 0 is exactly what importing {} gives",
                    file.display()
                );
            }
        }
        Phase1Command::Beacon(a) => {
            let b = beacon(&a)?;
            let c = phase1::beacon(&Ceremony::new(a.dir), &b, &mut progress()).map_err(fail)?;
            print_contributed(&c);
        }
        Phase1Command::Prepare { dir, power } => {
            let path =
                prepare::prepare(&Ceremony::new(dir), power, &mut progress()).map_err(fail)?;
            println!("prepared: {}", path.display());
        }
    }
    Ok(())
}

fn run_phase2(command: Phase2Command) -> Result<(), Failure> {
    match command {
        Phase2Command::New {
            dir,
            circuits: names,
        } => {
            let ceremony = Ceremony::new(dir);
            let mut source = Phase1Source::new(&ceremony);
            for c in circuits(&names, &ceremony, true)? {
                eprintln!("starting phase 2 of {}", circuit_name(c));
                let path = phase2::new(&mut source, c, &mut progress()).map_err(fail)?;
                println!("phase 2 of {} started: {}", circuit_name(c), path.display());
            }
        }
        Phase2Command::Contribute {
            args,
            circuits: names,
        } => {
            let ceremony = Ceremony::new(&args.dir);
            for c in circuits(&names, &ceremony, false)? {
                eprintln!(
                    "contributing to phase 2 of {} as {:?}",
                    circuit_name(c),
                    args.name
                );
                let entropy = Entropy::from_os(args.entropy.as_deref().unwrap_or_default());
                let done = phase2::contribute(&ceremony, c, &args.name, entropy, &mut progress())
                    .map_err(fail)?;
                print_contributed(&done);
            }
        }
        Phase2Command::Verify {
            dir,
            circuits: names,
            every_file,
        } => {
            let ceremony = Ceremony::new(dir);
            let list = circuits(&names, &ceremony, false)?;
            let p1 = verify_phase1(&ceremony, depth(every_file))?;
            let mut source = Phase1Source::verified(&ceremony, &p1);
            drop(p1);
            for c in list {
                eprintln!("verifying phase 2 of {}", circuit_name(c));
                let v = match depth(every_file) {
                    Depth::Linked => phase2::verify(&mut source, c, &mut progress()),
                    Depth::EveryFile => phase2::verify_every_file(&mut source, c, &mut progress()),
                }
                .map_err(fail)?;
                println!(
                    "phase 2 of {}: {} steps, {}",
                    circuit_name(c),
                    v.reports.len(),
                    if v.closed {
                        "closed by a beacon"
                    } else {
                        "open (no beacon yet)"
                    }
                );
                print_reports(&v.reports);
            }
        }
        Phase2Command::Beacon {
            args,
            circuits: names,
        } => {
            let b = beacon(&args)?;
            let ceremony = Ceremony::new(&args.dir);
            for c in circuits(&names, &ceremony, false)? {
                eprintln!("beacon for phase 2 of {}", circuit_name(c));
                let done = phase2::beacon(&ceremony, c, &b, &mut progress()).map_err(fail)?;
                print_contributed(&done);
            }
        }
        Phase2Command::Finalize {
            dir,
            out,
            circuits: names,
        } => {
            let ceremony = Ceremony::new(dir);
            let list = circuits(&names, &ceremony, false)?;
            let done = finalize::finalize(&ceremony, &list, out.as_deref(), &mut progress())
                .map_err(fail)?;
            print_verified(&done);
            for e in &done.manifest.keys {
                println!(
                    "{}: verifying key {}, proving key {}",
                    e.statement, e.vk_id, e.pk_id
                );
            }
            println!("keys written to {}", done.out.display());
        }
    }
    Ok(())
}

/// `zkcustoms setup --ceremony DIR`: verifies a finalized ceremony's transcript and installs its
/// keys into `out`, or says exactly which steps are missing or which step is refused.
pub fn setup_from_ceremony(dir: &Path, out: &Path, circuits: &[CircuitId]) -> Result<(), Failure> {
    let done =
        finalize::install(&Ceremony::new(dir), circuits, out, &mut progress()).map_err(fail)?;
    print_verified(&done);
    for e in &done.manifest.keys {
        println!("{}: verifying key {}", e.statement, e.vk_id);
    }
    println!("ceremony keys written to {}", out.display());
    Ok(())
}
