//! The live look's join and evidence: each matured capture joined with its label (row
//! i of a request with label i), accumulated per weight window and arm, then each
//! window's two-sample difference of every challenger against the champion pooled into
//! the record across windows and looks.

use std::collections::BTreeMap;

use weighbridge_core::capture::parse_capture_line;
use weighbridge_core::compare::{
    auc_estimate, loss_metric, unpaired_auc_difference, welch_difference, LossMoments, RowLoss,
};
use weighbridge_core::metrics::RegressionAccumulator;
use weighbridge_core::CoreError;

use super::hours::{lines_of, Hour};
use super::labels::LabelIndex;
use super::live::{LiveLookSummary, Location, Problems};
use super::*;
use crate::experiment::LiveState;
/// One arm's joined rows in one window: loss moments per metric, and the scores for AUC.
#[derive(Debug, Default)]
pub(super) struct ArmWindow {
    losses: BTreeMap<String, LossMoments>,
    regression: RegressionAccumulator,
    scores: Vec<f64>,
    labels: Vec<f64>,
    rows: u64,
}

/// The look's joined evidence: window → arm → rows; and how many lines were read.
#[derive(Debug, Default)]
pub(super) struct Joined {
    windows: BTreeMap<usize, BTreeMap<String, ArmWindow>>,
    /// Non-empty capture lines (requests) per (arm, hour), for the SRM counts.
    pub(super) lines_by: BTreeMap<(String, Hour), u64>,
    captured: BTreeMap<String, u64>,
    labelled: BTreeMap<String, u64>,
    /// Capture lines read (the malformed share\'s denominator).
    pub(super) lines: u64,
}

/// Reads each arm's matured captures, joins them with the labels (row i of a request
/// with label i; a count that differs is malformed) and accumulates per window and arm.
#[allow(clippy::too_many_arguments)] // the look's parts, each read once
pub(super) async fn join_captures(
    store: &dyn ObjectStore,
    input: &EvaluateVariantsInput,
    location: &Location,
    arms: &[String],
    hours: std::ops::Range<Hour>,
    labels: &LabelIndex,
    state: &LiveState,
    metrics: &[String],
    summary: &mut LiveLookSummary,
) -> Result<Joined, TaskError> {
    let rules = RowRules::of(metrics);
    let mut joined = Joined::default();
    for arm in arms {
        let listed = location
            .arm_captures(store, arm, hours.clone(), input.max_concurrency)
            .await?;
        for (hour, object) in listed {
            let window = state.window_of(hour).unwrap_or(0);
            let parts = lines_of(
                store,
                &location.capture_bucket,
                &object,
                || (Joined::default(), Problems::default()),
                |(joined, problems), n, line| {
                    if let Err(e) = joined.add_line(arm, window, line, labels, &rules) {
                        problems.add(&object.key, n, &e);
                    }
                },
            )
            .await?;
            let before = joined.lines;
            for (part, problems) in parts {
                joined.absorb(part);
                problems.into_summary(summary);
            }
            *joined.lines_by.entry((arm.clone(), hour)).or_default() += joined.lines - before;
            summary.objects.push(object);
        }
    }
    Ok(joined)
}

/// What each joined row feeds, resolved once per look rather than per row: the
/// mean-of-loss metrics with their per-row loss, and whether scores are kept for AUC
/// (and labels must be 0/1).
struct RowRules {
    losses: Vec<(String, RowLoss)>,
    classes: bool,
}

impl RowRules {
    fn of(metrics: &[String]) -> Self {
        Self {
            losses: metrics
                .iter()
                .filter_map(|m| Some((m.clone(), loss_metric(m)?.0)))
                .collect(),
            classes: needs_classes(metrics),
        }
    }
}

/// The value under `key`, inserted as the default the first time: the per-line hot path
/// allocates a key only when it is new.
fn slot<'a, V: Default>(map: &'a mut BTreeMap<String, V>, key: &str) -> &'a mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).unwrap_or_else(|| unreachable!("inserted above"))
}

impl Joined {
    /// Joins one capture line with its label (if it has one) into the window's cell.
    fn add_line(
        &mut self,
        arm: &str,
        window: usize,
        line: &str,
        labels: &LabelIndex,
        rules: &RowRules,
    ) -> Result<(), CoreError> {
        self.lines += 1;
        let captured = parse_capture_line(line)?;
        *slot(&mut self.captured, arm) += captured.predictions.len() as u64;
        let Some(truth) = labels.get(&captured.key) else {
            return Ok(());
        };
        check_pair(&captured.predictions, truth, rules.classes).map_err(CoreError::InvalidInput)?;
        *slot(&mut self.labelled, arm) += truth.len() as u64;
        let cell = slot(self.windows.entry(window).or_default(), arm);
        for (&p, &y) in captured.predictions.iter().zip(truth) {
            cell.push(p, y, rules);
        }
        Ok(())
    }

