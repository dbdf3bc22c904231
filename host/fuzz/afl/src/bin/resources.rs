//! AFL++ harness of the `resources` target: see `portcullis_fuzz::resources`.

fn main() {
    afl::fuzz!(|data: &[u8]| portcullis_fuzz::resources(data));
}
