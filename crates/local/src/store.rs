//! The state directory (default `.weighbridge/`): the embedded backend on disk, so a second
//! CLI call sees what the first created. It is a small database:
//!
//! - **one writer at a time**: an advisory lock on `.lock`, held for the whole command
//!   ([`StateDir::lock`]); readers take it shared, so they never see a save half done.
//!   A second writer waits a bounded time, then fails naming the holder.
//! - **atomic saves**: every file is written aside, fsynced and renamed into place;
//!   `state.json` is renamed last, so until then the previous state stands whole. Object
//!   bodies no longer referenced are removed only after that.
//! - **confinement**: no key or name becomes a path. Object bodies live in
//!   `blobs/<sha-256 of the body>`; execution histories in `executions/<name>.json` with
//!   the name percent-encoded (no `/`, no `..`, no NUL can survive the encoding).
//! - **loud damage**: a missing or unreadable `state.json` beside data, or a missing
//!   blob, is an error that says how to recover — never an empty world.
//!
//! Layout: `state.json` (control plane, executions, CloudWatch datapoints, the virtual
//! clock, and the object index bucket → key → ETag and blob), `blobs/`, `executions/`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use weighbridge_tasks::ports::StoredObject;

use crate::memory::{Saved, World};
use crate::{MemoryBackend, Timing};

/// The version of `state.json`'s layout this build reads and writes.
const FORMAT: u32 = 2;
/// Entries that mean a directory holds state (anything else, e.g. `demo.svg`, does not).
const DATA_ENTRIES: [&str; 5] = ["state.json", "blobs", "executions", "s3", "s3.json"];

/// What can go wrong with the state directory. [`StoreError::name`] is stable.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another command holds the lock.
    #[error(
        "the state directory {dir} is in use by {holder}; waited {waited:?}. Try again when it has finished"
    )]
    Busy {
        /// The directory.
        dir: PathBuf,
        /// What `.lock` says about the holder (pid, command, since).
        holder: String,
        /// How long this command waited.
        waited: Duration,
    },
    /// The directory's content is not a state this build can read.
    #[error("the state directory is damaged: {path}: {problem}. {recovery}")]
    Damaged {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// How to get going again.
        recovery: &'static str,
    },
    /// A read or write failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An execution with this name is already recorded (Step Functions refuses it too).
    #[error("an execution named {0:?} already exists in this state directory; choose another --name")]
    ExecutionExists(String),
    /// No execution with this name.
    #[error("no execution {name:?} in {dir} (see `weighbridge status`)")]
    NoExecution {
        /// The name asked for.
        name: String,
        /// The directory.
        dir: PathBuf,
    },
}

impl StoreError {
    /// The stable name of the error (`Weighbridge.*`).
    pub fn name(&self) -> &'static str {
        match self {
            StoreError::Busy { .. } => "Weighbridge.StateBusy",
            StoreError::Damaged { .. } => "Weighbridge.StateDamaged",
            StoreError::Io { .. } => "Weighbridge.StateIo",
            StoreError::ExecutionExists(_) => "Weighbridge.ExecutionAlreadyExists",
            StoreError::NoExecution { .. } => "Weighbridge.NotFound",
        }
    }
}

const RESTORE: &str =
    "Restore the directory from a copy, or move it aside and start again (`--state-dir` elsewhere)";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn damaged(path: &Path, problem: impl ToString) -> StoreError {
    StoreError::Damaged {
        path: path.to_path_buf(),
        problem: problem.to_string(),
        recovery: RESTORE,
    }
}

/// How a command holds the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only (`status`, `history`): shared with other readers.
    Read,
    /// Changes the state: exclusive.
    Write,
}

/// The held lock; released when dropped (and by the OS if the process dies).
#[derive(Debug)]
pub struct Lock {
    _file: Option<File>,
    access: Access,
}

impl Lock {
    /// Whether this lock allows saving.
    pub fn can_write(&self) -> bool {
        self.access == Access::Write
    }
}

/// `state.json`.
#[derive(Serialize, Deserialize)]
struct Persisted {
    format: u32,
    now: DateTime<Utc>,
    timing_seconds: Option<(i64, i64)>,
    world: World,
    /// bucket → key → the object's ETag and blob.
    objects: BTreeMap<String, BTreeMap<String, ObjectEntry>>,
}

#[derive(Serialize, Deserialize)]
struct ObjectEntry {
    etag: String,
    /// The blob's file name: the SHA-256 of the body, in hex.
    blob: String,
}

