//! **evaluate-variants**: the scheduled A/B evaluator.
//!
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
use serde::{Deserialize, Serialize};
use weighbridge_core::codec::{decode_predictions, encode_rows, Format, LabelledRow, LabelledRowReader};
use weighbridge_core::compare::{delong, loss_metric, PairedLossMoments};
use weighbridge_core::metrics::ClassificationAccumulator;
use weighbridge_core::policy::{
    decide, default_champion, Action, ChallengerEvidence, Decision, MetricEvidence, PolicyConfig,
};
use weighbridge_core::sequential::PooledEstimate;

use crate::error::port;
use crate::experiment::{Evidence, ExperimentRecord, LookRecord, VariantRecord};
use crate::ports::{
    EndpointDescription, EndpointStatus, InvokeRequest, MetricDatum, MetricSink, ObjectStore, ObjectSummary,
    PortError, PutCondition, Runtime, SageMaker, MAX_DATUMS_PER_PUT,
};
use crate::{validation, TaskError};

/// InvokeEndpoint's request payload limit.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// The most rows per InvokeEndpoint request (the 6 MB limit bounds it further).
pub const MAX_BATCH_ROWS: usize = 100_000;
/// The most requests in flight at once.
pub const MAX_CONCURRENCY: usize = 256;

/// The metrics the evaluator can compare: their loss form and whether they need 0/1 labels.
const COMPARABLE: [&str; 4] = ["rmse", "mae", "log_loss", "auc"];

/// The task's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvaluateVariantsInput {
    /// The endpoint whose variants are compared (must be InService).
    pub endpoint_name: String,
    /// Bucket of the labelled test data: label-first CSV (no header), or JSON Lines
    /// `{"label": …, "features": […]}`.
    pub test_bucket: String,
    /// Prefix of the test objects; each object is new evidence once.
    pub test_prefix: String,
    /// Where the experiment record lives. Default
    /// `<testPrefix>_experiment/<endpoint>-<hash of the compared arms>.json`: one experiment
    /// per set of arms, so after a promotion or rollback the next challenger starts a new
    /// experiment by itself (and every test object is new evidence for it).
    #[serde(default)]
    pub experiment_key: Option<String>,
    /// Only these variants (default: every variant of the endpoint).
    #[serde(default)]
    pub variants: Option<Vec<String>>,
    /// For a multi-model endpoint: compare these `TargetModel`s instead of variants.
    #[serde(default)]
    pub target_models: Option<Vec<String>>,
    /// Request format: `text/csv` or `application/jsonlines`.
    #[serde(default = "csv")]
    pub content_type: String,
    /// Rows per InvokeEndpoint request (also kept under 6 MB).
    #[serde(default = "batch_rows")]
    pub batch_rows: usize,
    /// Requests in flight at once.
    #[serde(default = "concurrency")]
    pub max_concurrency: usize,
    /// CloudWatch namespace.
    #[serde(default = "namespace")]
    pub namespace: String,
    /// The decision policy (primary metric, alpha, guardrails, step, floor, …).
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Decide and report, but change nothing on the endpoint.
    #[serde(default)]
    pub dry_run: bool,
}

fn csv() -> String {
    "text/csv".into()
}
fn batch_rows() -> usize {
    500
}
fn concurrency() -> usize {
    4
}
fn namespace() -> String {
    "Weighbridge".into()
}

/// One variant's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantReport {
    /// The variant (or target model).
    pub variant: String,
    /// Rows scored in the experiment so far.
    pub rows: u64,
    /// Its metrics over those rows.
    pub metrics: BTreeMap<String, f64>,
    /// Pointwise (1 − alpha) intervals `[low, high]` of the compared metrics (primary and
    /// guardrails), for reading; the decision uses the always-valid intervals in
    /// `decision.verdicts`, which stay valid across looks.
    pub intervals: BTreeMap<String, (f64, f64)>,
}

