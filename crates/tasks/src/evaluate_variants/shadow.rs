//! A shadow look: the endpoint's one production variant and its shadow answered the
//! same requests, so each labelled request is a **paired** row — the evidence of a
//! test-set look, from live traffic. As named steps: locate the capture → plan (the
//! shadow an arm at weight 0) → open the experiment → read both variants' matured
//! captures → pair them → join the pairs with the ground truth → paired evidence into
//! the record → operational checks from CloudWatch → decide (`graduate`, `remove`,
//! `hold`) → commit and report. Nothing on the endpoint changes here: graduating or
//! removing is a new endpoint config, which the workflow makes (shift-weights).
//!
//! **Pairing.** SageMaker does not document a key that a production record and its
//! shadow record share. So: a record pair shares the caller's `inferenceId` (callers
//! should pass one: it is also the ground truth's join key); without it, the pair has
//! the same captured request body (FNV-1a hash; needs `captureInput`) and
//! `inferenceTime`s within `pairingWindowSeconds`, the nearest unpaired production record
//! first. Shadow records that find no partner are counted, never guessed at; so are
//! production records without a shadow record (most simply were not mirrored).

use std::collections::{BTreeMap, HashMap};

use chrono::DateTime;
use weighbridge_core::capture::{parse_mirrored_line, MirroredResponse};
use weighbridge_core::shadow::{decide_shadow, OperationalCheck, ShadowEvidence};

use super::hours::{hour_of, lines_of, start_of, Hour};
use super::join::check_pair;
use super::live::{check_malformed, read_ground_truth, take_state, LiveLookSummary, Location, Problems};
use super::*;
use crate::experiment::LiveState;
use crate::ports::{MetricQuery, VariantState};

/// One look of a shadow experiment.
pub(super) async fn shadow_look(
    ports: &LookPorts<'_>,
    input: &EvaluateVariantsInput,
    source: &CaptureSource,
    endpoint: &EndpointDescription,
) -> Result<EvaluateVariantsOutput, TaskError> {
    let pair = ShadowPair::of(endpoint)?;
    let location = live::locate(ports.sagemaker, endpoint, source, input.look_time()?).await?;
    let planned = with_shadow_arm(endpoint, &pair);
    // A shadow experiment's record is its own: the A/B that may follow a graduation
    // compares the same names with unpaired evidence, in another record.
    let plan = Plan::resolve(input, &planned, &location.capture_bucket, &|arms| {
        let mut marked = arms.to_vec();
        marked.push("~shadow".into());
        live::default_experiment_key(&location, &input.endpoint_name, &marked)
    })?;
    let (mut record, etag) = load_record(ports.store, input, &plan).await?;
    let mut state = take_state(ports.store, input, source, &location, &plan, &mut record).await?;
    let (summary, mut report) = read_matured(
        ports.store,
        input,
        source,
        &plan,
        &location,
        &pair,
        &mut state,
        &mut record,
    )
    .await?;
    let look_rows = report.labelled_pairs;
    if look_rows > 0 {
        record.looks += 1;
        record.rows += look_rows;
    }
    report.operational = operational_checks(ports.metrics_sink, input, &location, &pair, &state).await?;
    report.hours_in_shadow = hour_of(location.as_of) - state.started_hour;
    record.live = Some(state);
    let decision = decide_look_in_shadow(input, &plan, &record, &pair, &report, look_rows)?;
    let look = Look {
        rows: look_rows,
        objects: &[],
        decision: &decision,
        applied: false,
        live: Some(live_checks::history_line(&record, &summary, &location)),
    };
    commit_look(ports.store, &plan, &mut record, etag, &look).await?;
    let live_report = live_checks::report(&record, &summary, &location, plan.arms.names());
    let mut out = finish_look(ports, input, &plan, &record, look).await?;
    out.new_objects = summary.objects.iter().map(|o| o.key.clone()).collect();
    out.live = Some(live_report);
    out.shadow = Some(report);
    Ok(out)
}

/// The endpoint's production variant and its shadow, and the share of requests mirrored.
struct ShadowPair {
    production: VariantState,
    shadow: VariantState,
    sampling_share: f64,
}

