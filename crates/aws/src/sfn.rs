//! StartExecution / DescribeExecution on `aws-sdk-sfn`.

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use weighbridge_tasks::ports::{PortError, PortResult, Workflows};

use crate::errors::classify;

/// [`Workflows`] on the AWS SDK.
#[derive(Clone, Debug)]
pub struct StepFunctions {
    client: Client,
}

impl StepFunctions {
    /// The adapter over a Step Functions client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Workflows for StepFunctions {
    async fn start_execution(&self, state_machine_arn: &str, name: &str, input: &str) -> PortResult<String> {
        let out = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.execution_arn().to_string())
    }

    async fn execution_status(&self, execution_arn: &str) -> PortResult<Option<String>> {
        match self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(classify)
        {
            Ok(d) => Ok(Some(d.status().as_str().to_string())),
            Err(PortError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
