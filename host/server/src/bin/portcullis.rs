//! `portcullis`: the auth server daemon.

fn main() -> std::process::ExitCode {
    portcullis_server::daemon::main()
}