impl ShadowPair {
    fn of(endpoint: &EndpointDescription) -> Result<Self, TaskError> {
        match (endpoint.variants.as_slice(), endpoint.shadow_variants.as_slice()) {
            ([production], [shadow]) => Ok(Self {
                production: production.clone(),
                shadow: shadow.clone(),
                sampling_share: endpoint.mirrored_share().unwrap_or(1.0),
            }),
            _ => Err(TaskError::InvalidInput(format!(
                "endpoint {} has {} production and {} shadow variants; a shadow look needs exactly one of each, as SageMaker allows",
                endpoint.name,
                endpoint.variants.len(),
                endpoint.shadow_variants.len()
            ))),
        }
    }
}

/// The endpoint as the plan sees it: the shadow an arm at weight 0 (it serves no one).
fn with_shadow_arm(endpoint: &EndpointDescription, pair: &ShadowPair) -> EndpointDescription {
    let mut planned = endpoint.clone();
    planned.variants.push(VariantState {
        current_weight: 0.0,
        ..pair.shadow.clone()
    });
    planned.shadow_variants.clear();
    planned
}

/// Reads both variants' captures whose label delay has passed, pairs them, joins the
/// pairs with the labels and adds the paired evidence to the record.
#[allow(clippy::too_many_arguments)] // the look's parts, each read once
async fn read_matured(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    source: &CaptureSource,
    plan: &Plan,
    location: &Location,
    pair: &ShadowPair,
    state: &mut LiveState,
    record: &mut ExperimentRecord,
) -> Result<(LiveLookSummary, ShadowReport), TaskError> {
    let mut summary = LiveLookSummary::default();
    let mut report = ShadowReport {
        production: pair.production.name.clone(),
        shadow: pair.shadow.name.clone(),
        sampling_share: pair.sampling_share,
        paired_by_inference_id: 0,
        paired_by_body: 0,
        unpaired_shadow: 0,
        unmirrored_production: 0,
        labelled_pairs: 0,
        operational: Vec::new(),
        hours_in_shadow: 0,
    };
    let (closed_end, matured_end) = location.look_hours(source);
    if matured_end <= state.evidence_hour {
        return Ok((summary, report));
    }
    let hours = state.evidence_hour..matured_end;
    let labels = read_ground_truth(
        store,
        input,
        location,
        state.evidence_hour..closed_end,
        &mut summary,
    )
    .await?;
    let production = read_records(
        store,
        input,
        location,
        &pair.production.name,
        hours.clone(),
        &mut summary,
    )
    .await?;
    let shadow = read_records(
        store,
        input,
        location,
        &pair.shadow.name,
        hours.clone(),
        &mut summary,
    )
    .await?;
    let lines = (production.len() + shadow.len()) as u64 + summary.malformed;
    check_malformed(source, &summary, lines)?;
    let pairs = pair_records(
        &production,
        &shadow,
        input.shadow.pairing_window_seconds,
        &mut report,
    );
    let (labels_of_pairs, predictions) = join_pairs(
        &production,
        &shadow,
        &pairs,
        &labels,
        pair,
        needs_classes(&plan.metrics),
        &mut summary,
    );
    report.labelled_pairs = labels_of_pairs.len() as u64;
    accumulate_rows(record, &plan.metrics, &labels_of_pairs, &predictions);
    accumulate_auc(
        record,
        &plan.metrics,
        &labels_of_pairs,
        &predictions,
        input.policy.alpha,
    )?;
    for (arm, n) in [
        (&pair.production.name, production.len()),
        (&pair.shadow.name, shadow.len()),
    ] {
        *state.captured.entry(arm.clone()).or_default() += n as u64;
        *state.labelled.entry(arm.clone()).or_default() += report.labelled_pairs;
        summary.requests.insert(arm.clone(), n as u64);
        summary.rows.insert(arm.clone(), report.labelled_pairs);
    }
    summary.evidence_hours = Some((hours.start, hours.end));
    state.evidence_hour = matured_end;
    state.malformed += summary.malformed;
    Ok((summary, report))
}

