//! AFL++ harness of the `policy_module` target: see `portcullis_fuzz::policy_module`.

fn main() {
    afl::fuzz!(|data: &[u8]| portcullis_fuzz::policy_module(data));
}
