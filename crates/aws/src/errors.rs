//! SDK errors → [`PortError`], by error code, HTTP status and (for SageMaker, which
//! reports missing and duplicate resources as ValidationException) message.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use weighbridge_tasks::ports::PortError;

/// Classifies an SDK error.
pub fn classify<E>(error: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    let code = error.code().unwrap_or_default().to_string();
    let message = error.message().unwrap_or_default().to_string();
    let text = if message.is_empty() {
        format!("{}", DisplayErrorContext(&error))
    } else {
        format!("{code}: {message}")
    };
    classify_parts(status, &code, &message, text)
}

/// The classification itself, on plain values (unit-tested without HTTP).
pub fn classify_parts(status: Option<u16>, code: &str, message: &str, text: String) -> PortError {
    let lower = message.to_ascii_lowercase();
    match code {
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "SlowDown"
        | "RequestLimitExceeded"
        | "ProvisionedThroughputExceededException"
        | "ConcurrentUpdateException" => return PortError::Throttled(text),
        "ResourceNotFound"
        | "ResourceNotFoundException"
        | "NoSuchKey"
        | "NoSuchBucket"
        | "ExecutionDoesNotExist"
        | "ObjectNotFoundException"
        | "StateMachineDoesNotExist"
        | "NotFound" => return PortError::NotFound(text),
        "ResourceInUse" | "ExecutionAlreadyExists" => return PortError::AlreadyExists(text),
        "PreconditionFailed" | "ConditionalRequestConflict" => return PortError::PreconditionFailed(text),
        _ => {}
    }
    // Application Auto Scaling says "No scaling policy found …" / "No scalable target
    // found …" (ObjectNotFoundException on AWS, ValidationException on moto).
    let none_found = lower.starts_with("no ") && lower.contains(" found for ");
    if none_found
        || lower.contains("could not find")
        || lower.contains("not found")
        || lower.contains("does not exist")
    {
        return PortError::NotFound(text);
    }
    if lower.contains("already exist") {
        return PortError::AlreadyExists(text);
    }
    match status {
        Some(404) => PortError::NotFound(text),
        Some(409) | Some(412) => PortError::PreconditionFailed(text),
        Some(429) => PortError::Throttled(text),
        Some(s) if s >= 500 => PortError::Unavailable(text),
        Some(_) => PortError::Validation(text),
        // No response at all: a timeout or a connection failure.
        None => PortError::Unavailable(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sagemaker_validation_messages_become_the_right_kinds() {
        let c = |status, code: &str, msg: &str| classify_parts(Some(status), code, msg, msg.to_string());
        assert!(matches!(
            c(400, "ValidationException", "Could not find endpoint \"x\"."),
            PortError::NotFound(_)
        ));
        assert!(matches!(
            c(
                400,
                "ValidationException",
                "Cannot create already existing model \"m\"."
            ),
            PortError::AlreadyExists(_)
        ));
        assert!(matches!(
            c(400, "ThrottlingException", "Rate exceeded"),
            PortError::Throttled(_)
        ));
        assert!(matches!(
            c(412, "PreconditionFailed", "At least one"),
            PortError::PreconditionFailed(_)
        ));
        assert!(matches!(
            c(500, "InternalFailure", "boom"),
            PortError::Unavailable(_)
        ));
        assert!(matches!(
            c(400, "ValidationException", "bad weight"),
            PortError::Validation(_)
        ));
        assert!(matches!(
            classify_parts(None, "", "", "timeout".into()),
            PortError::Unavailable(_)
        ));
    }

    #[test]
    fn application_auto_scaling_answers_become_the_right_kinds() {
        let c = |code: &str, msg: &str| classify_parts(Some(400), code, msg, msg.to_string());
        let missing_policy = "No scaling policy found for service namespace: sagemaker, resource ID: endpoint/e/variant/v, scalable dimension: sagemaker:variant:DesiredInstanceCount, policy name: p";
        assert!(matches!(
            c("ObjectNotFoundException", missing_policy),
            PortError::NotFound(_)
        ));
        assert!(
            matches!(c("ValidationException", missing_policy), PortError::NotFound(_)),
            "moto's code"
        );
        assert!(matches!(
            c("ConcurrentUpdateException", "in progress"),
            PortError::Throttled(_)
        ));
        assert!(matches!(
            c(
                "ValidationException",
                "Minimum capacity cannot be greater than maximum capacity"
            ),
            PortError::Validation(_)
        ));
    }
}
