//! `--aws` for `run` and `invoke` (built with `--features aws`): the task code in process
//! over the AWS SDK adapters, with the usual AWS configuration (profile, region,
//! `AWS_ENDPOINT_URL`) — to debug a function or a state machine against a real account.
//! The functions' environment variables are read as their Lambdas read them.

use serde_json::Value;
use weighbridge_asl::interpreter::{ExecutionResult, WallClock};
use weighbridge_aws::AwsPorts;
use weighbridge_local::functions::{invoke_with, FunctionEnv, Ports};
use weighbridge_local::workflows::{run_machine_with, Deployment, TaskResources};
use weighbridge_tasks::start_retraining::StartRetrainingConfig;
use weighbridge_tasks::TaskError;

use crate::error::CliError;

fn env(region: &str) -> Result<FunctionEnv, CliError> {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let defaults = match std::env::var("TRAINING_DEFAULTS") {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| CliError::Usage(format!("TRAINING_DEFAULTS is not JSON: {e}")))?,
        Err(_) => Value::Null,
    };
    Ok(FunctionEnv {
        region: region.to_string(),
        start_retraining: StartRetrainingConfig {
            state_machine_arn: var("STATE_MACHINE_ARN"),
            key_prefix: var("KEY_PREFIX"),
            key_suffix: var("KEY_SUFFIX"),
            training_defaults: defaults,
        },
        metric_namespace: std::env::var("METRIC_NAMESPACE").unwrap_or_else(|_| "Weighbridge".into()),
    })
}

fn ports(aws: &AwsPorts) -> Ports<'_> {
    Ports {
        sagemaker: &aws.sagemaker,
        runtime: &aws.runtime,
        store: &aws.s3,
        metrics: &aws.cloudwatch,
        workflows: &aws.sfn,
    }
}

/// One function over AWS.
pub fn invoke(
    runtime: &tokio::runtime::Runtime,
    function: &str,
    event: Value,
) -> Result<Result<Value, TaskError>, CliError> {
    runtime.block_on(async {
        let aws = AwsPorts::from_env().await;
        let env = env(&aws.region)?;
        Ok(invoke_with(ports(&aws), &env, function, event).await)
    })
}

/// One execution over AWS, on the wall clock (Wait states really wait).
pub fn run(
    runtime: &tokio::runtime::Runtime,
    machine: &str,
    name: &str,
    input: Value,
) -> Result<ExecutionResult, CliError> {
    runtime.block_on(async {
        let aws = AwsPorts::from_env().await;
        let env = env(&aws.region)?;
        let deployment = Deployment::embedded();
        let resources = TaskResources {
            ports: ports(&aws),
            backend: None,
            env: &env,
            deployment: &deployment,
        };
        run_machine_with(&resources, &WallClock, machine, name, input)
            .await
            .map_err(|e| CliError::Usage(e.to_string()))
    })
}
