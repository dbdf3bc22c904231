//! AFL++ harness of the `policy_output` target: see `portcullis_fuzz::policy_output`.

fn main() {
    afl::fuzz!(|data: &[u8]| portcullis_fuzz::policy_output(data));
}