    /// Adds another part's rows (of the same look).
    fn absorb(&mut self, other: Joined) {
        self.lines += other.lines;
        for (arm, n) in other.captured {
            *self.captured.entry(arm).or_default() += n;
        }
        for (arm, n) in other.labelled {
            *self.labelled.entry(arm).or_default() += n;
        }
        for (window, arms) in other.windows {
            let mine = self.windows.entry(window).or_default();
            for (arm, cell) in arms {
                mine.entry(arm).or_default().absorb(cell);
            }
        }
    }
}

/// A prediction–label pair is usable: as many labels as rows, finite, 0/1 for classes.
pub(super) fn check_pair(predictions: &[f64], labels: &[f64], classes: bool) -> Result<(), String> {
    if predictions.len() != labels.len() {
        return Err(format!(
            "{} predictions but {} labels for this request; write one label per request row",
            predictions.len(),
            labels.len()
        ));
    }
    if predictions.iter().any(|p| !p.is_finite()) {
        return Err("a prediction is not a finite number".into());
    }
    if classes && labels.iter().any(|&y| y != 0.0 && y != 1.0) {
        return Err(format!("labels {labels:?} must be 0 or 1 for AUC and log-loss"));
    }
    Ok(())
}

impl ArmWindow {
    /// Adds another part's rows of the same arm and window.
    fn absorb(&mut self, other: ArmWindow) {
        self.rows += other.rows;
        self.regression.merge(&other.regression);
        for (metric, m) in other.losses {
            self.losses.entry(metric).or_default().merge(&m);
        }
        self.scores.extend(other.scores);
        self.labels.extend(other.labels);
    }

    fn push(&mut self, prediction: f64, label: f64, rules: &RowRules) {
        self.rows += 1;
        self.regression.push(prediction, label);
        for (metric, loss) in &rules.losses {
            slot(&mut self.losses, metric).push(loss(prediction, label));
        }
        if rules.classes {
            self.scores.push(prediction);
            self.labels.push(label);
        }
    }
}

/// Adds the look's joined rows to the record: every arm's metrics, coverage, and per
/// window the two-sample difference of each challenger against the champion, pooled
/// across windows and looks by inverse variance.
pub(super) fn add_evidence(
    record: &mut ExperimentRecord,
    state: &mut LiveState,
    metrics: &[String],
    joined: Joined,
    summary: &mut LiveLookSummary,
) -> Result<(), TaskError> {
    for (arm, n) in &joined.captured {
        *state.captured.entry(arm.clone()).or_default() += n;
    }
    for (arm, n) in &joined.labelled {
        *state.labelled.entry(arm.clone()).or_default() += n;
        *summary.rows.entry(arm.clone()).or_default() += n;
    }
    let champion = record.champion.clone();
    for arms in joined.windows.into_values() {
        for (arm, cell) in &arms {
            add_arm_metrics(record, arm, cell)?;
        }
        let Some(base) = arms.get(&champion) else { continue };
        for (arm, cell) in arms.iter().filter(|(a, _)| **a != champion) {
            for metric in metrics {
                let Some(d) = window_difference(metric, base, cell)? else {
                    continue;
                };
                let entry = record
                    .comparisons
                    .entry(arm.clone())
                    .or_default()
                    .entry(metric.clone())
                    .or_insert_with(|| Evidence::Pooled {
                        pooled: PooledEstimate::default(),
                    });
                if let Evidence::Pooled { pooled } = entry {
                    pooled.add_look(d.estimate, d.se, d.rows());
                }
            }
        }
    }
    Ok(())
}

/// An arm's running metrics (for the report) and its per-window AUC.
fn add_arm_metrics(record: &mut ExperimentRecord, arm: &str, cell: &ArmWindow) -> Result<(), TaskError> {
    let v = record.variants.entry(arm.to_string()).or_default();
    v.regression.merge(&cell.regression);
    if !cell.scores.is_empty() {
        let mut cls = v
            .classification
            .clone()
            .unwrap_or_else(|| ClassificationAccumulator::new(0.5));
        for (&p, &y) in cell.scores.iter().zip(&cell.labels) {
            cls.push(p, y);
        }
        v.classification = Some(cls);
        match auc_estimate(&cell.scores, &cell.labels) {
            Ok(a) => v.auc.add_look(a.auc, a.se, a.rows),
            Err(CoreError::InsufficientData(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// One window's `challenger − champion` for a metric; `None` while a side lacks rows.
fn window_difference(
    metric: &str,
    champion: &ArmWindow,
    challenger: &ArmWindow,
) -> Result<Option<weighbridge_core::compare::TwoSampleDifference>, TaskError> {
    if let Some((_, statistic)) = loss_metric(metric) {
        let (Some(a), Some(b)) = (champion.losses.get(metric), challenger.losses.get(metric)) else {
            return Ok(None);
        };
        return Ok(welch_difference(a, b, statistic));
    }
    let auc = |w: &ArmWindow| match auc_estimate(&w.scores, &w.labels) {
        Ok(a) => Ok(Some(a)),
        Err(CoreError::InsufficientData(_)) => Ok(None),
        Err(e) => Err(TaskError::from(e)),
    };
    Ok(match (auc(champion)?, auc(challenger)?) {
        (Some(a), Some(b)) => Some(unpaired_auc_difference(&a, &b)),
        _ => None,
    })
}
