//! AFL++ harness of the `ssh_pubkey` target: see `portcullis_fuzz::ssh_pubkey`.

fn main() {
    afl::fuzz!(|data: &[u8]| portcullis_fuzz::ssh_pubkey(data));
}
