//! `sesame`: the identity provider and its administration commands.

use std::process::ExitCode;

fn main() -> ExitCode {
    sesame_server::cli::main()
}
