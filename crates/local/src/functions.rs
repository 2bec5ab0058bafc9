//! The six task functions, called in process over the embedded backend: what a Lambda's
//! `main.rs` does with the AWS adapters, done with [`MemoryBackend`]. Used by the
//! workflow runner for Task states and by `weighbridge invoke`.

use serde_json::Value;
use weighbridge_tasks::deploy::deploy;
use weighbridge_tasks::evaluate_model::evaluate_model;
use weighbridge_tasks::evaluate_variants::evaluate_variants;
use weighbridge_tasks::ports::{MetricSink, ObjectStore, Runtime, SageMaker, Workflows};
use weighbridge_tasks::shift_weights::shift_weights;
use weighbridge_tasks::start_retraining::{start_retraining, StartRetrainingConfig};
use weighbridge_tasks::train::train;
use weighbridge_tasks::{parse_input, TaskError};

use crate::MemoryBackend;

/// The ports a function runs on: the embedded backend, or (in the CLI's `--aws` mode) the
/// AWS adapters.
#[derive(Clone, Copy)]
pub struct Ports<'a> {
    pub sagemaker: &'a dyn SageMaker,
    pub runtime: &'a dyn Runtime,
    pub store: &'a dyn ObjectStore,
    pub metrics: &'a dyn MetricSink,
    pub workflows: &'a dyn Workflows,
}

impl<'a> Ports<'a> {
    /// Every port on the embedded backend.
    pub fn of(b: &'a MemoryBackend) -> Self {
        Self {
            sagemaker: b,
            runtime: b,
            store: b,
            metrics: b,
            workflows: b,
        }
    }
}

/// The function names (the folders under `functions/`).
pub const FUNCTIONS: [&str; 6] = [
    "start-retraining",
    "train",
    "evaluate-model",
    "deploy",
    "evaluate-variants",
    "shift-weights",
];

/// What the functions read from their environment in AWS.
#[derive(Debug, Clone)]
pub struct FunctionEnv {
    pub region: String,
    pub start_retraining: StartRetrainingConfig,
    pub metric_namespace: String,
}

/// Runs function `name` with `event` on the embedded backend, as its Lambda would.
pub async fn invoke(
    backend: &MemoryBackend,
    env: &FunctionEnv,
    name: &str,
    event: Value,
) -> Result<Value, TaskError> {
    invoke_with(Ports::of(backend), env, name, event).await
}

/// Runs function `name` with `event` on any ports and returns its output.
pub async fn invoke_with(
    p: Ports<'_>,
    env: &FunctionEnv,
    name: &str,
    event: Value,
) -> Result<Value, TaskError> {
    let out = match name {
        "start-retraining" => to_json(start_retraining(p.workflows, &env.start_retraining, &event).await?),
        "train" => to_json(train(p.sagemaker, &env.region, &parse_input(event)?).await?),
        "evaluate-model" => to_json(evaluate_model(p.sagemaker, p.store, &parse_input(event)?).await?),
        "deploy" => to_json(deploy(p.sagemaker, &env.region, &parse_input(event)?).await?),
        "evaluate-variants" => {
            let mut event = event;
            if event.get("namespace").is_none() {
                event["namespace"] = Value::String(env.metric_namespace.clone());
            }
            to_json(
                evaluate_variants(p.sagemaker, p.runtime, p.store, p.metrics, &parse_input(event)?).await?,
            )
        }
        "shift-weights" => to_json(shift_weights(p.sagemaker, &parse_input(event)?).await?),
        other => {
            return Err(TaskError::InvalidInput(format!(
                "no function {other:?}; the functions are {}",
                FUNCTIONS.join(", ")
            )))
        }
    };
    Ok(out)
}

fn to_json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("task outputs serialise")
}
