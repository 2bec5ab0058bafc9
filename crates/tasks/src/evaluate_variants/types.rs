//! The task's input (with both sources' settings) and output (with the live report):
//! every field documented, because these are what a state machine or a person writes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use weighbridge_core::policy::{Action, Decision, PolicyConfig};
use weighbridge_core::srm::SrmVerdict;

use crate::{validation, TaskError};

/// The task's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvaluateVariantsInput {
    /// The endpoint whose variants are compared (must be InService).
    pub endpoint_name: String,
    /// Where the evidence comes from: `{"type": "testSet"}` (default: the labelled test
    /// objects below, re-scored on every variant) or `{"type": "capture", …}` (the
    /// endpoint's live traffic from Data Capture, joined with ground truth).
    #[serde(default)]
    pub source: Source,
    /// `testSet`: bucket of the labelled test data: label-first CSV (no header), or JSON
    /// Lines `{"label": …, "features": […]}`.
    #[serde(default)]
    pub test_bucket: String,
    /// `testSet`: prefix of the test objects; each object is new evidence once.
    #[serde(default)]
    pub test_prefix: String,
    /// Where the experiment record lives (in the test bucket, or the capture bucket for
    /// `capture`). Default `<testPrefix>_experiment/<endpoint>-<hash of the compared
    /// arms>.json` (`<capture prefix>/_experiment/…` for `capture`): one experiment per
    /// set of arms, so after a promotion or rollback the next challenger starts a new
    /// experiment by itself.
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
    /// The look's time, RFC 3339 (the state machine passes `$$.State.EnteredTime`, so
    /// a retried look reads the same hours); default: the clock. The live source's
    /// hours are counted from it; a test-set look does not use it.
    #[serde(default)]
    pub as_of: Option<String>,
    /// For an endpoint with a shadow variant (its looks read `source: capture`): how long
    /// it may stay in shadow, how its records pair, its operational limits.
    #[serde(default)]
    pub shadow: ShadowSettings,
}

/// The settings of a shadow look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShadowSettings {
    /// Hours the shadow may run from the experiment's first hour before it is removed
    /// without a significant improvement (default 336: two weeks; SageMaker's own shadow
    /// tests run at most 30 days).
    #[serde(default = "two_weeks")]
    pub max_shadow_hours: u32,
    /// Largest relative increase of the shadow's mean `ModelLatency` over the production
    /// variant's before it is removed (default 0.2: 20 % slower).
    #[serde(default = "fifth")]
    pub max_latency_increase: f64,
    /// Largest increase of the shadow's `Invocation5XXErrors` per invocation over the
    /// production variant's (default 0.001: one more error per thousand requests).
    #[serde(default = "per_mille")]
    pub max_error_rate_increase: f64,
    /// Records without a shared `inferenceId` pair by request body within this many
    /// seconds of each other (default 60).
    #[serde(default = "minute")]
    pub pairing_window_seconds: u32,
    /// A graduating shadow's share of the traffic as a production variant, in (0, 1)
    /// (default 0.1): the weighted A/B that follows starts there. The workflow passes it
    /// to shift-weights `graduate` (output `graduation`).
    #[serde(default = "tenth")]
    pub graduate_share: f64,
    /// Graduate by replacing the production variant at once, without a weighted A/B
    /// (default false).
    #[serde(default)]
    pub graduate_by_promotion: bool,
    /// CloudWatch alarms put on a shadow that graduates into a weighted challenger (as
    /// deploy's `alarms`: 5xx rate, p99 latency against the champion's, optional custom
    /// metric; in ALARM, alarm-rollback takes it out). Absent: none.
    #[serde(default)]
    pub graduate_alarms: Option<crate::alarms::AlarmSettings>,
}

/// How a graduating shadow joins the production variants (the input's shadow settings,
/// echoed for the workflow's shift-weights `graduate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Graduation {
    /// Its share of the traffic.
    pub initial_share: f64,
    /// Whether it replaces the production variant at once.
    pub promote: bool,
    /// The alarms it gets as a weighted challenger (null: none).
    pub alarms: Option<crate::alarms::AlarmSettings>,
}

impl Default for ShadowSettings {
    fn default() -> Self {
        Self {
            max_shadow_hours: two_weeks(),
            max_latency_increase: fifth(),
            max_error_rate_increase: per_mille(),
            pairing_window_seconds: minute(),
            graduate_share: tenth(),
            graduate_by_promotion: false,
            graduate_alarms: None,
        }
    }
}

impl ShadowSettings {
    /// What the workflow passes to shift-weights `graduate`.
    pub fn graduation(&self) -> Graduation {
        Graduation {
            initial_share: self.graduate_share,
            promote: self.graduate_by_promotion,
            alarms: self.graduate_alarms.clone(),
        }
    }
}

fn two_weeks() -> u32 {
    336
}
fn fifth() -> f64 {
    0.2
}
fn per_mille() -> f64 {
    0.001
}
fn minute() -> u32 {
    60
}

/// Where a look's evidence comes from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Source {
    /// The labelled test objects under `testBucket`/`testPrefix`, re-scored on every
    /// variant (`TargetVariant`): paired, offline.
    #[default]
    TestSet,
    /// The endpoint's live traffic: Data Capture joined with ground truth.
    Capture(CaptureSource),
}

