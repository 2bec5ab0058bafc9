//! `--aws` for `run` and `invoke` (built with `--features aws`): the task code in process
//! over the AWS SDK adapters, with the usual AWS configuration (profile, region,
//! `AWS_ENDPOINT_URL`) — to debug a function or a state machine against a real account.
//! The functions' environment variables are read as their Lambdas read them.

use serde_json::Value;
use weighbridge_asl::interpreter::{ExecutionResult, WallClock};
use weighbridge_aws::AwsPorts;
use weighbridge_local::workflows::{run_machine_with, Deployment, TaskResources};
use weighbridge_tasks::functions::{self, FunctionEnv};
use weighbridge_tasks::TaskError;

use crate::error::CliError;

fn env(region: &str) -> Result<FunctionEnv, CliError> {
    FunctionEnv::from_process(region).map_err(|e| CliError::Usage(e.to_string()))
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
        Ok(functions::invoke(aws.ports(), &env, function, event).await)
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
            ports: aws.ports(),
            backend: None,
            env: &env,
            deployment: &deployment,
        };
        run_machine_with(&resources, &WallClock, machine, name, input)
            .await
            .map_err(|e| CliError::Usage(e.to_string()))
    })
}
