//! An alarm rollback recorded in the experiment record it interrupts: the record of the
//! endpoint's live A/B (beside its captures, keyed by its production variants, where the
//! evaluator keeps it by default) gets an [`Intervention`] — so the experiment's history
//! says the challenger left between two looks, and why.
//!
//! Before the experiment's first look there is no record yet: one is started (its
//! champion the variant with the most traffic, as the evaluator would choose) so the
//! intervention is not lost. An endpoint without Data Capture has no live experiment:
//! nothing is recorded. A record kept under a custom `experimentKey` is not found.

use std::collections::BTreeMap;

use weighbridge_core::policy::default_champion;

use crate::endpoint::live_config;
use crate::error::port;
use crate::evaluate_variants::live::{capture_experiment_key, endpoint_capture_prefix};
use crate::experiment::{ExperimentRecord, Intervention};
use crate::ports::{EndpointDescription, ObjectStore, PortError, PutCondition, SageMaker};
use crate::{validation, TaskError};

/// What to record.
pub(crate) struct AlarmRollback<'a> {
    /// The variant taken out of traffic.
    pub variant: &'a str,
    /// The alarm.
    pub alarm: &'a str,
    /// Its reason.
    pub reason: &'a str,
    /// When (RFC 3339).
    pub at: &'a str,
}

/// Appends the rollback to the endpoint's live experiment record (idempotent: the same
/// alarm on the same variant is recorded once); answers the record's `s3://` URI, or
/// none for an endpoint that does not capture.
pub(crate) async fn record_alarm_rollback(
    sagemaker: &dyn SageMaker,
    store: &dyn ObjectStore,
    endpoint: &EndpointDescription,
    what: &AlarmRollback<'_>,
) -> Result<Option<String>, TaskError> {
    let config = live_config(sagemaker, endpoint).await?;
    let Some(capture) = &config.data_capture else {
        return Ok(None);
    };
    let (bucket, prefix) =
        validation::s3_uri("the endpoint's DataCaptureConfig", &capture.destination_s3_uri)?;
    let arms: Vec<String> = endpoint.variants.iter().map(|v| v.name.clone()).collect();
    let key = capture_experiment_key(
        &endpoint_capture_prefix(&prefix, &endpoint.name),
        &endpoint.name,
        &arms,
    );
    let uri = format!("s3://{bucket}/{key}");
    let (mut record, condition) = match store.get_object(&bucket, &key).await {
        Ok(o) => {
            let record: ExperimentRecord = serde_json::from_slice(&o.body)
                .map_err(|e| TaskError::InvalidInput(format!("experiment record {uri} is corrupt: {e}")))?;
            (record, PutCondition::IfMatch(o.etag))
        }
        Err(PortError::NotFound(_)) => (fresh_record(endpoint)?, PutCondition::IfAbsent),
        Err(e) => return Err(port(format!("GetObject {uri}"))(e)),
    };
    let recorded = record
        .interventions
        .iter()
        .any(|i| i.variant == what.variant && i.alarm == what.alarm);
    if recorded {
        return Ok(Some(uri));
    }
    record.interventions.push(Intervention {
        at: what.at.to_string(),
        variant: what.variant.to_string(),
        action: "alarmRollback".into(),
        alarm: what.alarm.to_string(),
        reason: what.reason.to_string(),
    });
    let body = serde_json::to_vec_pretty(&record).map_err(crate::error::unserialisable)?;
    store
        .put_object(&bucket, &key, body, condition)
        .await
        .map_err(|e| match e {
            PortError::PreconditionFailed(_) => TaskError::Conflict(format!(
                "{uri} changed while the alarm rollback was being recorded; retry"
            )),
            other => port(format!("PutObject {uri}"))(other),
        })?;
    Ok(Some(uri))
}

/// A record for an experiment that has had no look yet.
fn fresh_record(endpoint: &EndpointDescription) -> Result<ExperimentRecord, TaskError> {
    let weights: BTreeMap<String, f64> = endpoint
        .variants
        .iter()
        .map(|v| (v.name.clone(), v.current_weight))
        .collect();
    let champion = default_champion(&weights)
        .ok_or_else(|| TaskError::InsufficientData(format!("endpoint {} has no variants", endpoint.name)))?;
    Ok(ExperimentRecord::new(&endpoint.name, &champion))
}