/// The live source's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaptureSource {
    /// `s3://bucket/prefix` Data Capture writes to (`DestinationS3Uri`); default: the
    /// endpoint config's. Captures are read from `<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/`.
    #[serde(default)]
    pub capture_uri: Option<String>,
    /// `s3://bucket/prefix` of the ground truth: JSON Lines in Model Monitor's merge
    /// format, under `<prefix>/yyyy/mm/dd/hh/` by the hour they are written.
    pub ground_truth_uri: String,
    /// Hours a capture waits for its label (default 24). A capture is evaluated once,
    /// this long after its hour; a label later than that does not count.
    #[serde(default = "day")]
    pub max_label_delay_hours: u32,
    /// The experiment's first hour, RFC 3339; default: the first full hour after every
    /// compared variant has captured, searched back `lookbackHours`.
    #[serde(default)]
    pub start_at: Option<String>,
    /// How far back a new experiment looks for its first hour (default 168: a week).
    #[serde(default = "week")]
    pub lookback_hours: u32,
    /// Minutes after an hour ends before its partition is read (capture files land a
    /// few minutes late; default 10).
    #[serde(default = "settle")]
    pub settle_minutes: u32,
    /// Share of malformed capture or ground-truth lines tolerated (skipped, counted and
    /// named); above it the look fails `Weighbridge.InvalidPayload` (default 0.01).
    #[serde(default = "one_percent")]
    pub max_malformed_share: f64,
    /// Largest difference in label coverage between the variants before the experiment
    /// holds: a variant whose labels arrive less often biases the comparison (default 0.1).
    #[serde(default = "tenth")]
    pub max_coverage_gap: f64,
    /// The SRM test's false-alarm level over the whole experiment (default 0.01).
    #[serde(default = "srm_alpha")]
    pub srm_alpha: f64,
    /// Clears a flagged SRM once its cause is fixed: the test starts over at this look.
    #[serde(default)]
    pub acknowledge_srm: bool,
}

fn day() -> u32 {
    24
}
fn week() -> u32 {
    168
}
fn settle() -> u32 {
    10
}
fn one_percent() -> f64 {
    0.01
}
fn tenth() -> f64 {
    0.1
}
fn srm_alpha() -> f64 {
    weighbridge_core::srm::DEFAULT_ALPHA
}

impl EvaluateVariantsInput {
    /// The look's time: `asOf`, else the clock.
    pub(super) fn look_time(&self) -> Result<chrono::DateTime<chrono::Utc>, TaskError> {
        Ok(rfc3339("asOf", self.as_of.as_deref())?.unwrap_or_else(chrono::Utc::now))
    }
}

impl CaptureSource {
    /// `startAt`, if set.
    pub(super) fn start_at(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, TaskError> {
        rfc3339("source.startAt", self.start_at.as_deref())
    }
}

/// An optional RFC 3339 time field.
fn rfc3339(field: &str, value: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, TaskError> {
    value
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| {
                    TaskError::InvalidInput(format!(
                        "{field} {} is not an RFC 3339 time such as 2026-12-01T10:00:00Z: {e}",
                        validation::shown(v)
                    ))
                })
        })
        .transpose()
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
    /// The experiment record's key (in the test bucket, or the capture bucket).
    pub experiment_key: String,
    /// The live source's look: requests, label coverage, SRM, malformed lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveReport>,
    /// A shadow look's pairing and operational checks (`action` is then `graduate`,
    /// `remove` or `hold`, and nothing on the endpoint changes: the workflow does it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowReport>,
    /// How a shadow graduates (from `shadow` in the input), present on every look so the
    /// workflow's graduate step can always read it.
    pub graduation: Graduation,
}

/// What a shadow look paired and measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShadowReport {
    /// The production variant (the champion).
    pub production: String,
    /// The shadow variant.
    pub shadow: String,
    /// Share of the production variant's requests mirrored (the shadow's weight over
    /// the production variant's).
    pub sampling_share: f64,
    /// Shadow records paired with their production record this look, by `inferenceId`.
    pub paired_by_inference_id: u64,
    /// The same, by request body within `pairingWindowSeconds`.
    pub paired_by_body: u64,
    /// Shadow records with no production partner this look (not counted as evidence):
    /// no `inferenceId` and no captured body, or the partner fell in an hour not read.
    pub unpaired_shadow: u64,
    /// Production records without a shadow record (most are simply not mirrored).
    pub unmirrored_production: u64,
    /// Paired requests with a label this look.
    pub labelled_pairs: u64,
    /// The operational checks (`ModelLatency`, `Invocation5XXErrors` per invocation).
    pub operational: Vec<weighbridge_core::shadow::OperationalCheck>,
    /// Hours since the experiment's first hour.
    pub hours_in_shadow: i64,
}

/// What a live look saw, for the report and the state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveReport {
    /// The look's time (RFC 3339).
    pub as_of: String,
    /// The capture hours whose labels were joined this look, if any matured.
    pub evidence_hours: Option<String>,
    /// Every compared variant's line.
    pub variants: Vec<LiveVariant>,
    /// The SRM monitor's verdict (it never clears by itself).
    pub srm: SrmVerdict,
    /// Malformed capture or ground-truth lines skipped this look.
    pub malformed: u64,
    /// The first of them, by object and line.
    pub problems: Vec<String>,
    /// Join keys labelled twice with different labels this look (dropped as ambiguous).
    pub label_conflicts: u64,
}

/// One variant's live line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveVariant {
    /// The variant.
    pub variant: String,
    /// Requests captured in the hours counted this look.
    pub captured_requests: u64,
    /// The requests it received, corrected for the sampling percentage.
    pub estimated_requests: f64,
    /// Labelled rows this look.
    pub labelled_rows: u64,
    /// Share of its matured captures with a label, so far.
    pub label_coverage: f64,
}
