//! **start-retraining**: an S3 "Object Created" event (EventBridge, or the plain S3
//! notification) → one retrain execution per object version.
//!
//! The execution name is derived from bucket, key and version id (or ETag), so a
//! duplicate delivery of the same object version names the same execution: Step
//! Functions refuses a second one, and the task reports the existing execution instead.
//!
//! It also takes the Model Registry's "SageMaker Model Package State Change" event (the
//! template's rule for `awaitApproval: event`): a package approved by a person or a
//! pipeline starts one retrain execution that skips training and deploys it. The name
//! derives from the package's ARN, so a package deploys once however many times its
//! state changes to Approved (a promotion's verdict approves it again).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::s3::S3Event;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::port;
use crate::names::{execution_arn, readable_unique};
use crate::ports::{PortError, Workflows};
use crate::{validation, TaskError};

/// Configuration (environment variables of the Lambda, see the README).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartRetrainingConfig {
    /// `STATE_MACHINE_ARN`: the retrain state machine.
    pub state_machine_arn: String,
    /// `KEY_PREFIX`: only keys starting with this start a retrain (empty = all).
    #[serde(default)]
    pub key_prefix: String,
    /// `KEY_SUFFIX`: only keys ending with this (e.g. `.csv`; empty = all).
    #[serde(default)]
    pub key_suffix: String,
    /// `TRAINING_DEFAULTS`: JSON merged into every execution's input as `training`.
    #[serde(default)]
    pub training_defaults: Value,
}

/// The `detail` of an EventBridge "Object Created" event from S3.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ObjectCreatedDetail {
    bucket: NamedBucket,
    object: CreatedObject,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct NamedBucket {
    name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CreatedObject {
    key: String,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default, rename = "version-id")]
    version_id: Option<String>,
    #[serde(default)]
    size: Option<u64>,
}

/// One created object, whichever event shape it came in.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewObject {
    /// The bucket.
    pub bucket: String,
    /// The object's key (decoded).
    pub key: String,
    /// Its ETag.
    pub etag: Option<String>,
    /// Its version id (versioned buckets).
    pub version_id: Option<String>,
    /// Its size in bytes.
    pub size: Option<u64>,
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// The bucket.
    pub bucket: String,
    /// The object's key.
    pub key: String,
    /// The retrain execution's name (from bucket, key and version).
    pub execution_name: String,
    /// Its ARN.
    pub execution_arn: String,
    /// True when this object version had already started an execution.
    pub duplicate: bool,
}

/// An object the filters left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The object's key.
    pub key: String,
    /// Why it was skipped.
    pub reason: String,
}

/// An approved model package's deploy, started (or found started).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovedStart {
    /// The package.
    pub model_package_arn: String,
    /// The retrain execution's name (from the package's ARN).
    pub execution_name: String,
    /// Its ARN.
    pub execution_arn: String,
    /// True when this package had already started an execution.
    pub duplicate: bool,
}

/// The task's output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartRetrainingOutput {
    /// Executions started (or found already started).
    pub started: Vec<Started>,
    /// Objects the filters left out (and packages not approved).
    pub skipped: Vec<Skipped>,
    /// Approved model packages whose deploy was started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approved: Vec<ApprovedStart>,
}

/// The `detail` of "SageMaker Model Package State Change".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PackageStateChange {
    model_package_arn: String,
    model_package_group_name: String,
    model_package_version: i64,
    model_approval_status: String,
    #[serde(default)]
    customer_metadata_properties: std::collections::BTreeMap<String, String>,
}

/// The registry's event detail-type.
const PACKAGE_STATE_CHANGE: &str = "SageMaker Model Package State Change";