/// The task's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluateVariantsOutput {
    /// The endpoint.
    pub endpoint_name: String,
    /// The look's number in the experiment.
    pub look: u32,
    /// Rows scored in this look (per variant).
    pub new_rows: u64,
    /// Rows scored in the experiment so far (per variant).
    pub total_rows: u64,
    /// The test objects this look scored.
    pub new_objects: Vec<String>,
    /// Every compared arm's line.
    pub variants: Vec<VariantReport>,
    /// The policy's decision, with its evidence and reasons.
    pub decision: Decision,
    /// `hold`, `shift`, `promote` or `rollback` (for the ASL Choice state).
    pub action: Action,
    /// Whether the weights were changed (not on `dryRun`, hold, or a multi-model endpoint).
    pub applied: bool,
    /// The experiment record's key in the test bucket.
    pub experiment_key: String,
}

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

fn validate(input: &EvaluateVariantsInput) -> Result<Format, TaskError> {
    let invalid = |m: String| Err(TaskError::InvalidInput(m));
    input.policy.validate()?;
    let format = weighbridge_core::codec::Format::from_content_type(&input.content_type)?;
    if format == Format::Json {
        return invalid("contentType must be text/csv or application/jsonlines".into());
    }
    validation::sagemaker_name("endpointName", &input.endpoint_name)?;
    validation::bucket_name("testBucket", &input.test_bucket)?;
    validation::key_prefix("testPrefix", &input.test_prefix)?;
    if let Some(key) = &input.experiment_key {
        validation::object_key("experimentKey", key)?;
    }
    if let Some(variants) = &input.variants {
        validation::variant_list("variants", variants)?;
    }
    if let Some(models) = &input.target_models {
        check_target_models(models)?;
    }
    if input.batch_rows == 0 || input.max_concurrency == 0 {
        return invalid("batchRows and maxConcurrency must be ≥ 1".into());
    }
    validation::bounded("batchRows", input.batch_rows, 1..=MAX_BATCH_ROWS)?;
    validation::bounded("maxConcurrency", input.max_concurrency, 1..=MAX_CONCURRENCY)?;
    check_namespace(&input.namespace)?;
    for metric in
        std::iter::once(&input.policy.primary_metric).chain(input.policy.guardrails.iter().map(|g| &g.metric))
    {
        if !COMPARABLE.contains(&metric.as_str()) {
            return invalid(format!(
                "metric {metric:?} cannot be compared; use one of {}",
                COMPARABLE.join(", ")
            ));
        }
    }
    Ok(format)
}

/// TargetModel values: unique, 1 to 1024 characters (InvokeEndpoint's limit).
fn check_target_models(models: &[String]) -> Result<(), TaskError> {
    let mut seen = std::collections::BTreeSet::new();
    for m in models {
        if m.is_empty() || m.len() > 1024 || !seen.insert(m) {
            return Err(TaskError::InvalidInput(format!(
                "targetModels: {} must be 1 to 1024 characters and named once",
                validation::shown(m)
            )));
        }
    }
    Ok(())
}

/// A CloudWatch namespace: 1 to 255 printable ASCII characters, not starting with `:`
/// and not in the `AWS/` namespaces AWS reserves.
fn check_namespace(namespace: &str) -> Result<(), TaskError> {
    let ok = (1..=255).contains(&namespace.len())
        && namespace.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        && !namespace.starts_with(':')
        && !namespace.starts_with("AWS/");
    if ok {
        Ok(())
    } else {
        Err(TaskError::InvalidInput(format!(
            "namespace {} is not a CloudWatch namespace (1 to 255 printable ASCII characters, not AWS/…)",
            validation::shown(namespace)
        )))
    }
}

/// `<testPrefix>_experiment/<endpoint>-<hash of the sorted arm names>.json`.
fn default_experiment_key(input: &EvaluateVariantsInput, arms: &[String]) -> String {
    let mut sorted: Vec<&str> = arms.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    format!(
        "{}_experiment/{}-{:016x}.json",
        input.test_prefix,
        input.endpoint_name,
        crate::names::fingerprint(&sorted)
    )
}

