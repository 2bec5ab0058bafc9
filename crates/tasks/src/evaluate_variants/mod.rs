//! **evaluate-variants**: the scheduled A/B evaluator, over one of two sources.
//!
//! `source: {type: "capture"}` (live traffic, the main path; see `live.rs`): the
//! requests each variant really served, from Data Capture, joined with ground truth
//! that arrives later → SRM and label-coverage checks → two-sample evidence per weight
//! window → the policy → the weights.
//!
//! An endpoint with a **shadow variant** (`shadow.rs`): its production and shadow
//! captures of the same requests paired, joined with ground truth → paired evidence →
//! `graduate`, `remove` or `hold` (the workflow changes the endpoint).
//!
//! `source: {type: "testSet"}` (the offline fallback, the default):
//! DescribeEndpoint (must be InService) → the labelled test objects under a prefix that
//! this experiment has not scored yet → every variant scores the same rows
//! (`TargetVariant`, bounded concurrency, requests under the 6 MB payload limit) → the
//! per-variant metrics and the paired evidence against the champion accumulate in the
//! experiment record (conditional put) → CloudWatch metrics → the core policy decides →
//! UpdateEndpointWeightsAndCapacities unless `dryRun`. Multi-model endpoints compare
//! `TargetModel`s the same way (report only: their traffic is routed by the caller).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

use futures::stream::{self, StreamExt, TryStreamExt};

use weighbridge_core::codec::{decode_predictions, encode_rows, Format, LabelledRow, LabelledRowReader};
use weighbridge_core::compare::{delong, loss_metric, PairedLossMoments};
use weighbridge_core::metrics::ClassificationAccumulator;
use weighbridge_core::policy::{
    decide, default_champion, Action, ChallengerEvidence, Decision, MetricEvidence, PolicyConfig,
};
use weighbridge_core::sequential::PooledEstimate;

use crate::error::port;
use crate::experiment::{Evidence, ExperimentRecord, LiveLook, LookRecord, VariantRecord, WeightWindow};
use crate::ports::{
    EndpointDescription, EndpointStatus, InvokeRequest, MetricDatum, MetricSink, ObjectStore, ObjectSummary,
    PortError, PutCondition, Runtime, SageMaker, MAX_DATUMS_PER_PUT,
};
use crate::{validation, TaskError};

mod evidence;
mod hours;
mod join;
mod labels;
pub(crate) mod live;
mod live_checks;
mod plan;
mod publish;
mod scoring;
mod shadow;
mod types;

pub use types::{
    CaptureSource, EvaluateVariantsInput, EvaluateVariantsOutput, Graduation, LiveReport, LiveVariant,
    ShadowReport, ShadowSettings, Source, VariantReport,
};

use evidence::{accumulate_auc, accumulate_rows, challenger_evidence, variant_reports};
use plan::{needs_classes, validate, Plan};
use publish::{publish, publish_live};
use scoring::BlockScorer;

/// InvokeEndpoint's request payload limit.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// The most rows per InvokeEndpoint request (the 6 MB limit bounds it further).
pub const MAX_BATCH_ROWS: usize = 100_000;
/// The most requests in flight at once.
pub const MAX_CONCURRENCY: usize = 256;

/// The metrics the evaluator can compare: their loss form and whether they need 0/1 labels.
const COMPARABLE: [&str; 4] = ["rmse", "mae", "log_loss", "auc"];

/// Which arms are compared: endpoint variants, or models of a multi-model endpoint.
#[derive(Debug, Clone, PartialEq)]
enum Arms {
    Variants(Vec<String>),
    Models(Vec<String>),
}

impl Arms {
    fn names(&self) -> &[String] {
        match self {
            Arms::Variants(v) | Arms::Models(v) => v,
        }
    }
}