/// One variant's capture records in `hours`, parsed on every core; malformed lines are
/// counted and named.
async fn read_records(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    location: &Location,
    arm: &str,
    hours: std::ops::Range<Hour>,
    summary: &mut LiveLookSummary,
) -> Result<Vec<MirroredResponse>, TaskError> {
    let mut records = Vec::new();
    for (_, object) in location
        .arm_captures(store, arm, hours, input.max_concurrency)
        .await?
    {
        let parts = lines_of(
            store,
            &location.capture_bucket,
            &object,
            || (Vec::new(), Problems::default()),
            |(records, problems): &mut (Vec<MirroredResponse>, Problems), n, line| match parse_mirrored_line(
                line,
            ) {
                Ok(r) => records.push(r),
                Err(e) => problems.add(&object.key, n, &e),
            },
        )
        .await?;
        for (part, problems) in parts {
            records.extend(part);
            problems.into_summary(summary);
        }
        summary.objects.push(object);
    }
    Ok(records)
}

/// Pairs each shadow record with a production record: the same `inferenceId`, else the
/// same request body within `window_seconds` (nearest first); answers (production,
/// shadow) index pairs and counts the rest in the report.
fn pair_records(
    production: &[MirroredResponse],
    shadow: &[MirroredResponse],
    window_seconds: u32,
    report: &mut ShadowReport,
) -> Vec<(usize, usize)> {
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut by_body: HashMap<u64, Vec<(i64, usize)>> = HashMap::new();
    for (i, r) in production.iter().enumerate() {
        if let Some(id) = r.inference_id.as_deref() {
            by_id.entry(id).or_insert(i);
        } else if let (Some(h), Some(t)) = (r.request_hash, millis(r)) {
            by_body.entry(h).or_default().push((t, i));
        }
    }
    let window = i64::from(window_seconds) * 1000;
    let mut taken = vec![false; production.len()];
    let mut pairs = Vec::with_capacity(shadow.len());
    for (j, r) in shadow.iter().enumerate() {
        let found = match r.inference_id.as_deref() {
            Some(id) => by_id
                .get(id)
                .copied()
                .filter(|&i| !taken[i])
                .inspect(|_| report.paired_by_inference_id += 1),
            None => nearest_by_body(&by_body, r, window, &taken).inspect(|_| report.paired_by_body += 1),
        };
        match found {
            Some(i) => {
                taken[i] = true;
                pairs.push((i, j));
            }
            None => report.unpaired_shadow += 1,
        }
    }
    report.unmirrored_production += (production.len() - pairs.len()) as u64;
    pairs
}

/// The unpaired production record with the same body nearest in time, within the window.
fn nearest_by_body(
    by_body: &HashMap<u64, Vec<(i64, usize)>>,
    record: &MirroredResponse,
    window: i64,
    taken: &[bool],
) -> Option<usize> {
    let (hash, time) = (record.request_hash?, millis(record)?);
    by_body
        .get(&hash)?
        .iter()
        .filter(|&&(t, i)| !taken[i] && (t - time).abs() <= window)
        .min_by_key(|&&(t, _)| (t - time).abs())
        .map(|&(_, i)| i)
}

/// A record's `inferenceTime` in milliseconds since the epoch.
fn millis(record: &MirroredResponse) -> Option<i64> {
    let t = record.inference_time.as_deref()?;
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.timestamp_millis())
}

/// Labels, and each arm's predictions of the same rows.
type PairedRows = (Vec<f64>, BTreeMap<String, Vec<f64>>);

