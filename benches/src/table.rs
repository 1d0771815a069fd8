//! One table of every benchmark figure, each beside the anchor it is measured against in the
//! same run and the ratio between them, with the target a figure is held to.
//!
//! `make bench` marks the start of a run ([`start_run`]), runs every criterion benchmark, then
//! renders the table ([`Run::load`], [`render`]) from criterion's estimates
//! (`<target>/criterion/**/new/{benchmark,estimates}.json`, the median of each benchmark) and from
//! the figures the benchmarks record besides times ([`record_figures`]: constraint counts,
//! latency percentiles). Only results written after the run's start are taken: a figure that
//! this run did not measure (a benchmark filtered out, or one that failed) is shown as not
//! measured, never taken from an older run.

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Folder (under the target directory) of the run's start mark and its recorded figures.
const FIGURES_DIR: &str = "bench-figures";
/// The run's start mark, inside [`FIGURES_DIR`].
const STARTED: &str = "run-started";

/// Why a run's results could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// No run was started in this target directory.
    #[error("no benchmark run started in {0}: run `make bench` (it marks the start of a run)")]
    NotStarted(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// A file is not what criterion or [`record_figures`] writes.
    #[error("{path}: {what}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> TableError + '_ {
    move |source| TableError::Io {
        path: path.to_owned(),
        source,
    }
}

fn figures_dir(target: &Path) -> PathBuf {
    target.join(FIGURES_DIR)
}

/// Marks the start of a benchmark run in `target`: figures recorded by earlier runs are removed,
/// and criterion results older than the mark are not taken into the table.
pub fn start_run(target: &Path) -> Result<(), TableError> {
    let dir = figures_dir(target);
    match fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_error(&dir)(e)),
        _ => {}
    }
    fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let mark = dir.join(STARTED);
    fs::write(&mark, b"").map_err(io_error(&mark))
}

/// Records figures that are not criterion times (constraint counts, latency percentiles) under
/// `bench`'s name, merged with those it recorded before in this run. Each key is the figure's
/// name within the bench, e.g. `"4 validators/p99 ms"`. Written to a temporary file renamed into
/// place, so a crash leaves the previous figures whole.
pub fn record_figures(
    target: &Path,
    bench: &str,
    figures: &[(String, f64)],
) -> Result<(), TableError> {
    let dir = figures_dir(target);
    fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let path = dir.join(format!("{bench}.json"));
    let mut all = match fs::read(&path) {
        Ok(bytes) => read_figures(&path, &bytes)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(io_error(&path)(e)),
    };
    for (name, value) in figures {
        all.insert(name.clone(), *value);
    }
    let json = Value::Object(
        all.into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect::<Map<_, _>>(),
    );
    let tmp = dir.join(format!(".{bench}.json.tmp"));
    fs::write(
        &tmp,
        serde_json::to_vec_pretty(&json).expect("JSON of numbers"),
    )
    .map_err(io_error(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_error(&path))
}

/// [`record_figures`] in the workspace's target directory, as the benchmarks call it; a failure
/// to record is reported and does not stop the benchmark.
pub fn record(bench: &str, figures: &[(String, f64)]) {
    if let Err(e) = record_figures(&crate::target_dir(), bench, figures) {
        eprintln!("could not record the {bench} figures for the benchmark table: {e}");
    }
}

/// Latency percentiles of one benchmark case, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    /// The median.
    pub p50: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The longest.
    pub max: f64,
}

