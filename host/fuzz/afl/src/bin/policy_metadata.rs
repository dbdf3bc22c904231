//! AFL++ harness of the `policy_metadata` target: see `portcullis_fuzz::policy_metadata`.

fn main() {
    afl::fuzz!(|data: &[u8]| portcullis_fuzz::policy_metadata(data));
}
