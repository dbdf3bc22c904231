//! The AFL++ harnesses of the Portcullis fuzz targets: each binary in `src/bin` feeds
//! AFL's inputs to one function of `portcullis-fuzz` through `afl::fuzz!`. Build and run
//! them with `scripts/fuzz TARGET`.
