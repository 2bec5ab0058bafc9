//! The live source (`source: {type: "capture"}`): the endpoint's own traffic as
//! evidence. Each look, as named steps: resolve the capture location and the look's
//! time → open the experiment's live state (its first hour, its weight windows) → count
//! the requests each variant captured in the hours closed since the last look and test
//! them against the weights (SRM) → join the captures whose label delay has passed with
//! the ground truth → add each window's two-sample evidence to the record.
//!
//! **Why captures wait for their whole label delay.** A capture is evaluated once, at
//! the first look after its hour plus `maxLabelDelayHours` has passed, joined with every
//! label written until then; a label later than that does not count and the capture
//! counts as unlabelled. So no capture is counted twice or held in the record while it
//! waits, and the coverage (labelled / captured) of every evaluated hour is final.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use weighbridge_core::capture::parse_ground_truth_line;
use weighbridge_core::CoreError;

use super::hours::{count_lines, hour_of, lines_of, list_hours, partition, start_of, Hour};
use super::join::{add_evidence, join_captures};
use super::labels::LabelIndex;
use super::*;
use crate::experiment::{LiveState, WeightWindow};
use crate::ports::DataCapture;

/// The most malformed lines a look names in its error or report.
const NAMED_PROBLEMS: usize = 5;

/// Where the live evidence is, resolved for one look.
pub(super) struct Location {
    /// The capture bucket and `<prefix>/<endpoint>/` (variants and hours below it).
    pub(super) capture_bucket: String,
    pub(super) endpoint_prefix: String,
    /// The ground-truth bucket and prefix (hours below it).
    pub(super) truth_bucket: String,
    pub(super) truth_prefix: String,
    /// The capture's sampling percentage (from the endpoint config, if it says).
    pub(super) sampling_percentage: Option<u32>,
    /// The look's time.
    pub(super) as_of: DateTime<Utc>,
    /// When the endpoint's current config took over (`LastModifiedTime`), if known.
    pub(super) config_since: Option<DateTime<Utc>>,
}

/// The capture location and the look's time: the input's, else the endpoint config's
/// `DataCaptureConfig` and the clock.
pub(super) async fn locate(
    sagemaker: &dyn SageMaker,
    endpoint: &EndpointDescription,
    source: &CaptureSource,
    as_of: DateTime<Utc>,
) -> Result<Location, TaskError> {
    let config = sagemaker
        .describe_endpoint_config(&endpoint.config_name)
        .await
        .map_err(port(format!("DescribeEndpointConfig {}", endpoint.config_name)))?;
    let capture: Option<&DataCapture> = config.data_capture.as_ref();
    let uri = match (&source.capture_uri, capture) {
        (Some(uri), _) => uri.clone(),
        (None, Some(c)) => c.destination_s3_uri.clone(),
        (None, None) => {
            return Err(TaskError::InvalidInput(format!(
                "endpoint {} does not capture (its config {} has no DataCaptureConfig); deploy with dataCapture or set source.captureUri",
                endpoint.name, endpoint.config_name
            )))
        }
    };
    let (capture_bucket, prefix) = validation::s3_uri("source.captureUri", &uri)?;
    let (truth_bucket, truth_prefix) = validation::s3_uri("source.groundTruthUri", &source.ground_truth_uri)?;
    Ok(Location {
        capture_bucket,
        endpoint_prefix: endpoint_capture_prefix(&prefix, &endpoint.name),
        truth_bucket,
        truth_prefix: slash(&truth_prefix),
        sampling_percentage: capture.map(|c| c.sampling_percentage),
        as_of,
        config_since: endpoint.last_modified,
    })
}

impl Location {
    /// The look's hour bounds: the end of the hours closed (settled) by its time, and
    /// the end of those whose captures' label delay has passed.
    pub(super) fn look_hours(&self, source: &CaptureSource) -> (Hour, Hour) {
        let closed_end = hour_of(self.as_of - Duration::minutes(i64::from(source.settle_minutes)));
        let matured_end = closed_end.min(hour_of(
            self.as_of - Duration::hours(i64::from(source.max_label_delay_hours)),
        ));
        (closed_end, matured_end)
    }