fn tracked_metrics(policy: &PolicyConfig) -> Vec<String> {
    let mut metrics = vec![policy.primary_metric.clone()];
    for g in &policy.guardrails {
        if !metrics.contains(&g.metric) {
            metrics.push(g.metric.clone());
        }
    }
    metrics
}

fn needs_classes(metrics: &[String]) -> bool {
    metrics.iter().any(|m| m == "auc" || m == "log_loss")
}

/// Runs one look of the A/B evaluation, as a list of named steps: check the input, plan
/// the look from the endpoint, load the experiment, read the new rows, score them on
/// every arm, decide, commit the look (conditional put: a lost race changes nothing),
/// publish, and only then apply the weights.
pub async fn evaluate_variants(
    sagemaker: &dyn SageMaker,
    runtime: &dyn Runtime,
    store: &dyn ObjectStore,
    metrics_sink: &dyn MetricSink,
    input: &EvaluateVariantsInput,
) -> Result<EvaluateVariantsOutput, TaskError> {
    let format = validate(input)?;
    let endpoint = describe_in_service(sagemaker, &input.endpoint_name).await?;
    let plan = Plan::resolve(input, &endpoint)?;
    let (mut record, etag) = load_record(store, input, &plan).await?;
    let new_objects = new_test_objects(store, input, &plan, &record).await?;
    let rows = read_new_rows(store, input, &plan, &new_objects).await?;
    let look_rows = score_look(runtime, input, &plan, &rows, format, &mut record).await?;
    let decision = decide_look(input, &plan, &record, look_rows)?;
    let apply = !input.dry_run && decision.action != Action::Hold && matches!(plan.arms, Arms::Variants(_));
    let look = Look {
        rows: look_rows,
        objects: &new_objects,
        decision: &decision,
        applied: apply,
    };
    commit_look(store, input, &plan, &mut record, etag, &look).await?;
    let reports = variant_reports(&record, plan.arms.names(), &plan.metrics, input.policy.alpha);
    publish(metrics_sink, input, &plan.arms, &reports).await?;
    if apply {
        apply_weights(sagemaker, input, &plan, &decision).await?;
    }
    tracing::info!(endpoint = %input.endpoint_name, look = record.looks, action = decision.action.as_str(), applied = apply, "evaluated");
    Ok(EvaluateVariantsOutput {
        endpoint_name: input.endpoint_name.clone(),
        look: record.looks,
        new_rows: look_rows,
        total_rows: record.rows,
        new_objects: new_objects.iter().map(|o| o.key.clone()).collect(),
        variants: reports,
        action: decision.action,
        decision,
        applied: apply,
        experiment_key: plan.experiment_key,
    })
}

/// What one look works on, resolved from the input and the endpoint before any data is
/// read: the compared arms, the endpoint's weights, the experiment record's key and the
/// tracked metrics.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    arms: Arms,
    /// Every variant of the endpoint with its current weight.
    weights: BTreeMap<String, f64>,
    experiment_key: String,
    metrics: Vec<String>,
}

