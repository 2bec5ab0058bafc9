//! The six task functions, called in process over the embedded backend: what a Lambda's
//! `main.rs` does with the AWS adapters, done with [`MemoryBackend`]. Used by the
//! workflow runner for Task states and by `weighbridge invoke`.

use serde_json::Value;
use weighbridge_tasks::deploy::deploy;
use weighbridge_tasks::evaluate_model::evaluate_model;
use weighbridge_tasks::evaluate_variants::evaluate_variants;
use weighbridge_tasks::shift_weights::shift_weights;
use weighbridge_tasks::start_retraining::{start_retraining, StartRetrainingConfig};
use weighbridge_tasks::train::train;
use weighbridge_tasks::{parse_input, TaskError};

use crate::MemoryBackend;

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

/// Runs function `name` with `event`, as its Lambda would, and returns its output.
pub async fn invoke(
    backend: &MemoryBackend,
    env: &FunctionEnv,
    name: &str,
    event: Value,
) -> Result<Value, TaskError> {
    let b = backend;
    let out = match name {
        "start-retraining" => to_json(start_retraining(b, &env.start_retraining, &event).await?),
        "train" => to_json(train(b, &env.region, &parse_input(event)?).await?),
        "evaluate-model" => to_json(evaluate_model(b, b, &parse_input(event)?).await?),
        "deploy" => to_json(deploy(b, &env.region, &parse_input(event)?).await?),
        "evaluate-variants" => {
            let mut event = event;
            if event.get("namespace").is_none() {
                event["namespace"] = Value::String(env.metric_namespace.clone());
            }
            to_json(evaluate_variants(b, b, b, b, &parse_input(event)?).await?)
        }
        "shift-weights" => to_json(shift_weights(b, &parse_input(event)?).await?),
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
