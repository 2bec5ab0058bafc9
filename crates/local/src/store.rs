//! The embedded backend on disk, so a second CLI call sees what the first created:
//! `state.json` holds the SageMaker control plane, executions, CloudWatch datapoints and
//! the virtual clock; `s3/<bucket>/<key>` holds each object's bytes and `s3.json` their
//! ETags (conditional puts compare them as S3 does); `executions/<name>.json` each
//! execution's history.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use weighbridge_tasks::ports::{
    EndpointConfig, EndpointDescription, MetricDatum, ModelRequest, TrainingJobDescription,
    TrainingJobRequest,
};

use crate::memory::Transition;
use crate::MemoryBackend;

/// What persists (objects travel separately, as files).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub now: DateTime<Utc>,
    pub timing_seconds: Option<(i64, i64)>,
    pub jobs: BTreeMap<String, TrainingJobDescription>,
    pub models: BTreeMap<String, ModelRequest>,
    pub configs: BTreeMap<String, EndpointConfig>,
    pub endpoints: BTreeMap<String, EndpointDescription>,
    pub metrics: Vec<(String, MetricDatum)>,
    pub executions: BTreeMap<String, (String, String)>,
    pub running: BTreeMap<String, (DateTime<Utc>, TrainingJobRequest)>,
    pub changing: BTreeMap<String, Transition>,
    pub started: Vec<String>,
    pub taken: usize,
    pub finished: BTreeMap<String, String>,
    #[serde(default)]
    pub transforms: BTreeMap<String, crate::TransformJob>,
    #[serde(skip)]
    pub objects: BTreeMap<(String, String), (String, Vec<u8>)>,
}

/// A state directory (default `.weighbridge/`).
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

fn io(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The backend as the last call left it, or a fresh simulated one.
    pub fn open(&self, seed: u64) -> Result<MemoryBackend, String> {
        let state = self.root.join("state.json");
        if !state.exists() {
            return Ok(crate::demo::demo_backend(seed));
        }
        let text = std::fs::read_to_string(&state).map_err(|e| io(&state, e))?;
        let mut snapshot: Snapshot = serde_json::from_str(&text).map_err(|e| io(&state, e))?;
        let index_path = self.root.join("s3.json");
        let index: BTreeMap<String, String> = match std::fs::read_to_string(&index_path) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| io(&index_path, e))?,
            Err(_) => BTreeMap::new(),
        };
        for (path, etag) in index {
            let (bucket, key) = path
                .split_once('/')
                .ok_or_else(|| io(&index_path, format!("bad entry {path}")))?;
            let file = self.root.join("s3").join(bucket).join(key);
            let body = std::fs::read(&file).map_err(|e| io(&file, e))?;
            snapshot
                .objects
                .insert((bucket.to_string(), key.to_string()), (etag, body));
        }
        Ok(MemoryBackend::restore(snapshot, seed))
    }

    /// Writes the backend's state (replacing what was there).
    pub fn save(&self, backend: &MemoryBackend) -> Result<(), String> {
        let snapshot = backend.snapshot();
        let s3 = self.root.join("s3");
        if s3.exists() {
            std::fs::remove_dir_all(&s3).map_err(|e| io(&s3, e))?;
        }
        let mut index = BTreeMap::new();
        for ((bucket, key), (etag, body)) in &snapshot.objects {
            let file = s3.join(bucket).join(key);
            std::fs::create_dir_all(file.parent().expect("a file has a parent")).map_err(|e| io(&file, e))?;
            std::fs::write(&file, body).map_err(|e| io(&file, e))?;
            index.insert(format!("{bucket}/{key}"), etag.clone());
        }
        self.write_json("s3.json", &index)?;
        self.write_json("state.json", &snapshot)
    }

    /// Keeps an execution's history for `weighbridge history`.
    pub fn save_execution(&self, name: &str, record: &impl Serialize) -> Result<(), String> {
        self.write_json(&format!("executions/{name}.json"), record)
    }

    /// An execution's saved record.
    pub fn execution(&self, name: &str) -> Result<serde_json::Value, String> {
        let path = self.root.join("executions").join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).map_err(|_| {
            format!(
                "no execution {name:?} in {} (see `weighbridge status`)",
                self.root.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| io(&path, e))
    }

    /// Names of the saved executions.
    pub fn executions(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.join("executions"))
            .into_iter()
            .flatten()
            .filter_map(|e| {
                e.ok()?
                    .path()
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
            })
            .collect();
        names.sort();
        names
    }

    fn write_json(&self, relative: &str, value: &impl Serialize) -> Result<(), String> {
        let path = self.root.join(relative);
        std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(|e| io(&path, e))?;
        let text = serde_json::to_string_pretty(value).map_err(|e| io(&path, e))?;
        std::fs::write(&path, text).map_err(|e| io(&path, e))
    }
}
