//! AFL++ harness of the `store_record` target: see `portcullis_fuzz::store_record`.

fn main() {
    afl::fuzz!(|data: &[u8]| portcullis_fuzz::store_record(data));
}