/// Runs one look of the A/B evaluation: check the input, describe the endpoint, then the
/// look of the chosen source.
pub async fn evaluate_variants(
    sagemaker: &dyn SageMaker,
    runtime: &dyn Runtime,
    store: &dyn ObjectStore,
    metrics_sink: &dyn MetricSink,
    input: &EvaluateVariantsInput,
) -> Result<EvaluateVariantsOutput, TaskError> {
    let format = validate(input)?;
    let endpoint = describe_in_service(sagemaker, &input.endpoint_name).await?;
    let ports = LookPorts {
        sagemaker,
        store,
        metrics_sink,
    };
    match (&input.source, endpoint.shadow_variants.is_empty()) {
        (Source::TestSet, true) => test_set_look(&ports, runtime, input, &endpoint, format).await,
        (Source::Capture(source), true) => capture_look(&ports, input, source, &endpoint).await,
        (Source::Capture(source), false) => shadow::shadow_look(&ports, input, source, &endpoint).await,
        (Source::TestSet, false) => Err(TaskError::InvalidInput(format!(
            "endpoint {} has the shadow variant {}, whose evidence is the mirrored traffic it answers (a shadow cannot be invoked with TargetVariant); use source capture",
            endpoint.name, endpoint.shadow_variants[0].name
        ))),
    }
}

/// The ports every look uses.
struct LookPorts<'a> {
    sagemaker: &'a dyn SageMaker,
    store: &'a dyn ObjectStore,
    metrics_sink: &'a dyn MetricSink,
}

/// A test-set look, as a list of named steps: plan the look from the endpoint, load the
/// experiment, read the new rows, score them on every arm, decide, commit the look
/// (conditional put: a lost race changes nothing), publish, and only then apply the weights.
async fn test_set_look(
    ports: &LookPorts<'_>,
    runtime: &dyn Runtime,
    input: &EvaluateVariantsInput,
    endpoint: &EndpointDescription,
    format: Format,
) -> Result<EvaluateVariantsOutput, TaskError> {
    let plan = Plan::resolve(input, endpoint, &input.test_bucket, &|arms| {
        plan::default_experiment_key(input, arms)
    })?;
    let (mut record, etag) = load_record(ports.store, input, &plan).await?;
    let new_objects = new_test_objects(ports.store, input, &plan, &record).await?;
    let scorer = BlockScorer {
        runtime,
        input,
        plan: &plan,
        format,
    };
    let look_rows = scorer
        .score_objects(ports.store, &new_objects, &mut record)
        .await?;
    let decision = decide_look(input, &plan, &record, look_rows)?;
    let look = Look {
        rows: look_rows,
        objects: &new_objects,
        applied: applies(input, &plan, &decision),
        decision: &decision,
        live: None,
    };
    commit_look(ports.store, &plan, &mut record, etag, &look).await?;
    finish_look(ports, input, &plan, &record, look).await
}

/// A live look: locate the capture, plan, load the experiment, read and join the
/// matured captures (with the SRM and coverage checks), decide (holding while a check
/// fails), commit, publish, apply.
async fn capture_look(
    ports: &LookPorts<'_>,
    input: &EvaluateVariantsInput,
    source: &CaptureSource,
    endpoint: &EndpointDescription,
) -> Result<EvaluateVariantsOutput, TaskError> {
    let location = live::locate(ports.sagemaker, endpoint, source, input.look_time()?).await?;
    let plan = Plan::resolve(input, endpoint, &location.capture_bucket, &|arms| {
        live::default_experiment_key(&location, &input.endpoint_name, arms)
    })?;
    if matches!(plan.arms, Arms::Models(_)) {
        return Err(TaskError::InvalidInput(
            "targetModels cannot be compared on live traffic: a multi-model endpoint's captures are per variant, not per model; use source testSet".into(),
        ));
    }
    let (mut record, etag) = load_record(ports.store, input, &plan).await?;
    let summary = live::live_look(ports.store, input, source, &plan, &location, &mut record).await?;
    let look_rows: u64 = summary.rows.values().sum();
    if look_rows > 0 {
        record.looks += 1;
        record.rows += look_rows;
    }
    let mut decision = decide_look(input, &plan, &record, look_rows)?;
    live_checks::hold_while_failing(&mut decision, &record, source);
    let applied = applies(input, &plan, &decision);
    if applied {
        start_window(&mut record, &decision, &location);
    }
    let live_look = live_checks::history_line(&record, &summary, &location);
    let look = Look {
        rows: look_rows,
        objects: &[],
        decision: &decision,
        applied,
        live: Some(live_look),
    };
    commit_look(ports.store, &plan, &mut record, etag, &look).await?;
    let report = live_checks::report(&record, &summary, &location, plan.arms.names());
    publish_live(ports.metrics_sink, input, &report).await?;
    let mut out = finish_look(ports, input, &plan, &record, look).await?;
    out.new_objects = summary.objects.iter().map(|o| o.key.clone()).collect();
    out.live = Some(report);
    Ok(out)
}