/// The percentiles of `latencies` (any order; nearest rank); none when there are none.
pub fn percentiles(latencies: &[Duration]) -> Option<Percentiles> {
    let mut l = latencies.to_vec();
    l.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let max = ms(*l.last()?);
    let pct = |p: f64| ms(l[((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1]);
    Some(Percentiles {
        p50: pct(0.50),
        p99: pct(0.99),
        max,
    })
}

/// The [`percentiles`] of `latencies`, recorded for the table as `<case>/p50 ms` and
/// `<case>/p99 ms` under `bench`.
pub fn record_latencies(bench: &str, case: &str, latencies: &[Duration]) -> Option<Percentiles> {
    let p = percentiles(latencies)?;
    record(
        bench,
        &[
            (format!("{case}/p50 ms"), p.p50),
            (format!("{case}/p99 ms"), p.p99),
        ],
    );
    Some(p)
}

fn read_figures(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, f64>, TableError> {
    let value = parse_json(path, bytes)?;
    let object = value
        .as_object()
        .ok_or_else(|| malformed(path, "not an object of figures"))?;
    object
        .iter()
        .map(|(k, v)| {
            v.as_f64()
                .filter(|v| v.is_finite())
                .map(|v| (k.clone(), v))
                .ok_or_else(|| malformed(path, format!("figure {k:?} is not a finite number")))
        })
        .collect()
}

/// One criterion benchmark's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Median time of one iteration, in nanoseconds.
    pub median_ns: f64,
    /// Elements an iteration handles, where the benchmark declares a throughput.
    pub elements: Option<u64>,
}

/// The results of one benchmark run.
#[derive(Debug, Default)]
pub struct Run {
    /// Criterion results of this run by full id (`group/function[/value]`).
    pub estimates: BTreeMap<String, Estimate>,
    /// Recorded figures by `bench/name`.
    pub figures: BTreeMap<String, f64>,
    /// Criterion results found that are older than the run's start (not taken).
    pub older: usize,
}

impl Run {
    /// Reads the run in `target`: criterion's results written since the run's start, and the
    /// figures recorded in it.
    pub fn load(target: &Path) -> Result<Run, TableError> {
        let dir = figures_dir(target);
        let mark = dir.join(STARTED);
        let started = match fs::metadata(&mark) {
            Ok(m) => m.modified().map_err(io_error(&mark))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(TableError::NotStarted(target.to_owned()))
            }
            Err(e) => return Err(io_error(&mark)(e)),
        };
        let mut run = Run::default();
        let criterion = target.join("criterion");
        if criterion.is_dir() {
            run.read_criterion(&criterion, started)?;
        }
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
            let path = entry.map_err(io_error(&dir))?.path();
            let (Some(stem), Some("json")) = (
                path.file_stem().and_then(|s| s.to_str()),
                path.extension().and_then(|s| s.to_str()),
            ) else {
                continue;
            };
            if stem.starts_with('.') {
                continue;
            }
            let bytes = fs::read(&path).map_err(io_error(&path))?;
            for (name, value) in read_figures(&path, &bytes)? {
                run.figures.insert(format!("{stem}/{name}"), value);
            }
        }
        Ok(run)
    }

    /// Walks criterion's folder for `new/benchmark.json` with its `new/estimates.json`.
    fn read_criterion(&mut self, dir: &Path, started: SystemTime) -> Result<(), TableError> {
        for entry in fs::read_dir(dir).map_err(io_error(dir))? {
            let entry = entry.map_err(io_error(dir))?;
            let path = entry.path();
            if !entry.file_type().map_err(io_error(&path))?.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                let benchmark = path.join("benchmark.json");
                let estimates = path.join("estimates.json");
                if !benchmark.is_file() || !estimates.is_file() {
                    continue;
                }
                let modified = fs::metadata(&estimates)
                    .and_then(|m| m.modified())
                    .map_err(io_error(&estimates))?;
                if modified < started {
                    self.older += 1;
                    continue;
                }
                let (id, elements) = read_benchmark(&benchmark)?;
                let median_ns = read_median(&estimates)?;
                self.estimates.insert(
                    id,
                    Estimate {
                        median_ns,
                        elements,
                    },
                );
            } else {
                self.read_criterion(&path, started)?;
            }
        }
        Ok(())
    }

    /// The one estimate whose id `pattern` matches; none when no estimate or several do.
    fn estimate(&self, pattern: &Id) -> Option<&Estimate> {
        let mut found = self
            .estimates
            .iter()
            .filter(|(id, _)| pattern.matches(id))
            .map(|(_, e)| e);
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    fn value(&self, what: &Quantity) -> Option<f64> {
        match what {
            Quantity::Time(id) => self.estimate(id).map(|e| e.median_ns),
            Quantity::PerElement(id) => self
                .estimate(id)
                .and_then(|e| Some(e.median_ns / e.elements? as f64)),
            Quantity::Rate(id) => self
                .estimate(id)
                .and_then(|e| Some(e.elements? as f64 / (e.median_ns * 1e-9))),
            Quantity::Figure(key, _) => self.figures.get(*key).copied(),
        }
    }
}

