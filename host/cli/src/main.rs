//! `pctl`: the Portcullis admin CLI.

fn main() -> std::process::ExitCode {
    portcullis_cli::main()
}
