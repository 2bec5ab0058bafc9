//! What the CLI's test binaries share: where the repository is, and a fresh scratch
//! directory per test (tests run in parallel).

use std::path::{Path, PathBuf};

/// The repository's root (events/, examples/, template.yaml).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An empty directory for `test`, unique to this process.
pub fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weighbridge-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
