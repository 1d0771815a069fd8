//! The `zkcustoms` command: a thin layer that parses arguments and calls the libraries.

mod cli;
mod ledger_cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