fn malformed(path: &Path, what: impl Into<String>) -> TableError {
    TableError::Malformed {
        path: path.to_owned(),
        what: what.into(),
    }
}

fn parse_json(path: &Path, bytes: &[u8]) -> Result<Value, TableError> {
    serde_json::from_slice(bytes).map_err(|e| malformed(path, format!("not JSON: {e}")))
}

fn read_json(path: &Path) -> Result<Value, TableError> {
    parse_json(path, &fs::read(path).map_err(io_error(path))?)
}

fn read_benchmark(path: &Path) -> Result<(String, Option<u64>), TableError> {
    let v = read_json(path)?;
    let id = v["full_id"]
        .as_str()
        .ok_or_else(|| malformed(path, "no full_id"))?
        .to_owned();
    let elements = v["throughput"]["Elements"].as_u64();
    Ok((id, elements))
}

fn read_median(path: &Path) -> Result<f64, TableError> {
    read_json(path)?["median"]["point_estimate"]
        .as_f64()
        .filter(|m| m.is_finite() && *m > 0.0)
        .ok_or_else(|| malformed(path, "no positive median.point_estimate"))
}

/// Which benchmark a row reads: an exact criterion id, or one with a variable middle (the
/// number of transactions or threads a run was configured with).
#[derive(Debug, Clone)]
enum Id {
    Exact(Cow<'static, str>),
    Around(&'static str, &'static str),
}

impl Id {
    fn matches(&self, id: &str) -> bool {
        match self {
            Id::Exact(e) => id == e,
            Id::Around(start, end) => {
                id.len() >= start.len() + end.len() && id.starts_with(start) && id.ends_with(end)
            }
        }
    }
}

/// What a row shows.
#[derive(Debug, Clone)]
enum Quantity {
    /// Median time of an iteration (lower is better).
    Time(Id),
    /// Median time per element (lower is better).
    PerElement(Id),
    /// Elements per second (higher is better).
    Rate(Id),
    /// A recorded figure with its unit (lower is better).
    Figure(&'static str, Unit),
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    Count,
    Millis,
}

impl Quantity {
    fn higher_is_better(&self) -> bool {
        matches!(self, Quantity::Rate(_))
    }