/// A state directory (default `.weighbridge/`).
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The directory at `root` (nothing is read or created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory's path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes the directory's lock for `command`, waiting at most `wait` for another holder.
    /// Writers create the directory; readers of a directory that does not exist hold
    /// nothing (there is nothing to protect).
    pub fn lock(&self, access: Access, command: &str, wait: Duration) -> Result<Lock, StoreError> {
        if access == Access::Read && !self.root.join(".lock").exists() {
            return Ok(Lock { _file: None, access });
        }
        std::fs::create_dir_all(&self.root).map_err(io(&self.root))?;
        let path = self.root.join(".lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        let started = Instant::now();
        loop {
            let attempt = match access {
                Access::Read => file.try_lock_shared(),
                Access::Write => file.try_lock(),
            };
            match attempt {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(15))
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    return Err(StoreError::Busy {
                        dir: self.root.clone(),
                        holder: if holder.trim().is_empty() {
                            "another weighbridge command".into()
                        } else {
                            holder.trim().to_string()
                        },
                        waited: started.elapsed(),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
            }
        }
        if access == Access::Write {
            // Who holds it, for the message a waiting command gives up with.
            let note = format!(
                "pid {} ({command}, since {})",
                std::process::id(),
                Utc::now().to_rfc3339()
            );
            file.set_len(0).map_err(io(&path))?;
            file.write_all(note.as_bytes()).map_err(io(&path))?;
        }
        Ok(Lock {
            _file: Some(file),
            access,
        })
    }

    /// The backend as the last command left it, or a fresh simulated one when the
    /// directory holds no state yet.
    pub fn open(&self, _held: &Lock, seed: u64) -> Result<MemoryBackend, StoreError> {
        let state = self.root.join("state.json");
        if !state.exists() {
            self.check_empty()?;
            return Ok(crate::demo::demo_backend(seed));
        }
        let text = std::fs::read(&state).map_err(io(&state))?;
        let persisted: Persisted = serde_json::from_slice(&text).map_err(|e| damaged(&state, e))?;
        if persisted.format != FORMAT {
            return Err(damaged(
                &state,
                format!("format {} (this build reads {FORMAT})", persisted.format),
            ));
        }
        let mut objects = BTreeMap::new();
        for (bucket, keys) in persisted.objects {
            for (key, entry) in keys {
                let body = self.read_blob(&entry.blob, &bucket, &key)?;
                objects.insert(
                    (bucket.clone(), key),
                    StoredObject {
                        body,
                        etag: entry.etag,
                    },
                );
            }
        }
        let timing = persisted.timing_seconds.map(|(t, e)| Timing {
            training: chrono::Duration::seconds(t),
            endpoint: chrono::Duration::seconds(e),
        });
        let saved = Saved {
            now: persisted.now,
            timing,
            world: persisted.world,
            objects,
        };
        Ok(MemoryBackend::restore(saved, seed))
    }

    /// Without `state.json`, the directory must hold no other state: otherwise it was
    /// damaged (or written by another version), and starting from nothing would lose it.
    fn check_empty(&self) -> Result<(), StoreError> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if DATA_ENTRIES.iter().any(|d| name == *d) {
                return Err(damaged(
                    &self.root.join("state.json"),
                    format!("missing, but the directory holds {}", name.to_string_lossy()),
                ));
            }
        }
        Ok(())
    }

    fn read_blob(&self, blob: &str, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.root.join("blobs").join(blob);
        let valid_name = blob.len() == 64 && blob.chars().all(|c| c.is_ascii_hexdigit());
        if !valid_name {
            return Err(damaged(
                &self.root.join("state.json"),
                format!("object s3://{bucket}/{key} names blob {blob:?}"),
            ));
        }
        let body =
            std::fs::read(&path).map_err(|e| damaged(&path, format!("object s3://{bucket}/{key}: {e}")))?;
        if hex_sha256(&body) != blob {
            return Err(damaged(
                &path,
                format!("object s3://{bucket}/{key}: the body does not match its hash"),
            ));
        }
        Ok(body)
    }

    /// Writes the backend's state atomically; nothing is written when it is unchanged.
    pub fn save(&self, held: &Lock, backend: &MemoryBackend) -> Result<(), StoreError> {
        assert_writer(held, &self.root)?;
        let saved = backend.saved();
        let blobs = self.root.join("blobs");
        std::fs::create_dir_all(&blobs).map_err(io(&blobs))?;
        let mut objects: BTreeMap<String, BTreeMap<String, ObjectEntry>> = BTreeMap::new();
        for ((bucket, key), object) in &saved.objects {
            let blob = hex_sha256(&object.body);
            let path = blobs.join(&blob);
            if !path.exists() {
                write_atomically(&path, &object.body)?;
            }
            objects.entry(bucket.clone()).or_default().insert(
                key.clone(),
                ObjectEntry {
                    etag: object.etag.clone(),
                    blob,
                },
            );
        }
        let persisted = Persisted {
            format: FORMAT,
            now: saved.now,
            timing_seconds: saved
                .timing
                .map(|t| (t.training.num_seconds(), t.endpoint.num_seconds())),
            world: saved.world,
            objects,
        };
        let state = self.root.join("state.json");
        let text = serde_json::to_vec_pretty(&persisted).map_err(|e| damaged(&state, e))?;
        if std::fs::read(&state).is_ok_and(|old| old == text) {
            return Ok(());
        }
        write_atomically(&state, &text)?;
        self.remove_unreferenced_blobs(&persisted)
    }

    /// Blobs no object refers to any more, removed after the new state is durable.
    fn remove_unreferenced_blobs(&self, persisted: &Persisted) -> Result<(), StoreError> {
        let live: std::collections::BTreeSet<&str> = persisted
            .objects
            .values()
            .flat_map(|keys| keys.values().map(|e| e.blob.as_str()))
            .collect();
        let blobs = self.root.join("blobs");
        for entry in std::fs::read_dir(&blobs).map_err(io(&blobs))?.flatten() {
            let name = entry.file_name();
            if !live.contains(name.to_string_lossy().as_ref()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// Keeps an execution's history for `weighbridge history` (a name used before is
    /// refused, as Step Functions refuses it).
    pub fn save_execution(&self, held: &Lock, name: &str, record: &impl Serialize) -> Result<(), StoreError> {
        assert_writer(held, &self.root)?;
        let path = self.execution_path(name);
        if path.exists() {
            return Err(StoreError::ExecutionExists(name.to_string()));
        }
        self.replace_execution(held, name, record)
    }

    /// Writes an execution's history, replacing one of the same name (the demo's rerun).
    pub fn replace_execution(
        &self,
        held: &Lock,
        name: &str,
        record: &impl Serialize,
    ) -> Result<(), StoreError> {
        assert_writer(held, &self.root)?;
        let path = self.execution_path(name);
        let dir = self.root.join("executions");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let text = serde_json::to_vec_pretty(record).map_err(|e| damaged(&path, e))?;
        write_atomically(&path, &text)
    }

    /// Removes the histories of executions not in `keep` (the demo starts its story anew).
    pub fn retain_executions(&self, held: &Lock, keep: &[String]) -> Result<(), StoreError> {
        assert_writer(held, &self.root)?;
        for name in self.executions()? {
            if !keep.contains(&name) {
                let path = self.execution_path(&name);
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        Ok(())
    }

    /// Whether an execution of this name is recorded.
    pub fn has_execution(&self, name: &str) -> bool {
        self.execution_path(name).exists()
    }

    /// An execution's saved record.
    pub fn execution(&self, _held: &Lock, name: &str) -> Result<serde_json::Value, StoreError> {
        let path = self.execution_path(name);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidFilename
                ) =>
            {
                return Err(StoreError::NoExecution {
                    name: name.to_string(),
                    dir: self.root.clone(),
                })
            }
            Err(e) => return Err(io(&path)(e)),
        };
        serde_json::from_slice(&text).map_err(|e| damaged(&path, e))
    }

    /// Names of the saved executions, sorted.
    pub fn executions(&self) -> Result<Vec<String>, StoreError> {
        let dir = self.root.join("executions");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let file = e.file_name().into_string().ok()?;
                decode_name(file.strip_suffix(".json")?)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    fn execution_path(&self, name: &str) -> PathBuf {
        self.root
            .join("executions")
            .join(format!("{}.json", encode_name(name)))
    }
}

fn assert_writer(held: &Lock, root: &Path) -> Result<(), StoreError> {
    if held.can_write() {
        Ok(())
    } else {
        Err(StoreError::Io {
            path: root.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "saving needs the write lock",
            ),
        })
    }
}

/// Writes `bytes` beside `path`, fsyncs, renames over `path` and fsyncs the directory:
/// a reader sees the old file or the new one, never a part.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let aside = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = File::create(&aside)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&aside, path)?;
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&aside);
    }
    written.map_err(io(path))
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A name as a file name: letters, digits, `-` and `_` as they are, every other byte
/// as `%XX` — so `/`, `.`, `..`, NUL and the like cannot reach the file system.
pub fn encode_name(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The inverse of [`encode_name`]; `None` for a file name it did not make.
pub fn decode_name(file: &str) -> Option<String> {
    let bytes = file.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = file.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_encode_to_plain_file_names_and_back() {
        for name in ["look-001", "../../x", "/etc/passwd", "a\0b", "ünï", "..", "."] {
            let file = encode_name(name);
            assert!(
                file.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_%".contains(c)),
                "{file}"
            );
            assert_eq!(decode_name(&file).as_deref(), Some(name));
        }
        assert_eq!(decode_name("%zz"), None);
        assert_eq!(decode_name("%4"), None);
    }
}
