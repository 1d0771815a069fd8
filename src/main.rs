//! The `zkcustoms` command: a thin layer that parses arguments and calls the libraries.

mod audit_cli;
mod ceremony_cli;
mod cli;
mod document_cli;
mod files;
mod ledger_cli;
mod party_cli;
mod prover_cli;
mod query_cli;
mod rates;

fn main() -> std::process::ExitCode {
    cli::run()
}
