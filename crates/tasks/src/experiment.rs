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
        statistic: LossStatistic,
        moments: PairedLossMoments,
    },
    /// AUC: one DeLong estimate per look, pooled by inverse variance.
    Pooled { pooled: PooledEstimate },
}

/// Per-variant running metrics.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantRecord {
    pub regression: RegressionAccumulator,
    pub classification: Option<ClassificationAccumulator>,
    /// AUC of each look (with its DeLong standard error), pooled over looks.
    pub auc: PooledEstimate,
}

/// One look, for the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LookRecord {
    pub look: u32,
    pub rows: u64,
    pub action: Action,
    pub weights: BTreeMap<String, f64>,
    pub applied: bool,
}

/// The whole record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentRecord {
    pub endpoint_name: String,
    /// Pinned at the first look, so a stepwise shift does not swap the roles.
    pub champion: String,
    /// Test objects already scored (key → ETag): they are not new evidence.
    pub seen: BTreeMap<String, String>,
    pub looks: u32,
    pub rows: u64,
    pub variants: BTreeMap<String, VariantRecord>,
    /// challenger → metric → evidence.
    pub comparisons: BTreeMap<String, BTreeMap<String, Evidence>>,
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
