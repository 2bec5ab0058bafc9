//! What every Weighbridge Lambda shares, so each `functions/<name>/src/main.rs` is a few
//! lines: JSON logs through `tracing` (with the runtime's request-id span), task errors
//! as Lambda error types that Step Functions matches (`Weighbridge.*`), and the serve
//! loop over the one entrypoint layer (`weighbridge_tasks::functions`).
#![warn(missing_docs)]

use std::future::Future;

use lambda_runtime::{service_fn, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tracing_subscriber::EnvFilter;
use weighbridge_aws::AwsPorts;
use weighbridge_tasks::functions::{invoke, FunctionEnv};
use weighbridge_tasks::TaskError;

pub use lambda_runtime::{Diagnostic, Error};

/// JSON logs on stdout (CloudWatch Logs), level from `RUST_LOG` (default `info`). Each
/// line carries the current span, which the runtime opens per invocation with the
/// request id.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}

/// A task error as the Lambda error Step Functions sees: `errorType` is the stable name.
pub fn diagnostic(error: &TaskError) -> Diagnostic {
    Diagnostic {
        error_type: error.name().to_string(),
        error_message: error.to_string(),
    }
}

/// Runs function `name` as a Lambda: the AWS adapters from the usual configuration,
/// the function environment from the process, then every event through the one
/// entrypoint layer ([`weighbridge_tasks::functions::invoke`]).
pub async fn run(name: &'static str) -> Result<(), Error> {
    init_tracing();
    let aws = AwsPorts::from_env().await;
    let env = FunctionEnv::from_process(&aws.region)?;
    serve(|event| {
        let (aws, env) = (aws.clone(), env.clone());
        async move { invoke(aws.ports(), &env, name, event).await }
    })
    .await
}

/// Runs the Lambda: each event's JSON payload goes to `handler`; its output is returned
/// as JSON, its error as a [`Diagnostic`] with the error's stable name.
pub async fn serve<F, Fut, O>(handler: F) -> Result<(), Error>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<O, TaskError>>,
    O: Serialize,
{
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let outcome = handler(event.payload);
        async move { respond(outcome.await) }
    }))
    .await
}

/// Turns a task's result into the Lambda response.
pub fn respond<O: Serialize>(outcome: Result<O, TaskError>) -> Result<Value, Diagnostic> {
    match outcome {
        Ok(output) => serde_json::to_value(output).map_err(|e| Diagnostic {
            error_type: "Weighbridge.InvalidPayload".into(),
            error_message: format!("the task output does not serialise: {e}"),
        }),
        Err(error) => {
            tracing::error!(error_type = error.name(), detail = %error, "task failed");
            Err(diagnostic(&error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_reach_step_functions_under_their_stable_names() {
        let d =
            respond::<Value>(Err(TaskError::EndpointNotReady("endpoint x is Updating".into()))).unwrap_err();
        assert_eq!(d.error_type, "Weighbridge.EndpointNotReady");
        assert_eq!(d.error_message, "endpoint x is Updating");
        assert_eq!(respond(Ok(serde_json::json!({"a": 1}))).unwrap()["a"], 1);
    }
}
