//! Fuzz targets: every reader of user input, each a `fn(&[u8])` that must never panic —
//! the payload codecs and the labelled-row reader, every task's input parsing and
//! validation, the ASL parser + validator + a run on the fuzzed definition, the
//! intrinsic-function parser, JSONPath, and the state-directory loader.
//!
//! [`fuzz`] drives them with a small mutation engine (seeds from the repository, byte
//! and JSON-aware mutations, `catch_unwind` per input) on stable Rust: the same targets
//! a coverage-guided fuzzer would call, without a nightly toolchain in CI. Crashing inputs
//! are written to `fuzz/crashes/<target>/` to become regression tests.
#![warn(missing_docs)]

pub mod engine;
pub mod targets;

pub use engine::{fuzz, Report};
pub use targets::{target, TARGETS};
