//! The one entrypoint layer: event → input → task → output, by function name. The
//! Lambdas (`functions/*` through `weighbridge-lambda`), the embedded backend's Task
//! states and the CLI's `invoke`/`run` (locally and with `--aws`) all call [`invoke`],
//! so an event is parsed, checked and dispatched the same way everywhere.

use serde::Serialize;
use serde_json::Value;

use crate::deploy::deploy;
use crate::evaluate_model::evaluate_model;
use crate::evaluate_variants::evaluate_variants;
use crate::input::parse_input;
use crate::ports::{Alarms, Autoscaling, MetricSink, ObjectStore, Registry, Runtime, SageMaker, Workflows};
use crate::shift_weights::shift_weights;
use crate::start_retraining::{start_retraining, StartRetrainingConfig};
use crate::train::train;
use crate::TaskError;

/// The ports a function runs on, named after the services (as `AwsPorts` names its
/// adapters): the AWS SDK adapters, or the embedded backend.
#[derive(Clone, Copy)]
pub struct Ports<'a> {
    /// SageMaker's control plane.
    pub sagemaker: &'a dyn SageMaker,
    /// Application Auto Scaling (endpoint variants' scalable targets and policies).
    pub autoscaling: &'a dyn Autoscaling,
    /// SageMaker Runtime (InvokeEndpoint).
    pub runtime: &'a dyn Runtime,
    /// S3.
    pub s3: &'a dyn ObjectStore,
    /// CloudWatch metrics.
    pub cloudwatch: &'a dyn MetricSink,
    /// CloudWatch alarms.
    pub alarms: &'a dyn Alarms,
    /// The SageMaker Model Registry.
    pub registry: &'a dyn Registry,
    /// Step Functions.
    pub sfn: &'a dyn Workflows,
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

/// What the functions read from their environment: the region, and the Lambdas'
/// environment variables (`STATE_MACHINE_ARN`, `KEY_PREFIX`, `KEY_SUFFIX`,
/// `TRAINING_DEFAULTS`, `METRIC_NAMESPACE`).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionEnv {
    /// The region (built-in algorithm images are per region).
    pub region: String,
    /// start-retraining's configuration; `state_machine_arn` is empty when
    /// `STATE_MACHINE_ARN` is unset, which start-retraining refuses by name.
    pub start_retraining: StartRetrainingConfig,
    /// The default for evaluate-variants' `namespace`.
    pub metric_namespace: String,
}

impl FunctionEnv {
    /// Reads the variables through `var` (the process environment in a Lambda and in the
    /// CLI's `--aws` mode): `TRAINING_DEFAULTS` defaults to `{}`, `METRIC_NAMESPACE` to
    /// `Weighbridge`.
    pub fn from_vars(region: &str, var: impl Fn(&str) -> Option<String>) -> Result<Self, TaskError> {
        let defaults = var("TRAINING_DEFAULTS").unwrap_or_else(|| "{}".into());
        let training_defaults: Value = serde_json::from_str(&defaults).map_err(|e| {
            TaskError::InvalidInput(format!("environment variable TRAINING_DEFAULTS is not JSON: {e}"))
        })?;
        Ok(Self {
            region: region.to_string(),
            start_retraining: StartRetrainingConfig {
                state_machine_arn: var("STATE_MACHINE_ARN").unwrap_or_default(),
                key_prefix: var("KEY_PREFIX").unwrap_or_default(),
                key_suffix: var("KEY_SUFFIX").unwrap_or_default(),
                training_defaults,
            },
            metric_namespace: var("METRIC_NAMESPACE").unwrap_or_else(|| "Weighbridge".into()),
        })
    }

    /// [`from_vars`](Self::from_vars) over the process environment.
    pub fn from_process(region: &str) -> Result<Self, TaskError> {
        Self::from_vars(region, |k| std::env::var(k).ok())
    }
}

/// Runs function `name` with `event` on `ports` and returns its output as JSON. Every
/// function checks its event (a JSON object within the payload quota) as it parses it.
pub async fn invoke(
    ports: Ports<'_>,
    env: &FunctionEnv,
    name: &str,
    event: Value,
) -> Result<Value, TaskError> {
    match name {
        "start-retraining" => {
            if env.start_retraining.state_machine_arn.is_empty() {
                return Err(TaskError::InvalidInput(
                    "environment variable STATE_MACHINE_ARN is not set; start-retraining needs the retrain state machine's ARN".into(),
                ));
            }
            to_json(start_retraining(ports.sfn, &env.start_retraining, &event).await?)
        }
        "train" => to_json(train(ports.sagemaker, &env.region, &parse_input(event)?).await?),
        "evaluate-model" => to_json(evaluate_model(ports, &parse_input(event)?).await?),
        "deploy" => to_json(deploy(ports, &env.region, &parse_input(event)?).await?),
        "evaluate-variants" => {
            let input = parse_input(with_default(event, "namespace", &env.metric_namespace))?;
            to_json(
                evaluate_variants(ports.sagemaker, ports.runtime, ports.s3, ports.cloudwatch, &input).await?,
            )
        }
        "shift-weights" => to_json(shift_weights(ports, &parse_input(event)?).await?),
        other => Err(TaskError::InvalidInput(format!(
            "no function {}; the functions are {}",
            crate::validation::shown(other),
            FUNCTIONS.join(", ")
        ))),
    }
}

/// Sets `field` in an object event when the event leaves it out.
fn with_default(mut event: Value, field: &str, value: &str) -> Value {
    if let Value::Object(map) = &mut event {
        map.entry(field.to_string())
            .or_insert_with(|| Value::String(value.to_string()));
    }
    event
}

fn to_json(output: impl Serialize) -> Result<Value, TaskError> {
    serde_json::to_value(output)
        .map_err(|e| TaskError::InvalidPayload(format!("the task output does not serialise: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_reads_as_the_lambdas_read_it() {
        let env = FunctionEnv::from_vars("eu-west-1", |_| None).unwrap();
        assert_eq!(env.start_retraining.training_defaults, serde_json::json!({}));
        assert_eq!(env.metric_namespace, "Weighbridge");
        assert!(env.start_retraining.state_machine_arn.is_empty());
        let bad =
            FunctionEnv::from_vars("r", |k| (k == "TRAINING_DEFAULTS").then(|| "{".into())).unwrap_err();
        assert!(bad.to_string().contains("TRAINING_DEFAULTS"), "{bad}");
    }

    #[test]
    fn namespace_defaults_only_fill_what_is_missing() {
        let given = with_default(serde_json::json!({"namespace": "Given"}), "namespace", "Env");
        assert_eq!(given["namespace"], "Given");
        assert_eq!(
            with_default(serde_json::json!({}), "namespace", "Env")["namespace"],
            "Env"
        );
    }
}