/// A package approved in the registry → one retrain execution that deploys it.
async fn start_approved(
    workflows: &dyn Workflows,
    config: &StartRetrainingConfig,
    event: &Value,
) -> Result<StartRetrainingOutput, TaskError> {
    let parsed: EventBridgeEvent<PackageStateChange> = serde_json::from_value(event.clone()).map_err(|e| {
        TaskError::InvalidInput(format!(
            "a \"{PACKAGE_STATE_CHANGE}\" event needs detail.ModelPackageArn, ModelPackageGroupName, ModelPackageVersion and ModelApprovalStatus: {e}"
        ))
    })?;
    let d = parsed.detail;
    validation::model_package_arn("detail.ModelPackageArn", &d.model_package_arn)?;
    let mut out = StartRetrainingOutput {
        started: Vec::new(),
        skipped: Vec::new(),
        approved: Vec::new(),
    };
    if d.model_approval_status != "Approved" {
        out.skipped.push(Skipped {
            key: d.model_package_arn,
            reason: format!("the package is {}, not Approved", d.model_approval_status),
        });
        return Ok(out);
    }
    let name = readable_unique(
        &format!(
            "approved-{}-v{}",
            d.model_package_group_name, d.model_package_version
        ),
        &[&d.model_package_arn],
        80,
        true,
    );
    let variant = readable_unique(
        &format!("{}-v{}", d.model_package_group_name, d.model_package_version),
        &[&d.model_package_arn],
        63,
        false,
    );
    let input = json!({
        "approvedModelPackage": {
            "modelPackageArn": d.model_package_arn,
            "group": d.model_package_group_name,
            "version": d.model_package_version,
            "variantName": variant,
            "trainingJobName": d.customer_metadata_properties.get("weighbridge:trainingJob").cloned().unwrap_or_else(|| variant.clone()),
        },
        "training": config.training_defaults,
    })
    .to_string();
    let (execution_arn, duplicate) = start_once(workflows, &config.state_machine_arn, &name, &input).await?;
    tracing::info!(execution = %name, duplicate, package = %d.model_package_arn, "approved package deploy");
    out.approved.push(ApprovedStart {
        model_package_arn: d.model_package_arn,
        execution_name: name,
        execution_arn,
        duplicate,
    });
    Ok(out)
}

/// StartExecution once per name: an execution already started under it (a duplicate
/// delivery) is reported, not started again.
async fn start_once(
    workflows: &dyn Workflows,
    state_machine_arn: &str,
    name: &str,
    input: &str,
) -> Result<(String, bool), TaskError> {
    // Step Functions answers a repeated StartExecution with the same name and input
    // as success while the first still runs, so look first to tell a duplicate.
    let existing_arn = execution_arn(state_machine_arn, name);
    let existing = workflows
        .execution_status(&existing_arn)
        .await
        .map_err(port(format!("DescribeExecution {existing_arn}")))?;
    if existing.is_some() {
        return Ok((existing_arn, true));
    }
    match workflows.start_execution(state_machine_arn, name, input).await {
        Ok(arn) => Ok((arn, false)),
        // Another delivery of the same event won the race.
        Err(PortError::AlreadyExists(_)) => Ok((existing_arn, true)),
        Err(e) => Err(port(format!("StartExecution {name}"))(e)),
    }
}