/// Whether the decided weights are applied: not on `dryRun`, a hold, or a multi-model endpoint.
fn applies(input: &EvaluateVariantsInput, plan: &Plan, decision: &Decision) -> bool {
    !input.dry_run && decision.action != Action::Hold && matches!(plan.arms, Arms::Variants(_))
}

/// A shift applied at this look starts a new weight window this hour.
fn start_window(record: &mut ExperimentRecord, decision: &Decision, location: &live::Location) {
    if let Some(state) = record.live.as_mut() {
        state.windows.push(WeightWindow {
            from_hour: hours::hour_of(location.as_of),
            weights: live::shares(&decision.weights),
        });
    }
}

/// The steps after the commit, shared by both sources: the report's lines, CloudWatch,
/// then the weights.
async fn finish_look(
    ports: &LookPorts<'_>,
    input: &EvaluateVariantsInput,
    plan: &Plan,
    record: &ExperimentRecord,
    look: Look<'_>,
) -> Result<EvaluateVariantsOutput, TaskError> {
    let reports = variant_reports(record, plan.arms.names(), &plan.metrics, input.policy.alpha);
    publish(ports.metrics_sink, input, &plan.arms, &reports).await?;
    if look.applied {
        apply_weights(ports.sagemaker, input, plan, look.decision).await?;
    }
    tracing::info!(endpoint = %input.endpoint_name, look = record.looks, action = look.decision.action.as_str(), applied = look.applied, "evaluated");
    Ok(EvaluateVariantsOutput {
        endpoint_name: input.endpoint_name.clone(),
        look: record.looks,
        new_rows: look.rows,
        total_rows: record.rows,
        new_objects: look.objects.iter().map(|o| o.key.clone()).collect(),
        variants: reports,
        action: look.decision.action,
        decision: look.decision.clone(),
        applied: look.applied,
        experiment_key: plan.experiment_key.clone(),
        live: None,
        shadow: None,
        graduation: input.shadow.graduation(),
    })
}

/// This look's outcome, as the record keeps it.
struct Look<'a> {
    rows: u64,
    /// Test objects to mark seen (a live look's cursors replace this).
    objects: &'a [ObjectSummary],
    decision: &'a Decision,
    applied: bool,
    live: Option<LiveLook>,
}

/// DescribeEndpoint, which must be InService.
async fn describe_in_service(
    sagemaker: &dyn SageMaker,
    name: &str,
) -> Result<EndpointDescription, TaskError> {
    let endpoint = sagemaker
        .describe_endpoint(name)
        .await
        .map_err(port(format!("DescribeEndpoint {name}")))?;
    if endpoint.status != EndpointStatus::InService {
        return Err(TaskError::EndpointNotReady(format!(
            "endpoint {} is {:?}; evaluate once it is InService",
            endpoint.name, endpoint.status
        )));
    }
    Ok(endpoint)
}

