//! What the local commands share: the state directory under its lock, the embedded
//! backend it holds, and a runtime to run the async tasks and workflows on.

use std::path::Path;
use std::time::Duration;

use weighbridge_local::store::{Access, Lock, StateDir};
use weighbridge_local::workflows::ExecutionRecord;
use weighbridge_local::MemoryBackend;

use crate::error::CliError;

/// The seed of routing in local runs (the demo's default).
pub const SEED: u64 = 42;

/// How long a command waits for another one holding the state directory
/// (`WEIGHBRIDGE_LOCK_WAIT_MS` overrides it).
pub fn lock_wait() -> Duration {
    let ms = std::env::var("WEIGHBRIDGE_LOCK_WAIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    Duration::from_millis(ms)
}

/// An open state directory: its lock (held until this is dropped) and its backend.
pub struct Local {
    pub dir: StateDir,
    pub lock: Lock,
    pub backend: MemoryBackend,
    pub runtime: tokio::runtime::Runtime,
}

impl Local {
    /// Opens `dir` for `command` (a fresh backend when it holds no state yet), holding
    /// its lock as `access` until the command ends.
    pub fn open(dir: &Path, access: Access, command: &str) -> Result<Self, CliError> {
        let store = StateDir::new(dir);
        let lock = store.lock(access, command, lock_wait())?;
        let backend = store.open(&lock, SEED)?;
        let runtime = runtime()?;
        Ok(Self {
            dir: store,
            lock,
            backend,
            runtime,
        })
    }

    /// Writes the backend (if it changed) and the executions' histories.
    pub fn save(&self, executions: &[ExecutionRecord]) -> Result<(), CliError> {
        for e in executions {
            self.dir.save_execution(&self.lock, &e.name, &e.to_json())?;
        }
        self.dir.save(&self.lock, &self.backend)?;
        Ok(())
    }
}

/// The single-threaded runtime the commands run the async tasks and workflows on.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the runtime: {e}")))
}

/// The largest event or input file read (Step Functions' payload quota is 256 KiB;
/// anything far beyond it is a mistake, not an input).
const MAX_JSON_BYTES: u64 = 16 * 1024 * 1024;

/// Reads JSON given inline (`{…}`) or as a file path.
pub fn json_arg(text: &str) -> Result<serde_json::Value, CliError> {
    let trimmed = text.trim_start();
    let inline = trimmed.starts_with('{')
        || trimmed.starts_with('[')
        || (!Path::new(text).exists() && serde_json::from_str::<serde_json::Value>(text).is_ok());
    let body = if inline {
        text.to_string()
    } else {
        read_bounded(text)?
    };
    serde_json::from_str(&body).map_err(|e| {
        let shown: String = text.chars().take(80).collect();
        CliError::Usage(format!(
            "{shown:?} is not valid JSON: {e} [Weighbridge.InvalidInput]"
        ))
    })
}

pub fn read_bounded(path: &str) -> Result<String, CliError> {
    let read = |source| CliError::Read {
        path: path.into(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read)?.len();
    if size > MAX_JSON_BYTES {
        return Err(CliError::Usage(format!(
            "{path} is {size} bytes; an event or input is at most {MAX_JSON_BYTES} [Weighbridge.InvalidInput]"
        )));
    }
    std::fs::read_to_string(path).map_err(read)
}