/// Reads the objects out of either event shape.
pub fn objects_of(event: &Value) -> Result<Vec<NewObject>, TaskError> {
    if event.get("Records").is_some() {
        let parsed: S3Event = serde_json::from_value(event.clone())
            .map_err(|e| TaskError::InvalidInput(format!("not an S3 notification event: {e}")))?;
        return parsed
            .records
            .into_iter()
            .filter(|r| {
                r.event_name
                    .as_deref()
                    .is_none_or(|n| n.starts_with("ObjectCreated:"))
            })
            .map(|r| {
                let bucket = r.s3.bucket.name.ok_or_else(|| missing("s3.bucket.name"))?;
                let key = r.s3.object.key.ok_or_else(|| missing("s3.object.key"))?;
                Ok(NewObject {
                    bucket,
                    // Notification keys are URL-encoded (space as '+').
                    key: url_decode(&key),
                    etag: r.s3.object.e_tag,
                    version_id: r.s3.object.version_id,
                    size: r.s3.object.size.and_then(|s| u64::try_from(s).ok()),
                })
            })
            .collect();
    }
    let parsed: EventBridgeEvent<ObjectCreatedDetail> = serde_json::from_value(event.clone()).map_err(|e| {
        TaskError::InvalidInput(format!(
            "expected an EventBridge \"Object Created\" event from aws.s3 or an S3 notification (Records): {e}"
        ))
    })?;
    if parsed.source != "aws.s3" || parsed.detail_type != "Object Created" {
        return Err(TaskError::InvalidInput(format!(
            "event {:?} from {:?} is not an S3 \"Object Created\" event; check the EventBridge rule's pattern",
            parsed.detail_type, parsed.source
        )));
    }
    Ok(vec![NewObject {
        bucket: parsed.detail.bucket.name,
        key: parsed.detail.object.key,
        etag: parsed.detail.object.etag,
        version_id: parsed.detail.object.version_id,
        size: parsed.detail.object.size,
    }])
}

fn missing(field: &str) -> TaskError {
    TaskError::InvalidInput(format!("the S3 notification record has no {field}"))
}

/// Decodes `%XX` escapes and `+` (the S3 notification's key encoding).
fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(i + 1).and_then(hex), bytes.get(i + 2).and_then(hex)) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// The execution name for one object version: readable key tail + hash, ≤ 80 chars.
pub fn execution_name(object: &NewObject) -> String {
    let version = object
        .version_id
        .as_deref()
        .or(object.etag.as_deref())
        .unwrap_or("");
    readable_unique(&object.key, &[&object.bucket, &object.key, version], 80, true)
}

/// Starts one retrain execution per new object that passes the filters.
pub async fn start_retraining(
    workflows: &dyn Workflows,
    config: &StartRetrainingConfig,
    event: &Value,
) -> Result<StartRetrainingOutput, TaskError> {
    if !config.state_machine_arn.contains(":stateMachine:") {
        return Err(TaskError::InvalidInput(format!(
            "STATE_MACHINE_ARN {:?} is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)",
            config.state_machine_arn
        )));
    }
    crate::input::check_event(event)?;
    if event.get("detail-type").and_then(Value::as_str) == Some(PACKAGE_STATE_CHANGE) {
        return start_approved(workflows, config, event).await;
    }
    let objects = objects_of(event)?;
    for object in &objects {
        validation::bucket_name("the event's bucket", &object.bucket)?;
        validation::object_key("the event's object key", &object.key)?;
    }
    let mut out = StartRetrainingOutput {
        started: Vec::new(),
        skipped: Vec::new(),
        approved: Vec::new(),
    };
    for object in objects {
        if !object.key.starts_with(&config.key_prefix) || !object.key.ends_with(&config.key_suffix) {
            out.skipped.push(Skipped {
                reason: format!(
                    "key does not match prefix {:?} and suffix {:?}",
                    config.key_prefix, config.key_suffix
                ),
                key: object.key,
            });
            continue;
        }
        if object.key.ends_with('/') {
            out.skipped.push(Skipped {
                key: object.key,
                reason: "a folder marker, not a data set".into(),
            });
            continue;
        }
        let name = execution_name(&object);
        let input = json!({
            "object": object,
            "dataUri": format!("s3://{}/{}", object.bucket, object.key),
            "training": config.training_defaults,
        })
        .to_string();
        let (arn, duplicate) = start_once(workflows, &config.state_machine_arn, &name, &input).await?;
        tracing::info!(execution = %name, duplicate, key = %object.key, "retrain execution");
        out.started.push(Started {
            bucket: object.bucket,
            key: object.key,
            execution_name: name,
            execution_arn: arn,
            duplicate,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decoding_of_notification_keys() {
        assert_eq!(url_decode("data/new+file%2B1.csv"), "data/new file+1.csv");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("a%zzb"), "a%zzb");
        assert_eq!(url_decode("%é%"), "%é%");
    }
}