/// The experiment record so far (or a new one, its champion chosen), with its ETag for
/// the conditional put.
async fn load_record(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    plan: &Plan,
) -> Result<(ExperimentRecord, Option<String>), TaskError> {
    let (bucket, key) = (&plan.record_bucket, &plan.experiment_key);
    let (record, etag) = match store.get_object(bucket, key).await {
        Ok(o) => {
            let r: ExperimentRecord = serde_json::from_slice(&o.body).map_err(|e| {
                TaskError::InvalidInput(format!("experiment record s3://{bucket}/{key} is corrupt: {e}"))
            })?;
            (r, Some(o.etag))
        }
        Err(PortError::NotFound(_)) => {
            let champion = match (&input.policy.champion, &plan.arms) {
                (Some(c), _) => Some(c.clone()),
                (None, Arms::Models(m)) => m.first().cloned(),
                (None, Arms::Variants(_)) => default_champion(&plan.arm_weights()),
            };
            let champion = champion
                .ok_or_else(|| TaskError::InsufficientData("no variants to choose a champion from".into()))?;
            (ExperimentRecord::new(&input.endpoint_name, &champion), None)
        }
        Err(e) => return Err(port(format!("GetObject s3://{bucket}/{key}"))(e)),
    };
    if !plan.arms.names().contains(&record.champion) {
        return Err(TaskError::InvalidInput(format!(
            "the experiment's champion {:?} is not among the compared arms {:?}; start a new experiment key",
            record.champion,
            plan.arms.names()
        )));
    }
    Ok((record, etag))
}

/// The test objects under the prefix that this experiment has not scored (by ETag).
async fn new_test_objects(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    plan: &Plan,
    record: &ExperimentRecord,
) -> Result<Vec<ObjectSummary>, TaskError> {
    let listed = store
        .list_objects(&input.test_bucket, &input.test_prefix)
        .await
        .map_err(port(format!(
            "ListObjectsV2 s3://{}/{}",
            input.test_bucket, input.test_prefix
        )))?;
    let listed: Vec<_> = listed
        .into_iter()
        .filter(|o| o.key != plan.experiment_key && !o.key.contains("_experiment/") && !o.key.ends_with('/'))
        .collect();
    if listed.is_empty() {
        return Err(TaskError::InsufficientData(format!(
            "no test objects under s3://{}/{}; upload labelled rows (label-first CSV) there",
            input.test_bucket, input.test_prefix
        )));
    }
    Ok(listed
        .into_iter()
        .filter(|o| record.seen.get(&o.key) != Some(&o.etag))
        .collect())
}

/// The policy's decision on everything seen so far (hold when this look had no rows).
fn decide_look(
    input: &EvaluateVariantsInput,
    plan: &Plan,
    record: &ExperimentRecord,
    look_rows: u64,
) -> Result<Decision, TaskError> {
    let mut policy = input.policy.clone();
    policy.champion = Some(record.champion.clone());
    let evidence = challenger_evidence(record, &plan.arms, &plan.metrics);
    let mut decision = decide(&plan.arm_weights(), &evidence, &policy)?;
    if look_rows == 0 {
        decision.action = Action::Hold;
        decision.weights = decision.previous_weights.clone();
        decision.reason = match input.source {
            Source::TestSet => "hold: no new labelled test data since the last look".into(),
            Source::Capture(_) => {
                "hold: no new labelled captures since the last look (captures wait for their label delay)"
                    .into()
            }
        };
    }
    Ok(decision)
}

