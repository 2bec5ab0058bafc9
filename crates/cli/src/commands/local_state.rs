//! What the local commands share: the state directory, the embedded backend it holds,
//! and a runtime to run the async tasks and workflows on.

use std::path::Path;

use weighbridge_local::store::StateDir;
use weighbridge_local::workflows::ExecutionRecord;
use weighbridge_local::MemoryBackend;

use crate::error::CliError;

/// The seed of routing in local runs (the demo's default).
pub const SEED: u64 = 42;

pub struct Local {
    pub dir: StateDir,
    pub backend: MemoryBackend,
    pub runtime: tokio::runtime::Runtime,
}

fn failed(what: &str) -> impl FnOnce(String) -> CliError + '_ {
    move |e| CliError::Usage(format!("{what}: {e}"))
}

impl Local {
    /// Opens `dir` (a fresh backend when it holds no state yet).
    pub fn open(dir: &Path) -> Result<Self, CliError> {
        let store = StateDir::new(dir);
        let backend = store
            .open(SEED)
            .map_err(failed("cannot open the state directory"))?;
        let runtime = runtime()?;
        Ok(Self {
            dir: store,
            backend,
            runtime,
        })
    }

    /// Writes the backend and the executions' histories back.
    pub fn save(&self, executions: &[ExecutionRecord]) -> Result<(), CliError> {
        self.dir
            .save(&self.backend)
            .map_err(failed("cannot save the state"))?;
        for e in executions {
            self.dir
                .save_execution(&e.name, &e.to_json())
                .map_err(failed("cannot save an execution"))?;
        }
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

/// Reads JSON given inline (`{…}`) or as a file path.
pub fn json_arg(text: &str) -> Result<serde_json::Value, CliError> {
    let trimmed = text.trim_start();
    let body = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        text.to_string()
    } else {
        std::fs::read_to_string(text).map_err(|source| CliError::Read {
            path: text.into(),
            source,
        })?
    };
    serde_json::from_str(&body).map_err(|e| CliError::Usage(format!("{text:?} is not valid JSON: {e}")))
}