impl Plan {
    /// Pure: the same input and endpoint give the same plan.
    fn resolve(input: &EvaluateVariantsInput, endpoint: &EndpointDescription) -> Result<Self, TaskError> {
        let weights: BTreeMap<String, f64> = endpoint
            .variants
            .iter()
            .map(|v| (v.name.clone(), v.current_weight))
            .collect();
        let arms = match (&input.target_models, &input.variants) {
            (Some(models), _) if models.len() >= 2 => Arms::Models(models.clone()),
            (Some(_), _) => {
                return Err(TaskError::InvalidInput(
                    "targetModels needs at least two models".into(),
                ))
            }
            (None, Some(names)) => {
                if let Some(n) = names.iter().find(|n| !weights.contains_key(*n)) {
                    return Err(TaskError::InvalidInput(format!(
                        "variant {n:?} is not on endpoint {} (variants: {})",
                        endpoint.name,
                        weights.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
                Arms::Variants(names.clone())
            }
            (None, None) => Arms::Variants(weights.keys().cloned().collect()),
        };
        if arms.names().len() < 2 {
            return Err(TaskError::InsufficientData(format!(
                "endpoint {} has one variant; an A/B evaluation needs a challenger",
                endpoint.name
            )));
        }
        let experiment_key = input
            .experiment_key
            .clone()
            .unwrap_or_else(|| default_experiment_key(input, arms.names()));
        Ok(Self {
            arms,
            weights,
            experiment_key,
            metrics: tracked_metrics(&input.policy),
        })
    }

    /// The weights of the compared arms (models of a multi-model endpoint weigh 1 each).
    fn arm_weights(&self) -> BTreeMap<String, f64> {
        match &self.arms {
            Arms::Variants(names) => names
                .iter()
                .map(|n| (n.clone(), self.weights.get(n).copied().unwrap_or(0.0)))
                .collect(),
            Arms::Models(models) => models.iter().map(|m| (m.clone(), 1.0)).collect(),
        }
    }
}

/// This look's outcome, as the record keeps it.
struct Look<'a> {
    rows: u64,
    objects: &'a [ObjectSummary],
    decision: &'a Decision,
    applied: bool,
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
    let key = &plan.experiment_key;
    let (record, etag) = match store.get_object(&input.test_bucket, key).await {
        Ok(o) => {
            let r: ExperimentRecord = serde_json::from_slice(&o.body).map_err(|e| {
                TaskError::InvalidInput(format!(
                    "experiment record s3://{}/{key} is corrupt: {e}",
                    input.test_bucket
                ))
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
        Err(e) => return Err(port(format!("GetObject s3://{}/{key}", input.test_bucket))(e)),
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

/// Every labelled row of the new objects; 0/1 labels where a metric needs classes.
async fn read_new_rows(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    plan: &Plan,
    objects: &[ObjectSummary],
) -> Result<Vec<LabelledRow>, TaskError> {
    let mut rows: Vec<LabelledRow> = Vec::new();
    for o in objects {
        rows.extend(read_test_rows(store, &input.test_bucket, &o.key).await?);
    }
    if needs_classes(&plan.metrics) {
        if let Some((bad, row)) = rows
            .iter()
            .enumerate()
            .find(|(_, r)| r.label != 0.0 && r.label != 1.0)
        {
            return Err(TaskError::InvalidInput(format!(
                "{} needs 0/1 labels, but new test row {} has label {}",
                input.policy.primary_metric,
                bad + 1,
                row.label
            )));
        }
    }
    Ok(rows)
}

/// Scores the rows on every arm (at most `maxConcurrency` requests in flight) and adds
/// them to the record; returns how many rows this look added.
async fn score_look(
    runtime: &dyn Runtime,
    input: &EvaluateVariantsInput,
    plan: &Plan,
    rows: &[LabelledRow],
    format: Format,
    record: &mut ExperimentRecord,
) -> Result<u64, TaskError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let predictions = score(runtime, input, &plan.arms, rows, format).await?;
    let labels: Vec<f64> = rows.iter().map(|r| r.label).collect();
    accumulate(record, &plan.metrics, &labels, &predictions, input.policy.alpha)?;
    record.looks += 1;
    record.rows += labels.len() as u64;
    Ok(labels.len() as u64)
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
        decision.reason = "hold: no new labelled test data since the last look".into();
    }
    Ok(decision)
}

/// Writes the record with this look (its objects marked seen) by a conditional put: if
/// another evaluation committed first, this look is `Weighbridge.Conflict` and changes
/// nothing.
async fn commit_look(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    plan: &Plan,
    record: &mut ExperimentRecord,
    etag: Option<String>,
    look: &Look<'_>,
) -> Result<(), TaskError> {
    for o in look.objects {
        record.seen.insert(o.key.clone(), o.etag.clone());
    }
    if look.rows > 0 {
        record.history.push(LookRecord {
            look: record.looks,
            rows: look.rows,
            action: look.decision.action,
            weights: look.decision.weights.clone(),
            applied: look.applied,
        });
    }
    let key = &plan.experiment_key;
    let body = serde_json::to_vec_pretty(&record).map_err(crate::error::unserialisable)?;
    let condition = etag.map_or(PutCondition::IfAbsent, PutCondition::IfMatch);
    store
        .put_object(&input.test_bucket, key, body, condition)
        .await
        .map(|_| ())
        .map_err(|e| match e {
            PortError::PreconditionFailed(_) => TaskError::Conflict(format!(
                "another evaluation updated s3://{}/{key} first; this look was not committed, retry",
                input.test_bucket
            )),
            other => port(format!("PutObject s3://{}/{key}", input.test_bucket))(other),
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

/// Reads one labelled test object as a byte stream, parsing lines as chunks arrive.
async fn read_test_rows(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
) -> Result<Vec<LabelledRow>, TaskError> {
    let what = || format!("GetObject s3://{bucket}/{key}");
    let mut object = store.get_object_chunks(bucket, key).await.map_err(port(what()))?;
    let mut reader = LabelledRowReader::default();
    let bad = |e: weighbridge_core::CoreError| TaskError::InvalidPayload(format!("test object {key}: {e}"));
    while let Some(chunk) = object.chunks.next().await {
        reader.feed(&chunk.map_err(port(what()))?).map_err(bad)?;
    }
    reader.finish().map_err(bad)
}

/// An upper bound of a row's encoded size: a formatted f64 takes at most 24 characters
/// plus a separator; JSON Lines adds `{"features":[]}` and a newline.
fn size_bound(row: &LabelledRow) -> usize {
    row.features.len() * 25 + 18
}

/// Splits rows into request ranges of at most `batch_rows` rows and 6 MB (by the size
/// bound, so the bodies can be encoded later, while earlier requests are in flight).
fn batch_ranges(
    rows: &[LabelledRow],
    batch_rows: usize,
    format: Format,
) -> Result<Vec<Range<usize>>, TaskError> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, row) in rows.iter().enumerate() {
        let mut bound = size_bound(row);
        if bound > MAX_PAYLOAD_BYTES {
            // Rare: measure the row exactly before refusing it.
            bound = encode_rows(&[&row.features], format)?.len();
            if bound > MAX_PAYLOAD_BYTES {
                return Err(TaskError::InvalidInput(format!(
                    "test row {} encodes to {bound} bytes, over InvokeEndpoint's 6 MB limit",
                    i + 1
                )));
            }
        }
        if i > start && (i - start == batch_rows || size + bound > MAX_PAYLOAD_BYTES) {
            out.push(start..i);
            start = i;
            size = 0;
        }
        size += bound;
    }
    if start < rows.len() {
        out.push(start..rows.len());
    }
    Ok(out)
}

/// Scores every row with every arm; returns arm → predictions in row order. Calls go
/// batch by batch (every arm on batch 0, then batch 1, …); each body is encoded once,
/// by the first call that needs it, so encoding overlaps the requests in flight.
async fn score(
    runtime: &dyn Runtime,
    input: &EvaluateVariantsInput,
    arms: &Arms,
    rows: &[LabelledRow],
    format: Format,
) -> Result<BTreeMap<String, Vec<f64>>, TaskError> {
    let ranges = batch_ranges(rows, input.batch_rows, format)?;
    let bodies: Vec<OnceLock<Result<Vec<u8>, TaskError>>> = ranges.iter().map(|_| OnceLock::new()).collect();
    let calls: Vec<(usize, String)> = (0..ranges.len())
        .flat_map(|b| arms.names().iter().map(move |arm| (b, arm.clone())))
        .collect();
    let results: Vec<(String, usize, Vec<f64>)> = stream::iter(calls)
        .map(|(batch, arm)| {
            let (range, bodies) = (ranges[batch].clone(), &bodies);
            async move {
                let (start, count) = (range.start, range.len());
                let body = bodies[batch]
                    .get_or_init(|| {
                        let features: Vec<&[f64]> = rows[range.clone()]
                            .iter()
                            .map(|r| r.features.as_slice())
                            .collect();
                        encode_rows(&features, format)
                            .map(String::into_bytes)
                            .map_err(TaskError::from)
                    })
                    .as_ref()
                    .map_err(Clone::clone)?;
                let (target_variant, target_model) = match arms {
                    Arms::Variants(_) => (Some(arm.clone()), None),
                    Arms::Models(_) => (None, Some(arm.clone())),
                };
                let request = InvokeRequest {
                    endpoint: input.endpoint_name.clone(),
                    body: body.clone(),
                    content_type: format.content_type().into(),
                    accept: Some(format.content_type().into()),
                    target_variant,
                    target_model,
                };
                let response = runtime
                    .invoke_endpoint(&request)
                    .await
                    .map_err(port(format!("InvokeEndpoint {} ({arm})", input.endpoint_name)))?;
                let answer_format = response
                    .content_type
                    .as_deref()
                    .and_then(|c| Format::from_content_type(c).ok())
                    .unwrap_or_else(|| Format::sniff(&String::from_utf8_lossy(&response.body)));
                let text = String::from_utf8(response.body).map_err(|_| {
                    TaskError::InvalidPayload(format!("{arm} answered with a body that is not UTF-8"))
                })?;
                let predictions = decode_predictions(&text, answer_format).map_err(|e| {
                    TaskError::InvalidPayload(format!("{arm} rows {}..{}: {e}", start + 1, start + count))
                })?;
                if predictions.len() != count {
                    return Err(TaskError::InvalidPayload(format!(
                        "{arm} returned {} predictions for {count} rows (rows {}..{})",
                        predictions.len(),
                        start + 1,
                        start + count
                    )));
                }
                Ok::<_, TaskError>((arm, start, predictions))
            }
        })
        .buffer_unordered(input.max_concurrency)
        .try_collect()
        .await?;
    let mut out: BTreeMap<String, Vec<f64>> = arms
        .names()
        .iter()
        .map(|a| (a.clone(), vec![f64::NAN; rows.len()]))
        .collect();
    for (arm, start, predictions) in results {
        if let Some(slot) = out
            .get_mut(&arm)
            .and_then(|v| v.get_mut(start..start + predictions.len()))
        {
            slot.copy_from_slice(&predictions);
        }
    }
    Ok(out)
}

/// Adds this look's rows to the record: per-arm metrics and per-challenger evidence.
fn accumulate(
    record: &mut ExperimentRecord,
    metrics: &[String],
    labels: &[f64],
    predictions: &BTreeMap<String, Vec<f64>>,
    alpha: f64,
) -> Result<(), TaskError> {
    let classes = needs_classes(metrics);
    let both_classes = labels.contains(&0.0) && labels.contains(&1.0);
    let rows = labels.len() as u64;
    for (arm, p) in predictions {
        let v = record.variants.entry(arm.clone()).or_default();
        let mut cls = v
            .classification
            .clone()
            .unwrap_or_else(|| ClassificationAccumulator::new(0.5));
        for (&pi, &yi) in p.iter().zip(labels) {
            v.regression.push(pi, yi);
            if classes {
                cls.push(pi, yi);
            }
        }
        if classes {
            v.classification = Some(cls);
        }
    }
    let champion = &predictions[&record.champion];
    let mut champion_auc_added = false;
    for (arm, p) in predictions.iter().filter(|(a, _)| **a != record.champion) {
        // One DeLong per challenger and look gives both AUCs, their own SEs and the
        // paired difference: the only sort of the scores this look needs.
        let look_auc = match (classes && both_classes).then(|| delong(champion, p, labels, alpha)) {
            Some(Ok(d)) => Some(d),
            Some(Err(weighbridge_core::CoreError::InsufficientData(_))) | None => None,
            Some(Err(e)) => return Err(e.into()),
        };
        if let Some(d) = &look_auc {
            record
                .variants
                .entry(arm.clone())
                .or_default()
                .auc
                .add_look(d.auc_b, d.se_b, rows);
            if !champion_auc_added {
                let c = record.variants.entry(record.champion.clone()).or_default();
                c.auc.add_look(d.auc_a, d.se_a, rows);
                champion_auc_added = true;
            }
        }
        let per_metric = record.comparisons.entry(arm.clone()).or_default();
        for metric in metrics {
            if let Some((loss, statistic)) = loss_metric(metric) {
                let entry = per_metric
                    .entry(metric.clone())
                    .or_insert_with(|| Evidence::Moments {
                        statistic,
                        moments: PairedLossMoments::default(),
                    });
                if let Evidence::Moments { moments, .. } = entry {
                    for ((&a, &b), &y) in champion.iter().zip(p).zip(labels) {
                        moments.push(loss(a, y), loss(b, y));
                    }
                }
            } else if let Some(d) = &look_auc {
                // AUC: this look's DeLong estimate joins the pooled evidence.
                let entry = per_metric
                    .entry(metric.clone())
                    .or_insert_with(|| Evidence::Pooled {
                        pooled: PooledEstimate::default(),
                    });
                if let Evidence::Pooled { pooled } = entry {
                    pooled.add_look(d.difference, d.se, rows);
                }
            }
        }
    }
    Ok(())
}

/// The value of `metric` for an arm so far.
fn metric_value(v: &VariantRecord, metric: &str) -> Option<f64> {
    let r = v.regression.finish();
    let c = v.classification.as_ref().and_then(|c| c.finish());
    match metric {
        "rmse" => r.map(|m| m.rmse),
        "mae" => r.map(|m| m.mae),
        "log_loss" => c.map(|m| m.log_loss),
        "accuracy" => c.map(|m| m.accuracy),
        "auc" => v.auc.estimate().map(|(auc, _)| auc),
        _ => None,
    }
}

/// A pointwise (1 − alpha) interval of an arm's metric so far: from the arm's side of
/// its paired moments for mean-of-loss metrics, from the pooled per-look DeLong
/// variance for AUC. Only the compared metrics (primary and guardrails) have one.
fn metric_interval(record: &ExperimentRecord, arm: &str, metric: &str, alpha: f64) -> Option<(f64, f64)> {
    if metric == "auc" {
        let (auc, se) = record.variants.get(arm)?.auc.estimate()?;
        let half = weighbridge_core::normal::quantile(1.0 - alpha / 2.0) * se;
        return Some(((auc - half).max(0.0), (auc + half).min(1.0)));
    }
    let (challenger, as_champion) = if arm == record.champion {
        (record.comparisons.keys().next()?.as_str(), true)
    } else {
        (arm, false)
    };
    match record.comparisons.get(challenger)?.get(metric)? {
        Evidence::Moments { statistic, moments } if as_champion => moments.interval_a(*statistic, alpha),
        Evidence::Moments { statistic, moments } => moments.interval_b(*statistic, alpha),
        Evidence::Pooled { .. } => None,
    }
}

fn challenger_evidence(
    record: &ExperimentRecord,
    arms: &Arms,
    metrics: &[String],
) -> Vec<ChallengerEvidence> {
    let champion = record.variants.get(&record.champion);
    arms.names()
        .iter()
        .filter(|a| **a != record.champion)
        .filter_map(|arm| {
            let evidence_for = |metric: &String| {
                let (difference, se, rows) = record.evidence(arm, metric)?;
                Some(MetricEvidence {
                    metric: metric.clone(),
                    champion_value: champion.and_then(|c| metric_value(c, metric)).unwrap_or(0.0),
                    difference,
                    se,
                    rows,
                })
            };
            Some(ChallengerEvidence {
                variant: arm.clone(),
                primary: evidence_for(&metrics[0])?,
                guardrails: metrics[1..].iter().filter_map(evidence_for).collect(),
            })
        })
        .collect()
}

fn variant_reports(
    record: &ExperimentRecord,
    arms: &[String],
    metrics: &[String],
    alpha: f64,
) -> Vec<VariantReport> {
    let mut shown: Vec<String> = vec!["rmse".into(), "mae".into()];
    if needs_classes(metrics) {
        shown = vec!["auc".into(), "log_loss".into(), "accuracy".into()];
    }
    arms.iter()
        .map(|arm| {
            let v = record.variants.get(arm).cloned().unwrap_or_default();
            VariantReport {
                variant: arm.clone(),
                rows: v.regression.rows(),
                metrics: shown
                    .iter()
                    .filter_map(|m| Some((m.clone(), metric_value(&v, m)?)))
                    .collect(),
                intervals: metrics
                    .iter()
                    .filter_map(|m| Some((m.clone(), metric_interval(record, arm, m, alpha)?)))
                    .collect(),
            }
        })
        .collect()
}

/// Per-arm metrics to CloudWatch (dimensions EndpointName and VariantName/ModelName).
async fn publish(
    sink: &dyn MetricSink,
    input: &EvaluateVariantsInput,
    arms: &Arms,
    reports: &[VariantReport],
) -> Result<(), TaskError> {
    let dimension = match arms {
        Arms::Variants(_) => "VariantName",
        Arms::Models(_) => "TargetModel",
    };
    let mut data = Vec::new();
    for r in reports {
        let dimensions = vec![
            ("EndpointName".to_string(), input.endpoint_name.clone()),
            (dimension.to_string(), r.variant.clone()),
        ];
        data.push(MetricDatum {
            name: "EvaluatedRows".into(),
            value: r.rows as f64,
            unit: "Count".into(),
            dimensions: dimensions.clone(),
        });
        for (name, value) in &r.metrics {
            data.push(MetricDatum {
                name: name.to_uppercase(),
                value: *value,
                unit: "None".into(),
                dimensions: dimensions.clone(),
            });
        }
    }
    for chunk in data.chunks(MAX_DATUMS_PER_PUT) {
        sink.put_metric_data(&input.namespace, chunk)
            .await
            .map_err(port(format!("PutMetricData {}", input.namespace)))?;
    }
    Ok(())
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
        let all = Plan::resolve(&input(serde_json::json!({})), &e).unwrap();
        assert_eq!(all.arms.names().len(), 3);
        assert!(
            all.experiment_key.starts_with("t/_experiment/e-"),
            "{}",
            all.experiment_key
        );
        assert_eq!(all.metrics, vec!["rmse".to_string()]);
        let two = Plan::resolve(
            &input(serde_json::json!({"variants": ["champion", "challenger"]})),
            &e,
        )
        .unwrap();
        assert_eq!(two.arm_weights().len(), 2);
        assert_ne!(
            two.experiment_key, all.experiment_key,
            "another set of arms, another experiment"
        );
        let unknown = Plan::resolve(
            &input(serde_json::json!({"variants": ["champion", "nobody"]})),
            &e,
        );
        assert!(unknown.unwrap_err().to_string().contains("is not on endpoint e"));
        let alone = Plan::resolve(&input(serde_json::json!({})), &endpoint(&[("only", 1.0)]));
        assert_eq!(alone.unwrap_err().name(), "Weighbridge.InsufficientData");
    }

    #[test]
    fn batches_respect_rows_and_cover_every_row() {
        let rows: Vec<LabelledRow> = (0..1001)
            .map(|i| LabelledRow {
                label: 0.0,
                features: vec![i as f64, 1.5],
            })
            .collect();
        let b = batch_ranges(&rows, 250, Format::Csv).unwrap();
        assert_eq!(
            b.iter().map(|r| r.start).collect::<Vec<_>>(),
            vec![0, 250, 500, 750, 1000]
        );
        assert_eq!(b.iter().map(|r| r.len()).sum::<usize>(), 1001);
    }

    #[test]
    fn batches_stay_under_six_megabytes() {
        let wide = LabelledRow {
            label: 1.0,
            features: vec![0.123_456_789; 100_000],
        };
        let rows = vec![wide; 8];
        let b = batch_ranges(&rows, 500, Format::Csv).unwrap();
        assert!(b.len() > 1);
        for r in b {
            let features: Vec<&[f64]> = rows[r].iter().map(|x| x.features.as_slice()).collect();
            assert!(encode_rows(&features, Format::Csv).unwrap().len() <= MAX_PAYLOAD_BYTES);
        }
    }
}