    fn show(&self, v: f64, rate_unit: &str) -> String {
        match self {
            Quantity::Time(_) | Quantity::PerElement(_) => duration(v),
            Quantity::Rate(_) => format!("{} {rate_unit}", thousands(v.round())),
            Quantity::Figure(_, Unit::Count) => thousands(v.round()),
            Quantity::Figure(_, Unit::Millis) => format!("{v:.0} ms"),
        }
    }
}

/// What a figure is held to.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The ratio to the anchor at least this.
    Ratio(f64),
    /// The figure at most this.
    AtMost(f64),
    /// The figure below this.
    Below(f64),
    /// The figure at least this.
    AtLeast(f64),
}

struct Row {
    what: Cow<'static, str>,
    ours: Quantity,
    anchor: Option<(&'static str, Quantity)>,
    target: Option<Target>,
    /// The unit a rate is counted in.
    per: &'static str,
}

fn row(what: impl Into<Cow<'static, str>>, ours: Quantity) -> Row {
    Row {
        what: what.into(),
        ours,
        anchor: None,
        target: None,
        per: "",
    }
}

impl Row {
    fn against(mut self, name: &'static str, anchor: Quantity) -> Row {
        self.anchor = Some((name, anchor));
        self
    }
    fn target(mut self, t: Target) -> Row {
        self.target = Some(t);
        self
    }
    fn per(mut self, per: &'static str) -> Row {
        self.per = per;
        self
    }
}

use Id::Around;
use Quantity::{Figure, PerElement, Rate, Time};

/// A criterion id matched exactly.
const fn exact(id: &'static str) -> Id {
    Id::Exact(Cow::Borrowed(id))
}

const ARK_SINGLE: Quantity = Time(exact("verify aeo-status/v1/single/ark-groth16"));
const ARK_PROVE_AEO: Quantity = Time(exact("prover/aeo-status/v1/ark-groth16"));
const ARK_PROVE_INVOICE: Quantity = Time(exact("prover/invoice-value/v1 (4 lines)/ark-groth16"));

/// The table's sections and rows, in order.
fn sections() -> Vec<(&'static str, Vec<Row>)> {
    let statement = |name: &'static str| -> Vec<Row> {
        // Criterion ids of the statements bench: `<circuit>/<function>`.
        let id = |f: &str| Id::Exact(Cow::Owned(format!("{name}/{f}")));
        vec![
            row(format!("{name}, setup"), Time(id("setup"))),
            row(format!("{name}, prove"), Time(id("prove"))),
            row(format!("{name}, verify"), Time(id("verify")))
                .against("ark-groth16 verify", Time(id("ark_groth16_verify"))),
        ]
    };
    let mut statements = Vec::new();
    for name in [
        "aeo-status/v1",
        "invoice-value/v1 (4 lines)",
        "invoice-value/v1 (16 lines)",
        "declaration-match/v1 (4 lines)",
        "declaration-match/v1 (16 lines)",
    ] {
        statements.extend(statement(name));
    }
    vec![
        (
            "SHA-256 gadget",
            vec![
                row(
                    "constraints per 64-byte block",
                    Figure("sha256/our gadget/constraints per block", Unit::Count),
                )
                .against(
                    "arkworks' gadget",
                    Figure("sha256/arkworks gadget/constraints per block", Unit::Count),
                )
                .target(Target::AtMost(27_000.0)),
                row(
                    "invoice-value/v1 (4 lines), constraints",
                    Figure("sha256/our gadget/invoice-value 4 lines constraints", Unit::Count),
                )
                .against(
                    "arkworks' gadget",
                    Figure(
                        "sha256/arkworks gadget/invoice-value 4 lines constraints",
                        Unit::Count,
                    ),
                )
                .target(Target::Below(200_000.0)),
                row(
                    "invoice-value/v1 (4 lines), `Groth16::prove`",
                    Time(exact("invoice-value/v1 (4 lines)/prove, our gadget")),
                )
                .against(
                    "arkworks' gadget",
                    Time(exact("invoice-value/v1 (4 lines)/prove, arkworks gadget")),
                )
                .target(Target::Ratio(1.4)),
            ],
        ),
        (
            "Prover (same circuit and keys)",
            vec![
                row(
                    "aeo-status/v1, ours with tables (service)",
                    Time(exact("prover/aeo-status/v1/ours")),
                )
                .against("`Groth16::prove`", ARK_PROVE_AEO)
                .target(Target::Ratio(1.5)),
                row(
                    "aeo-status/v1, ours one-shot",
                    Time(exact("prover/aeo-status/v1/ours-one-shot")),
                )
                .against("`Groth16::prove`", ARK_PROVE_AEO)
                .target(Target::Ratio(1.5)),
                row(
                    "invoice-value/v1 (4 lines), ours",
                    Time(exact("prover/invoice-value/v1 (4 lines)/ours")),
                )
                .against("`Groth16::prove`", ARK_PROVE_INVOICE)
                .target(Target::Ratio(1.5)),
                row(
                    "invoice-value/v1 (4 lines), ours one-shot",
                    Time(exact("prover/invoice-value/v1 (4 lines)/ours-one-shot")),
                )
                .against("`Groth16::prove`", ARK_PROVE_INVOICE),
            ],
        ),
        (
            "Verification, aeo-status/v1 (per proof)",
            vec![
                row(
                    "single, ours (blst)",
                    Time(exact("verify aeo-status/v1/single/ours-Blst")),
                )
                .against("ark-groth16 single", ARK_SINGLE)
                .target(Target::Ratio(2.0)),
                row(
                    "batch of 16, ours (blst)",
                    PerElement(exact("verify aeo-status/v1/batch-Blst/16")),
                )
                .against("ark-groth16 single", ARK_SINGLE),
                row(
                    "batch of 64, ours (blst)",
                    PerElement(exact("verify aeo-status/v1/batch-Blst/64")),
                )
                .against("ark-groth16 single", ARK_SINGLE),
                row(
                    "batch of 256, ours (blst)",
                    PerElement(exact("verify aeo-status/v1/batch-Blst/256")),
                )
                .against("ark-groth16 single", ARK_SINGLE)
                .target(Target::Ratio(12.0)),
                row(
                    "batch of 256, on arkworks",
                    PerElement(exact("verify aeo-status/v1/batch-Arkworks/256")),
                )
                .against("ark-groth16 single", ARK_SINGLE),
                row(
                    "transaction signatures, Ed25519 batch of 64",
                    PerElement(exact(
                        "verify aeo-status/v1/transaction-signatures/ed25519-batch-64",
                    )),
                )
                .against(
                    "one at a time",
                    Time(exact("verify aeo-status/v1/transaction-signature/ed25519")),
                ),
            ],
        ),
        (
            "Ledger (32 clients, synced writes, every proof verified)",
            vec![
                row(
                    "1 validator, finalized aeo-status proof transactions",
                    Rate(Around("ledger/finalize ", ", 1 validator(s)")),
                )
                .per("tx/s")
                .target(Target::AtLeast(3_000.0)),
                row(
                    "1 validator, submission to finalization p99",
                    Figure("ledger/1 validator(s)/p99 ms", Unit::Millis),
                ),
                row(
                    "4 validators, finalized aeo-status proof transactions",
                    Rate(Around("ledger/finalize ", ", 4 validator(s)")),
                )
                .per("tx/s")
                .target(Target::AtLeast(500.0)),
                row(
                    "4 validators, submission to finalization p50",
                    Figure("ledger/4 validator(s)/p50 ms", Unit::Millis),
                ),
                row(
                    "4 validators, submission to finalization p99",
                    Figure("ledger/4 validator(s)/p99 ms", Unit::Millis),
                )
                .target(Target::Below(1_000.0)),
            ],
        ),
        (
            "Audit and prover service",
            vec![
                row(
                    "audit of the proof log, proofs re-verified",
                    Rate(Around("audit/audit ", " threads")),
                )
                .per("proofs/s")
                .target(Target::AtLeast(6_000.0)),
                row(
                    "search by nullifier in the audited log, index seek",
                    Time(exact("nullifier search/index seek")),
                )
                .against(
                    "scanning every nullifier",
                    Time(exact("nullifier search/scan (before the index)")),
                ),
                row(
                    "prover service, aeo-status/v1, 8 clients, 2 workers (per request)",
                    PerElement(Around("prover_service/", " 8 clients, 2 workers")),
                )
                .against(
                    "proving directly",
                    Time(exact(
                        "prover_service/aeo-status/v1 prove directly, tables (no service)",
                    )),
                ),
                row(
                    "prover service, 8 clients, 2 workers, p99",
                    Figure("prover_service/8 clients, 2 workers/p99 ms", Unit::Millis),
                ),
            ],
        ),
        ("Statements (setup, prove with the native check and the prover's own verification, verify)", statements),
    ]
}

/// A rendered table and the figures it could not show.
#[derive(Debug)]
pub struct Table {
    /// The table, in Markdown.
    pub markdown: String,
    /// Rows whose figure or anchor this run did not measure.
    pub missing: Vec<String>,
}

/// Renders the run's table.
pub fn render(run: &Run) -> Table {
    let mut md = String::new();
    let mut missing = Vec::new();
    md.push_str("| figure | measured | anchor (same run) | ratio | target |\n");
    md.push_str("| --- | --- | --- | --- | --- |\n");
    for (section, rows) in sections() {
        let _ = writeln!(md, "| **{section}** | | | | |");
        for r in rows {
            let ours = run.value(&r.ours);
            let anchor = r.anchor.as_ref().map(|(name, q)| (*name, q, run.value(q)));
            if ours.is_none() || anchor.is_some_and(|(_, _, v)| v.is_none()) {
                missing.push(r.what.to_string());
            }
            let shown = ours.map_or("not measured".into(), |v| r.ours.show(v, r.per));
            let (anchor_cell, ratio) = match anchor {
                None => (String::new(), None),
                Some((name, q, v)) => (
                    format!(
                        "{name}: {}",
                        v.map_or("not measured".into(), |v| q.show(v, r.per))
                    ),
                    ours.zip(v).map(|(o, a)| {
                        if r.ours.higher_is_better() {
                            o / a
                        } else {
                            a / o
                        }
                    }),
                ),
            };
            let ratio_cell = ratio.map_or(String::new(), |x| format!("{x:.2}x"));
            let target_cell = match r.target {
                None => String::new(),
                Some(t) => {
                    let (text, met) = match t {
                        Target::Ratio(x) => (format!("≥ {x}x"), ratio.map(|r| r >= x)),
                        Target::AtMost(x) => {
                            (format!("≤ {}", r.ours.show(x, r.per)), ours.map(|o| o <= x))
                        }
                        Target::Below(x) => {
                            (format!("< {}", r.ours.show(x, r.per)), ours.map(|o| o < x))
                        }
                        Target::AtLeast(x) => {
                            (format!("≥ {}", r.ours.show(x, r.per)), ours.map(|o| o >= x))
                        }
                    };
                    let verdict = match met {
                        Some(true) => "met",
                        Some(false) => "**not met**",
                        None => "not measured",
                    };
                    format!("{text}: {verdict}")
                }
            };
            let _ = writeln!(
                md,
                "| {} | {shown} | {anchor_cell} | {ratio_cell} | {target_cell} |",
                r.what
            );
        }
    }
    Table {
        markdown: md,
        missing,
    }
}

/// A duration in nanoseconds, in the largest unit that keeps it at least 1, to 3 significant
/// figures.
fn duration(ns: f64) -> String {
    let (v, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.decimals$} {unit}")
}

/// A whole number with thousands separators.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a criterion result the way criterion 0.5 lays it out.
    fn criterion_result(target: &Path, id: &str, median_ns: f64, elements: Option<u64>) {
        let dir = target
            .join("criterion")
            .join(id.replace('/', "_"))
            .join("new");
        fs::create_dir_all(&dir).unwrap();
        let throughput = elements.map_or(Value::Null, |n| serde_json::json!({ "Elements": n }));
        fs::write(
            dir.join("benchmark.json"),
            serde_json::json!({ "full_id": id, "throughput": throughput }).to_string(),
        )
        .unwrap();
        fs::write(
            dir.join("estimates.json"),
            serde_json::json!({ "median": { "point_estimate": median_ns } }).to_string(),
        )
        .unwrap();
    }

