//! The live look's checks and lines: an SRM or a gap in label coverage holds the
//! experiment (no shift, no promotion, no rollback: the evidence itself is in doubt),
//! and what the look saw goes into the history and the report.

use super::live::{estimated_requests, hours_text, LiveLookSummary, Location};
use super::*;

/// Variants need this many matured captures before their coverage is compared.
const COVERAGE_MIN_ROWS: u64 = 100;

/// Turns the decision into a hold, with the reason, while the SRM is flagged or the
/// variants' label coverage differs by more than `maxCoverageGap`.
pub(super) fn hold_while_failing(decision: &mut Decision, record: &ExperimentRecord, source: &CaptureSource) {
    let Some(state) = &record.live else { return };
    let reason = if let Some(window) = state.srm.flagged_at_window {
        Some(format!(
            "hold: sample ratio mismatch (flagged at window {window}, e-value {:.3e} ≥ 1/{}): the variants do not receive the share of requests their weights promise, so their metrics are not comparable; find the cause (clients retrying on one variant, a variant dropping requests, weights changed by hand), then set source.acknowledgeSrm",
            state.srm.e_value(),
            source.srm_alpha
        ))
    } else {
        coverage_gap(state, source.max_coverage_gap)
    };
    if let Some(reason) = reason {
        decision.action = Action::Hold;
        decision.weights = decision.previous_weights.clone();
        decision.reason = reason;
    }
}

/// The reason to hold when the variants' label coverage differs by more than `max_gap`.
fn coverage_gap(state: &crate::experiment::LiveState, max_gap: f64) -> Option<String> {
    let coverage: Vec<(String, f64)> = state
        .coverage()
        .into_iter()
        .filter(|(arm, _)| state.captured.get(arm).copied().unwrap_or(0) >= COVERAGE_MIN_ROWS)
        .collect();
    let low = coverage.iter().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let high = coverage.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
    (high.1 - low.1 > max_gap).then(|| {
        format!(
            "hold: label coverage differs: {} {:.1} % of its captures labelled, {} {:.1} % (more than maxCoverageGap {}); a variant whose labels arrive less often biases the comparison — check the ground-truth pipeline for it",
            low.0,
            100.0 * low.1,
            high.0,
            100.0 * high.1,
            max_gap
        )
    })
}

/// The look's line in the record's history.
pub(super) fn history_line(
    record: &ExperimentRecord,
    summary: &LiveLookSummary,
    location: &Location,
) -> LiveLook {
    let state = record.live.clone().unwrap_or_default();
    LiveLook {
        as_of: location.as_of.to_rfc3339(),
        rows: summary.rows.clone(),
        requests: summary.requests.clone(),
        coverage: state.coverage(),
        srm: state.srm.verdict(),
    }
}

/// The look's live report.
pub(super) fn report(
    record: &ExperimentRecord,
    summary: &LiveLookSummary,
    location: &Location,
    arms: &[String],
) -> LiveReport {
    let state = record.live.clone().unwrap_or_default();
    let coverage = state.coverage();
    LiveReport {
        as_of: location.as_of.to_rfc3339(),
        evidence_hours: summary.evidence_hours.map(|(from, to)| hours_text(from, to)),
        variants: arms
            .iter()
            .map(|arm| {
                let captured = summary.requests.get(arm).copied().unwrap_or(0);
                LiveVariant {
                    variant: arm.clone(),
                    captured_requests: captured,
                    estimated_requests: estimated_requests(captured, location.sampling_percentage),
                    labelled_rows: summary.rows.get(arm).copied().unwrap_or(0),
                    label_coverage: coverage.get(arm).copied().unwrap_or(0.0),
                }
            })
            .collect(),
        srm: state.srm.verdict(),
        malformed: summary.malformed,
        problems: summary.problems.clone(),
        label_conflicts: summary.label_conflicts,
    }
}