    /// An arm's capture objects in `hours` (each with its hour), listed by exact hour
    /// prefixes under `<prefix>/<endpoint>/<arm>/`.
    pub(super) async fn arm_captures(
        &self,
        store: &dyn ObjectStore,
        arm: &str,
        hours: std::ops::Range<Hour>,
        concurrency: usize,
    ) -> Result<Vec<(Hour, ObjectSummary)>, TaskError> {
        let prefix = format!("{}{arm}/", self.endpoint_prefix);
        list_hours(store, &self.capture_bucket, &prefix, hours, concurrency).await
    }
}

fn slash(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    }
}

/// The record's key by default: `<capture prefix>/_experiment/<endpoint>-<arms>.json`
/// (`_` cannot begin an endpoint name, so it never mixes with captures).
pub(super) fn default_experiment_key(location: &Location, endpoint: &str, arms: &[String]) -> String {
    capture_experiment_key(&location.endpoint_prefix, endpoint, arms)
}

/// The same from the endpoint's capture prefix (`<prefix>/<endpoint>/`): how an alarm
/// rollback finds the record of the experiment it interrupts.
pub(crate) fn capture_experiment_key(endpoint_prefix: &str, endpoint: &str, arms: &[String]) -> String {
    let mut sorted: Vec<&str> = arms.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let base = endpoint_prefix.trim_end_matches(&format!("{endpoint}/"));
    format!(
        "{base}_experiment/{endpoint}-{:016x}.json",
        crate::names::fingerprint(&sorted)
    )
}

/// `<capture prefix>/<endpoint>/` for a capture destination's prefix.
pub(crate) fn endpoint_capture_prefix(prefix: &str, endpoint: &str) -> String {
    format!("{}{endpoint}/", slash(prefix))
}

/// What one live look read and learned, for the record, the decision and the report.
#[derive(Debug, Default)]
pub(super) struct LiveLookSummary {
    /// Labelled rows added per arm.
    pub(super) rows: BTreeMap<String, u64>,
    /// Requests counted for SRM per arm (captured, not corrected for sampling).
    pub(super) requests: BTreeMap<String, u64>,
    /// Objects read (captures and ground truth).
    pub(super) objects: Vec<ObjectSummary>,
    /// Malformed lines named (object, line, problem), at most [`NAMED_PROBLEMS`].
    pub(super) problems: Vec<String>,
    /// Malformed lines this look.
    pub(super) malformed: u64,
    /// Join keys labelled twice with different labels (dropped) this look.
    pub(super) label_conflicts: u64,
    /// The hours evaluated (`[from, to)`), if any.
    pub(super) evidence_hours: Option<(Hour, Hour)>,
}

/// One live look over the record: the matured evidence, then the SRM counts of the
/// hours closed since the last look. Mutates the record only in memory; the caller
/// commits it.
pub(super) async fn live_look(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    source: &CaptureSource,
    plan: &Plan,
    location: &Location,
    record: &mut ExperimentRecord,
) -> Result<LiveLookSummary, TaskError> {
    let arms = plan.arms.names().to_vec();
    let mut state = take_state(store, input, source, location, plan, record).await?;
    follow_weights(&mut state, &plan.arm_weights(), hour_of(location.as_of));
    if source.acknowledge_srm && state.srm.flagged_at_window.is_some() {
        state.srm.reset();
    }
    let (closed_end, matured_end) = location.look_hours(source);
    let mut summary = LiveLookSummary::default();
    // The evidence first: its pass over the matured captures also counts their requests,
    // so an hour both checks need (a first look, a look after a pause) is read once.
    let mut counted = Counted::default();
    if matured_end > state.evidence_hour {
        let hours = state.evidence_hour..matured_end;
        let labels = read_ground_truth(
            store,
            input,
            location,
            state.evidence_hour..closed_end,
            &mut summary,
        )
        .await?;
        let mut joined = join_captures(
            store,
            input,
            location,
            &arms,
            hours.clone(),
            &labels,
            &state,
            &plan.metrics,
            &mut summary,
        )
        .await?;
        check_malformed(source, &summary, joined.lines)?;
        counted = Counted {
            hours: hours.clone(),
            lines: std::mem::take(&mut joined.lines_by),
        };
        add_evidence(record, &mut state, &plan.metrics, joined, &mut summary)?;
        summary.evidence_hours = Some((hours.start, hours.end));
        state.evidence_hour = matured_end;
    }
    count_requests(
        store,
        input,
        source,
        location,
        &arms,
        &mut state,
        closed_end,
        &counted,
        &mut summary,
    )
    .await?;
    state.malformed += summary.malformed;
    record.live = Some(state);
    Ok(summary)
}