/// The labelled pairs as paired rows: labels, and each variant's predictions in the same
/// order. A pair whose row counts differ is malformed (counted, named).
fn join_pairs(
    production: &[MirroredResponse],
    shadow: &[MirroredResponse],
    pairs: &[(usize, usize)],
    labels: &labels::LabelIndex,
    pair: &ShadowPair,
    classes: bool,
    summary: &mut LiveLookSummary,
) -> PairedRows {
    let (mut ys, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    let mut problems = Problems::default();
    for &(i, j) in pairs {
        let (p, s) = (&production[i], &shadow[j]);
        let Some(truth) = labels.get(&p.key) else { continue };
        let checked = check_pair(&p.predictions, truth, classes)
            .and_then(|()| check_pair(&s.predictions, truth, classes))
            .map_err(|why| weighbridge_core::CoreError::InvalidInput(format!("request {}: {why}", p.key)));
        if let Err(e) = checked {
            problems.add(&pair.shadow.name, j, &e);
            continue;
        }
        ys.extend_from_slice(truth);
        a.extend_from_slice(&p.predictions);
        b.extend_from_slice(&s.predictions);
    }
    problems.into_summary(summary);
    let predictions = [(pair.production.name.clone(), a), (pair.shadow.name.clone(), b)].into();
    (ys, predictions)
}

/// The shadow's mean `ModelLatency` and 5xx rate against the production variant's, over
/// the experiment's hours so far (CloudWatch `AWS/SageMaker`).
async fn operational_checks(
    metrics: &dyn MetricSink,
    input: &EvaluateVariantsInput,
    location: &Location,
    pair: &ShadowPair,
    state: &LiveState,
) -> Result<Vec<OperationalCheck>, TaskError> {
    let start = start_of(state.started_hour);
    let totals = |variant: &str, metric: &str| MetricQuery {
        namespace: "AWS/SageMaker".into(),
        name: metric.into(),
        dimensions: vec![
            ("EndpointName".into(), input.endpoint_name.clone()),
            ("VariantName".into(), variant.into()),
        ],
        start,
        end: location.as_of,
    };
    let mut read = BTreeMap::new();
    for variant in [&pair.production.name, &pair.shadow.name] {
        for metric in ["ModelLatency", "Invocations", "Invocation5XXErrors"] {
            let t = metrics
                .metric_totals(&totals(variant, metric))
                .await
                .map_err(port(format!("GetMetricStatistics {metric} {variant}")))?;
            read.insert((variant.as_str(), metric), t);
        }
    }
    let of = |variant: &str, metric: &str| read.get(&(variant, metric)).copied().unwrap_or_default();
    let (p, s) = (pair.production.name.as_str(), pair.shadow.name.as_str());
    let mut checks = Vec::new();
    if let (Some(lp), Some(ls)) = (of(p, "ModelLatency").mean(), of(s, "ModelLatency").mean()) {
        checks.push(OperationalCheck::relative(
            "ModelLatency",
            lp,
            ls,
            input.shadow.max_latency_increase,
        ));
    }
    let rate = |v: &str| {
        let calls = of(v, "Invocations").sum;
        (calls > 0.0).then(|| of(v, "Invocation5XXErrors").sum / calls)
    };
    if let (Some(ep), Some(es)) = (rate(p), rate(s)) {
        checks.push(OperationalCheck::absolute(
            "Invocation5XXErrors",
            ep,
            es,
            input.shadow.max_error_rate_increase,
        ));
    }
    Ok(checks)
}

/// The shadow decision on everything paired so far; a hold says when nothing new came.
fn decide_look_in_shadow(
    input: &EvaluateVariantsInput,
    plan: &Plan,
    record: &ExperimentRecord,
    pair: &ShadowPair,
    report: &ShadowReport,
    look_rows: u64,
) -> Result<Decision, TaskError> {
    let evidence = challenger_evidence(record, &plan.arms, &plan.metrics);
    let paired = evidence.iter().find(|e| e.variant == pair.shadow.name);
    let look = ShadowEvidence {
        production: &pair.production.name,
        shadow: &pair.shadow.name,
        paired,
        operational: &report.operational,
        expired: report.hours_in_shadow >= i64::from(input.shadow.max_shadow_hours),
    };
    let mut decision = decide_shadow(&look, &input.policy)?;
    if decision.action == Action::Hold && look_rows == 0 {
        decision.reason = format!(
            "hold: no new labelled pairs since the last look (captures wait for their label delay); {}",
            decision.reason
        );
    }
    Ok(decision)
}
