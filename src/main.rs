//! The `zkcustoms` command: a thin layer that parses arguments and calls the libraries.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
