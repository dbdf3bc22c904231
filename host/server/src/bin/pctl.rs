//! `pctl`: the Portcullis admin CLI.

fn main() -> std::process::ExitCode {
    portcullis_server::pctl::main()
}
