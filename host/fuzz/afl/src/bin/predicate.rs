//! AFL++ harness of the `predicate` target: see `portcullis_fuzz::predicate`.

fn main() {
    afl::fuzz!(|data: &[u8]| portcullis_fuzz::predicate(data));
}
