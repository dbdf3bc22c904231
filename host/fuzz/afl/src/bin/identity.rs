//! AFL++ harness of the `identity` target: see `portcullis_fuzz::identity`.

fn main() {
    afl::fuzz!(|data: &[u8]| portcullis_fuzz::identity(data));
}