/// The experiment's live state, taken out of the record (the caller puts it back), or
/// a new one.
pub(super) async fn take_state(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    source: &CaptureSource,
    location: &Location,
    plan: &Plan,
    record: &mut ExperimentRecord,
) -> Result<LiveState, TaskError> {
    match record.live.take() {
        Some(state) => Ok(state),
        None => open_state(store, input, source, location, plan).await,
    }
}

/// A new experiment's live state: its first hour (`startAt`, else the first full hour
/// after every variant has captured, within `lookbackHours`) and its first window.
async fn open_state(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    source: &CaptureSource,
    location: &Location,
    plan: &Plan,
) -> Result<LiveState, TaskError> {
    let now = hour_of(location.as_of);
    // Never before the endpoint's current config: after a graduation the same names
    // served other shares (a shadow's mirrored requests), which are not this experiment's.
    let config_start = location.config_since.map_or(i64::MIN, |t| hour_of(t) + 1);
    let start = match source.start_at()? {
        Some(t) => hour_of(t),
        None => first_shared_hour(
            store,
            input,
            location,
            plan.arms.names(),
            now - i64::from(source.lookback_hours),
            now,
        )
        .await?
        .map_or(now, |h| h + 1)
        .max(config_start.min(now)),
    };
    Ok(LiveState {
        started_hour: start,
        srm_hour: start,
        evidence_hour: start,
        windows: vec![WeightWindow {
            from_hour: start,
            weights: shares(&plan.arm_weights()),
        }],
        ..LiveState::default()
    })
}

/// The first hour in `[from, to)` in which every arm has a capture object.
async fn first_shared_hour(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    location: &Location,
    arms: &[String],
    from: Hour,
    to: Hour,
) -> Result<Option<Hour>, TaskError> {
    let mut first: Option<Hour> = None;
    for arm in arms {
        let listed = location
            .arm_captures(store, arm, from..to, input.max_concurrency)
            .await?;
        let Some(&(hour, _)) = listed.first() else {
            return Ok(None);
        };
        first = Some(first.map_or(hour, |f| f.max(hour)));
    }
    Ok(first)
}

/// When the endpoint's weights differ from the current window's (a shift this
/// experiment applied, or a change made outside it), a new window starts this hour.
fn follow_weights(state: &mut LiveState, weights: &BTreeMap<String, f64>, hour: Hour) {
    let now = shares(weights);
    let same = state.windows.last().is_some_and(|w| {
        let was = shares(&w.weights);
        was.len() == now.len()
            && was
                .iter()
                .all(|(k, v)| now.get(k).is_some_and(|x| (x - v).abs() <= 1e-9))
    });
    if !same {
        state.windows.push(WeightWindow {
            from_hour: hour.max(state.windows.last().map_or(hour, |w| w.from_hour)),
            weights: now,
        });
    }
}

/// Weights as shares of their sum (SageMaker's weights are relative).
pub(super) fn shares(weights: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let total: f64 = weights.values().sum();
    weights
        .iter()
        .map(|(k, &v)| (k.clone(), if total > 0.0 { v / total } else { 0.0 }))
        .collect()
}

/// Counts the requests each arm captured in the hours closed since the last look, per
/// window, and tests each window against its weights. The hour a window starts in
/// (other than the first) served both weights and is left out.
#[allow(clippy::too_many_arguments)] // the look's parts, each read once
async fn count_requests(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    source: &CaptureSource,
    location: &Location,
    arms: &[String],
    state: &mut LiveState,
    closed_end: Hour,
    counted: &Counted,
    summary: &mut LiveLookSummary,
) -> Result<(), TaskError> {
    if closed_end <= state.srm_hour {
        return Ok(());
    }
    let mut per_window: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for (i, arm) in arms.iter().enumerate() {
        // Hours the evidence pass read are counted already (0 where it found no object).
        let mut by_hour: BTreeMap<Hour, u64> = counted
            .lines
            .iter()
            .filter(|((a, h), _)| a == arm && (state.srm_hour..closed_end).contains(h))
            .map(|((_, h), n)| (*h, *n))
            .collect();
        let listed = location
            .arm_captures(store, arm, state.srm_hour..closed_end, input.max_concurrency)
            .await?;
        for (hour, object) in listed {
            if !counted.hours.contains(&hour) {
                *by_hour.entry(hour).or_default() +=
                    count_lines(store, &location.capture_bucket, &object.key).await?;
            }
        }
        for (hour, lines) in by_hour {
            let Some(window) = state.window_of(hour) else {
                continue;
            };
            if window > 0 && state.windows[window].from_hour == hour {
                continue;
            }
            per_window.entry(window).or_insert_with(|| vec![0; arms.len()])[i] += lines;
            *summary.requests.entry(arm.clone()).or_default() += lines;
        }
    }
    for (window, counts) in per_window {
        let weights: Vec<f64> = arms
            .iter()
            .map(|a| state.windows[window].weights.get(a).copied().unwrap_or(0.0))
            .collect();
        state.srm.add_window(
            &counts,
            &weights,
            weighbridge_core::srm::DEFAULT_CONCENTRATION,
            source.srm_alpha,
        )?;
    }
    for (arm, n) in &summary.requests {
        *state.requests.entry(arm.clone()).or_default() += n;
    }
    state.srm_hour = closed_end;
    Ok(())
}