/// Writes the record with this look (its objects marked seen) by a conditional put: if
/// another evaluation committed first, this look is `Weighbridge.Conflict` and changes
/// nothing.
async fn commit_look(
    store: &dyn ObjectStore,
    plan: &Plan,
    record: &mut ExperimentRecord,
    etag: Option<String>,
    look: &Look<'_>,
) -> Result<(), TaskError> {
    for o in look.objects {
        record.seen.insert(o.key.clone(), o.etag.clone());
    }
    if look.rows > 0 || look.live.is_some() {
        record.history.push(LookRecord {
            look: record.looks,
            rows: look.rows,
            action: look.decision.action,
            weights: look.decision.weights.clone(),
            applied: look.applied,
            live: look.live.clone(),
        });
    }
    let (bucket, key) = (&plan.record_bucket, &plan.experiment_key);
    let body = serde_json::to_vec_pretty(&record).map_err(crate::error::unserialisable)?;
    let condition = etag.map_or(PutCondition::IfAbsent, PutCondition::IfMatch);
    store
        .put_object(bucket, key, body, condition)
        .await
        .map(|_| ())
        .map_err(|e| match e {
            PortError::PreconditionFailed(_) => TaskError::Conflict(format!(
                "another evaluation updated s3://{bucket}/{key} first; this look was not committed, retry"
            )),
            other => port(format!("PutObject s3://{bucket}/{key}"))(other),
        })
}

/// UpdateEndpointWeightsAndCapacities with the decided weights (variants not compared
/// keep no traffic).
async fn apply_weights(
    sagemaker: &dyn SageMaker,
    input: &EvaluateVariantsInput,
    plan: &Plan,
    decision: &Decision,
) -> Result<(), TaskError> {
    let full: BTreeMap<String, f64> = plan
        .weights
        .keys()
        .map(|k| (k.clone(), decision.weights.get(k).copied().unwrap_or(0.0)))
        .collect();
    sagemaker
        .update_endpoint_weights(&input.endpoint_name, &full)
        .await
        .map_err(port(format!(
            "UpdateEndpointWeightsAndCapacities {}",
            input.endpoint_name
        )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(variants: &[(&str, f64)]) -> EndpointDescription {
        EndpointDescription {
            name: "e".into(),
            config_name: "c".into(),
            status: EndpointStatus::InService,
            failure_reason: None,
            variants: variants
                .iter()
                .map(|(n, w)| crate::ports::VariantState {
                    name: n.to_string(),
                    current_weight: *w,
                    current_instance_count: 1,
                })
                .collect(),
            shadow_variants: vec![],
            last_modified: None,
        }
    }

    fn input(extra: serde_json::Value) -> EvaluateVariantsInput {
        let mut v = serde_json::json!({"endpointName": "e", "testBucket": "bkt", "testPrefix": "t/"});
        if let (Some(map), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
            map.extend(more);
        }
        crate::parse_input(v).unwrap()
    }

    #[test]
    fn a_plan_is_resolved_from_the_input_and_the_endpoint_alone() {
        let e = endpoint(&[("champion", 0.9), ("challenger", 0.1), ("other", 0.0)]);
        let resolve = |i: &EvaluateVariantsInput, e: &EndpointDescription| {
            Plan::resolve(i, e, "bkt", &|arms| plan::default_experiment_key(i, arms))
        };
        let all = resolve(&input(serde_json::json!({})), &e).unwrap();
        assert_eq!(all.arms.names().len(), 3);
        assert!(
            all.experiment_key.starts_with("t/_experiment/e-"),
            "{}",
            all.experiment_key
        );
        assert_eq!(all.metrics, vec!["rmse".to_string()]);
        let two = resolve(
            &input(serde_json::json!({"variants": ["champion", "challenger"]})),
            &e,
        )
        .unwrap();
        assert_eq!(two.arm_weights().len(), 2);
        assert_ne!(
            two.experiment_key, all.experiment_key,
            "another set of arms, another experiment"
        );
        let unknown = resolve(
            &input(serde_json::json!({"variants": ["champion", "nobody"]})),
            &e,
        );
        assert!(unknown.unwrap_err().to_string().contains("is not on endpoint e"));
        let alone = resolve(&input(serde_json::json!({})), &endpoint(&[("only", 1.0)]));
        assert_eq!(alone.unwrap_err().name(), "Weighbridge.InsufficientData");
    }
}
