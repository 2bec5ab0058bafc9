//! What every Weighbridge Lambda shares, so each `functions/<name>/src/main.rs` is a few
//! lines: JSON logs through `tracing` (with the runtime's request-id span), task errors
//! as Lambda error types that Step Functions matches (`Weighbridge.*`), configuration
//! from environment variables, and the serve loop.

use std::future::Future;

use lambda_runtime::{service_fn, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tracing_subscriber::EnvFilter;
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

/// A required environment variable, or `Weighbridge.InvalidInput` naming it.
pub fn env_var(name: &str) -> Result<String, TaskError> {
    std::env::var(name)
        .map_err(|_| TaskError::InvalidInput(format!("environment variable {name} is not set")))
}

/// An optional environment variable with a default.
pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Sets `field` in a JSON object input from an environment variable when the input
/// leaves it out (per-deployment defaults such as the metric namespace).
pub fn default_from_env(event: &mut Value, field: &str, variable: &str) {
    if let (Value::Object(map), Ok(value)) = (event, std::env::var(variable)) {
        map.entry(field.to_string()).or_insert(Value::String(value));
    }
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

    #[test]
    fn environment_defaults_fill_only_missing_fields() {
        std::env::set_var("WB_TEST_NAMESPACE", "FromEnv");
        let mut given = serde_json::json!({"namespace": "Given"});
        default_from_env(&mut given, "namespace", "WB_TEST_NAMESPACE");
        assert_eq!(given["namespace"], "Given");
        let mut missing = serde_json::json!({});
        default_from_env(&mut missing, "namespace", "WB_TEST_NAMESPACE");
        assert_eq!(missing["namespace"], "FromEnv");
        assert!(env_var("WB_TEST_SURELY_UNSET")
            .unwrap_err()
            .to_string()
            .contains("WB_TEST_SURELY_UNSET"));
    }
}