/// Requests the evidence pass counted: its hours, and lines per (arm, hour).
#[derive(Debug, Default)]
struct Counted {
    hours: std::ops::Range<Hour>,
    lines: BTreeMap<(String, Hour), u64>,
}

/// Every label written in `hours`, by join key (the first record of a key wins).
pub(super) async fn read_ground_truth(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    location: &Location,
    hours: std::ops::Range<Hour>,
    summary: &mut LiveLookSummary,
) -> Result<LabelIndex, TaskError> {
    let mut labels = LabelIndex::default();
    let listed = list_hours(
        store,
        &location.truth_bucket,
        &location.truth_prefix,
        hours,
        input.max_concurrency,
    )
    .await?;
    for (_, object) in listed {
        let parts = lines_of(
            store,
            &location.truth_bucket,
            &object,
            || (LabelIndex::default(), Problems::default()),
            |(labels, problems), n, line| match parse_ground_truth_line(line) {
                Ok(truth) => labels.insert(&truth.key, truth.labels),
                Err(e) => problems.add(&object.key, n, &e),
            },
        )
        .await?;
        for (part, problems) in parts {
            labels.absorb(part);
            problems.into_summary(summary);
        }
        summary.objects.push(object);
    }
    labels.finish();
    summary.label_conflicts += labels.conflicts;
    tracing::debug!(
        labels = labels.len(),
        conflicts = labels.conflicts,
        "ground truth read"
    );
    Ok(labels)
}

/// Malformed lines seen while reading one object, named by object and line.
#[derive(Default)]
pub(super) struct Problems {
    named: Vec<String>,
    count: u64,
}

impl Problems {
    pub(super) fn add(&mut self, key: &str, line: usize, e: &CoreError) {
        self.count += 1;
        if self.named.len() < NAMED_PROBLEMS {
            self.named.push(format!("{key} line {line}: {}", e.problem()));
        }
    }

    pub(super) fn into_summary(self, summary: &mut LiveLookSummary) {
        summary.malformed += self.count;
        let room = NAMED_PROBLEMS.saturating_sub(summary.problems.len());
        summary.problems.extend(self.named.into_iter().take(room));
    }
}

/// More malformed lines than `maxMalformedShare` of those read fail the look (nothing
/// is committed), naming the first few.
pub(super) fn check_malformed(
    source: &CaptureSource,
    summary: &LiveLookSummary,
    lines: u64,
) -> Result<(), TaskError> {
    if summary.malformed == 0
        || (summary.malformed as f64) <= source.max_malformed_share * lines.max(1) as f64
    {
        return Ok(());
    }
    Err(TaskError::InvalidPayload(format!(
        "{} of {lines} capture and ground-truth lines are malformed (more than maxMalformedShare {}); first: {}",
        summary.malformed,
        source.max_malformed_share,
        summary.problems.join("; ")
    )))
}

/// The requests an arm received, corrected for the capture's sampling percentage.
pub(super) fn estimated_requests(captured: u64, sampling_percentage: Option<u32>) -> f64 {
    match sampling_percentage {
        Some(p) if p > 0 => captured as f64 * 100.0 / f64::from(p),
        _ => captured as f64,
    }
}

/// The hour partitions of a range, for messages.
pub(super) fn hours_text(from: Hour, to: Hour) -> String {
    format!(
        "{} to {} (UTC)",
        partition(from),
        start_of(to).format("%Y/%m/%d/%H")
    )
}
