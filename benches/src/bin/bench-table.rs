//! The benchmark table of one run (`make bench`):
//!
//! - `bench-table start` marks the start of a run in the target directory;
//! - `bench-table [--out FILE]` renders the table of every figure measured since (criterion's
//!   medians and the figures the benchmarks recorded), each beside its anchor from the same run,
//!   the ratio and its target, prints it and writes it to `FILE` (default
//!   `<target>/bench-table.md`). Figures the run did not measure are shown as such and listed.

use std::path::PathBuf;
use std::process::ExitCode;
use zkcustoms_benches::table::{render, start_run, Run};
use zkcustoms_benches::target_dir;

const USAGE: &str = "usage: bench-table start | bench-table [--out FILE]";

fn main() -> ExitCode {
    let target = target_dir();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["start"] => {
            return match start_run(&target) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("bench-table: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        [] => target.join("bench-table.md"),
        ["--out", file] => PathBuf::from(file),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let run = match Run::load(&target) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("bench-table: {e}");
            return ExitCode::FAILURE;
        }
    };
    let table = render(&run);
    print!("{}", table.markdown);
    if let Err(e) = std::fs::write(&out, &table.markdown) {
        eprintln!("bench-table: {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    eprintln!("bench-table: written to {}", out.display());
    if run.older > 0 {
        eprintln!(
            "bench-table: {} criterion results older than this run were left out",
            run.older
        );
    }
    if !table.missing.is_empty() {
        eprintln!(
            "bench-table: not measured in this run: {}",
            table.missing.join("; ")
        );
    }
    ExitCode::SUCCESS
}
