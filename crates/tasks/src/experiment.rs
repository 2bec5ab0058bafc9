//! The experiment record: everything an A/B evaluation has learned so far, kept as one
//! JSON object in S3 and written with a conditional put, so two concurrent evaluations
//! cannot both commit a look. O(1) per variant and comparison, however many looks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use weighbridge_core::compare::{LossStatistic, PairedLossMoments};
use weighbridge_core::metrics::{ClassificationAccumulator, RegressionAccumulator};
use weighbridge_core::policy::Action;
use weighbridge_core::sequential::PooledEstimate;
use weighbridge_core::srm::{SrmMonitor, SrmVerdict};

/// Evidence for one metric of one challenger against the champion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Evidence {
    /// Mean-of-loss metrics (RMSE, MAE, log-loss): paired moments of the per-row losses.
    Moments {
        /// Which mean-of-loss statistic (RMSE, MAE, log-loss).
        statistic: LossStatistic,
        /// The paired moments so far.
        moments: PairedLossMoments,
    },
    /// AUC: one DeLong estimate per look, pooled by inverse variance.
    Pooled {
        /// Per-look estimates pooled by inverse variance.
        pooled: PooledEstimate,
    },
}

/// Per-variant running metrics.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantRecord {
    /// Regression metrics so far.
    pub regression: RegressionAccumulator,
    /// Classification metrics so far, for 0/1 labels.
    pub classification: Option<ClassificationAccumulator>,
    /// AUC of each look (with its DeLong standard error), pooled over looks.
    pub auc: PooledEstimate,
}

/// One look, for the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LookRecord {
    /// The look's number.
    pub look: u32,
    /// Rows scored in it.
    pub rows: u64,
    /// What the policy decided.
    pub action: Action,
    /// The weights it decided.
    pub weights: BTreeMap<String, f64>,
    /// Whether they were applied.
    pub applied: bool,
    /// Live looks: when, rows per variant, label coverage and the SRM verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveLook>,
}

/// What a live look adds to its history line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveLook {
    /// The look's time (`asOf`), RFC 3339.
    pub as_of: String,
    /// Labelled rows this look added, per variant (unequal: each request reached one).
    pub rows: BTreeMap<String, u64>,
    /// Captured requests counted for SRM this look, per variant.
    pub requests: BTreeMap<String, u64>,
    /// Share of matured captures with a label, per variant, so far.
    pub coverage: BTreeMap<String, f64>,
    /// The SRM monitor after this look.
    pub srm: SrmVerdict,
}

/// A span of hours with one set of weights (a look window): evidence is compared within
/// a window and SRM counts are tested against its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightWindow {
    /// Its first hour (hours since the Unix epoch). The hour a change was applied in is
    /// ambiguous (both weights served in it) and left out of the SRM counts.
    pub from_hour: i64,
    /// The weights in force, by variant.
    pub weights: BTreeMap<String, f64>,
}

/// The live source's progress and checks, kept in the record between looks.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveState {
    /// The first hour of the experiment (the first full hour every variant captured in).
    pub started_hour: i64,
    /// The next hour whose captures count toward the SRM test.
    pub srm_hour: i64,
    /// The next hour whose captures (matured: their label delay has passed) are evidence.
    pub evidence_hour: i64,
    /// Weight windows, oldest first.
    pub windows: Vec<WeightWindow>,
    /// The always-valid SRM monitor.
    pub srm: SrmMonitor,
    /// Captured requests counted for SRM so far, per variant.
    pub requests: BTreeMap<String, u64>,
    /// Matured captured rows so far, per variant (the coverage denominator).
    pub captured: BTreeMap<String, u64>,
    /// Of those, rows joined with a label, per variant.
    pub labelled: BTreeMap<String, u64>,
    /// Malformed capture and ground-truth lines skipped so far.
    pub malformed: u64,
}

impl LiveState {
    /// The window an hour belongs to (the last that starts at or before it).
    pub fn window_of(&self, hour: i64) -> Option<usize> {
        self.windows.iter().rposition(|w| w.from_hour <= hour)
    }

    /// Label coverage per variant: labelled / captured rows (0 before any capture).
    pub fn coverage(&self) -> BTreeMap<String, f64> {
        self.captured
            .iter()
            .map(|(arm, &n)| {
                let labelled = self.labelled.get(arm).copied().unwrap_or(0);
                (arm.clone(), if n == 0 { 0.0 } else { labelled as f64 / n as f64 })
            })
            .collect()
    }
}

/// A change to the experiment's variants made between looks, outside the policy (an
/// alarm rollback): the record says what happened to whom, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Intervention {
    /// When (the workflow state's time, RFC 3339).
    pub at: String,
    /// The variant acted on.
    pub variant: String,
    /// What was done (`alarmRollback`).
    pub action: String,
    /// The alarm that triggered it.
    pub alarm: String,
    /// The alarm's reason.
    pub reason: String,
}

/// The whole record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentRecord {
    /// The endpoint the experiment runs on.
    pub endpoint_name: String,
    /// Pinned at the first look, so a stepwise shift does not swap the roles.
    pub champion: String,
    /// Test objects already scored (key → ETag): they are not new evidence.
    pub seen: BTreeMap<String, String>,
    /// Looks with rows so far.
    pub looks: u32,
    /// Rows scored so far (per arm).
    pub rows: u64,
    /// Every arm's metrics so far.
    pub variants: BTreeMap<String, VariantRecord>,
    /// challenger → metric → evidence.
    pub comparisons: BTreeMap<String, BTreeMap<String, Evidence>>,
    /// One line per look.
    pub history: Vec<LookRecord>,
    /// The live source's cursors, windows and SRM monitor (`source: capture`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveState>,
    /// Changes made between looks, outside the policy (alarm rollbacks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interventions: Vec<Intervention>,
}

impl ExperimentRecord {
    /// A fresh record for an endpoint and its champion.
    pub fn new(endpoint_name: &str, champion: &str) -> Self {
        Self {
            endpoint_name: endpoint_name.into(),
            champion: champion.into(),
            seen: BTreeMap::new(),
            looks: 0,
            rows: 0,
            variants: BTreeMap::new(),
            comparisons: BTreeMap::new(),
            history: Vec::new(),
            live: None,
            interventions: Vec::new(),
        }
    }

    /// `(difference, se, rows)` of a challenger's metric so far.
    pub fn evidence(&self, challenger: &str, metric: &str) -> Option<(f64, f64, u64)> {
        match self.comparisons.get(challenger)?.get(metric)? {
            Evidence::Moments { statistic, moments } => {
                let d = moments.difference(*statistic)?;
                Some((d.estimate, d.se, d.rows))
            }
            Evidence::Pooled { pooled } => {
                let (estimate, se) = pooled.estimate()?;
                Some((estimate, se, pooled.rows))
            }
        }
    }
}
