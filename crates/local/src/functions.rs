//! The six task functions over the embedded backend: the one entrypoint layer
//! (`weighbridge_tasks::functions`) with [`MemoryBackend`] as every port. Used by the
//! workflow runner for Task states and by `weighbridge invoke`.

use serde_json::Value;
pub use weighbridge_tasks::functions::{FunctionEnv, Ports, FUNCTIONS};
use weighbridge_tasks::TaskError;

use crate::MemoryBackend;

impl MemoryBackend {
    /// Every port on this backend.
    pub fn ports(&self) -> Ports<'_> {
        Ports {
            sagemaker: self,
            autoscaling: self,
            runtime: self,
            s3: self,
            cloudwatch: self,
            alarms: self,
            registry: self,
            sfn: self,
        }
    }
}

/// Runs function `name` with `event` on the embedded backend, as its Lambda would.
pub async fn invoke(
    backend: &MemoryBackend,
    env: &FunctionEnv,
    name: &str,
    event: Value,
) -> Result<Value, TaskError> {
    weighbridge_tasks::functions::invoke(backend.ports(), env, name, event).await
}
