//! What the CLI's test binaries share: where the repository is, and a fresh scratch
//! directory per test (tests run in parallel).

use std::collections::BTreeMap;
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

/// Every file under `dir` with its bytes, except the lock file (which names its last
/// holder and is not state).
#[allow(dead_code)] // not every test binary compares state directories
pub fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if e.file_name() != ".lock" {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}