    fn line<'a>(table: &'a Table, starts: &str) -> &'a str {
        table
            .markdown
            .lines()
            .find(|l| l.starts_with(&format!("| {starts} |")))
            .unwrap_or_else(|| panic!("no row {starts:?} in\n{}", table.markdown))
    }

    #[test]
    fn figures_stand_beside_their_anchor_with_the_ratio_and_the_target() {
        let t = tempfile::tempdir().unwrap();
        start_run(t.path()).unwrap();
        criterion_result(
            t.path(),
            "verify aeo-status/v1/single/ark-groth16",
            2.4e6,
            Some(1),
        );
        criterion_result(
            t.path(),
            "verify aeo-status/v1/single/ours-Blst",
            1.0e6,
            Some(1),
        );
        criterion_result(
            t.path(),
            "verify aeo-status/v1/batch-Blst/256",
            256.0 * 0.16e6,
            Some(256),
        );
        criterion_result(
            t.path(),
            "ledger/finalize 96 aeo-status proof txs, 1 validator(s)",
            96e6,
            Some(96),
        );
        record_figures(
            t.path(),
            "ledger",
            &[("4 validator(s)/p99 ms".into(), 1_250.0)],
        )
        .unwrap();
        record_figures(
            t.path(),
            "sha256",
            &[
                ("our gadget/constraints per block".into(), 26_416.0),
                ("arkworks gadget/constraints per block".into(), 40_880.0),
            ],
        )
        .unwrap();
        let table = render(&Run::load(t.path()).unwrap());
        assert_eq!(
            line(&table, "single, ours (blst)"),
            "| single, ours (blst) | 1.00 ms | ark-groth16 single: 2.40 ms | 2.40x | ≥ 2x: met |"
        );
        assert_eq!(
            line(&table, "batch of 256, ours (blst)"),
            "| batch of 256, ours (blst) | 160 µs | ark-groth16 single: 2.40 ms | 15.00x | ≥ 12x: met |"
        );
        assert_eq!(
            line(&table, "1 validator, finalized aeo-status proof transactions"),
            "| 1 validator, finalized aeo-status proof transactions | 1,000 tx/s |  |  | ≥ 3,000 tx/s: **not met** |"
        );
        assert_eq!(
            line(&table, "4 validators, submission to finalization p99"),
            "| 4 validators, submission to finalization p99 | 1250 ms |  |  | < 1000 ms: **not met** |"
        );
        assert_eq!(
            line(&table, "constraints per 64-byte block"),
            "| constraints per 64-byte block | 26,416 | arkworks' gadget: 40,880 | 1.55x | ≤ 27,000: met |"
        );
        // What this run did not measure is said, not left out.
        assert_eq!(
            line(&table, "batch of 64, ours (blst)"),
            "| batch of 64, ours (blst) | not measured | ark-groth16 single: 2.40 ms |  |  |"
        );
        assert!(table
            .missing
            .contains(&"batch of 64, ours (blst)".to_owned()));
        assert!(!table.missing.contains(&"single, ours (blst)".to_owned()));
    }

    #[test]
    fn results_of_an_earlier_run_are_not_taken() {
        let t = tempfile::tempdir().unwrap();
        criterion_result(
            t.path(),
            "verify aeo-status/v1/single/ours-Blst",
            1.0e6,
            Some(1),
        );
        let old = SystemTime::now() - Duration::from_secs(3600);
        let estimates = t
            .path()
            .join("criterion/verify aeo-status_v1_single_ours-Blst/new/estimates.json");
        fs::File::options()
            .write(true)
            .open(&estimates)
            .unwrap()
            .set_modified(old)
            .unwrap();
        record_figures(
            t.path(),
            "sha256",
            &[("our gadget/constraints per block".into(), 1.0)],
        )
        .unwrap();
        // Starting a run removes the figures recorded before it.
        start_run(t.path()).unwrap();
        let run = Run::load(t.path()).unwrap();
        assert_eq!(run.older, 1);
        assert!(
            run.estimates.is_empty() && run.figures.is_empty(),
            "{run:?}"
        );
        let table = render(&run);
        assert!(line(&table, "single, ours (blst)").contains("| not measured |"));
    }

    #[test]
    fn a_target_without_a_run_or_with_bad_files_is_refused_clearly() {
        let t = tempfile::tempdir().unwrap();
        let e = Run::load(t.path()).unwrap_err();
        assert!(matches!(e, TableError::NotStarted(_)), "{e}");
        assert!(e.to_string().contains("make bench"), "{e}");

        start_run(t.path()).unwrap();
        fs::write(
            t.path().join("bench-figures/ledger.json"),
            br#"{"p99": "slow"}"#,
        )
        .unwrap();
        let e = Run::load(t.path()).unwrap_err();
        assert!(e.to_string().contains("is not a finite number"), "{e}");

        fs::remove_file(t.path().join("bench-figures/ledger.json")).unwrap();
        criterion_result(t.path(), "ledger/x", -1.0, None);
        let e = Run::load(t.path()).unwrap_err();
        assert!(e.to_string().contains("no positive median"), "{e}");
    }

    #[test]
    fn an_ambiguous_pattern_shows_nothing_rather_than_a_wrong_figure() {
        let t = tempfile::tempdir().unwrap();
        start_run(t.path()).unwrap();
        for n in [96, 288] {
            criterion_result(
                t.path(),
                &format!("ledger/finalize {n} aeo-status proof txs, 1 validator(s)"),
                1e8,
                Some(n),
            );
        }
        let table = render(&Run::load(t.path()).unwrap());
        assert!(line(
            &table,
            "1 validator, finalized aeo-status proof transactions"
        )
        .contains("| not measured |"));
    }

    #[test]
    fn percentiles_are_nearest_ranks() {
        assert_eq!(percentiles(&[]), None);
        let ms = |v: u64| Duration::from_millis(v);
        // 1..=200 ms, shuffled: the median is the 100th, the 99th percentile the 198th.
        let l: Vec<Duration> = (1..=200).map(|i| ms((i * 67) % 200 + 1)).collect();
        assert_eq!(
            percentiles(&l),
            Some(Percentiles {
                p50: 100.0,
                p99: 198.0,
                max: 200.0
            })
        );
        assert_eq!(
            percentiles(&[ms(7)]),
            Some(Percentiles {
                p50: 7.0,
                p99: 7.0,
                max: 7.0
            })
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(duration(1.234e9), "1.23 s");
        assert_eq!(duration(15.5e6), "15.5 ms");
        assert_eq!(duration(159e3), "159 µs");
        assert_eq!(duration(999.0), "999 ns");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
    }
}
