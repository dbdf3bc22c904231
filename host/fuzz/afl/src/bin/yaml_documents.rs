//! AFL++ harness of the `yaml_documents` target: see `portcullis_fuzz::yaml_documents`.

fn main() {
    afl::fuzz!(|data: &[u8]| portcullis_fuzz::yaml_documents(data));
}
