//! The experiment record: everything an A/B evaluation has learned so far, kept as one
//! JSON object in S3 and written with a conditional put, so two concurrent evaluations
//! cannot both commit a look. O(1) per variant and comparison, however many looks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use weighbridge_core::compare::{LossStatistic, PairedLossMoments};
use weighbridge_core::metrics::{ClassificationAccumulator, RegressionAccumulator};
use weighbridge_core::policy::Action;
use weighbridge_core::sequential::PooledEstimate;

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
