//! Metrics over f64 predictions and labels.
//!
//! Regression and thresholded classification metrics are streaming accumulators
//! (constant memory, one pass, mergeable across batches); ROC AUC needs the ranks of
//! all scores and is computed from a sort.

mod auc;
mod classification;
mod regression;

pub use auc::{roc_auc, roc_curve, SortedScores};
pub use classification::{row_log_loss, ClassificationAccumulator, ClassificationMetrics, LOG_LOSS_EPS};
pub use regression::{RegressionAccumulator, RegressionMetrics};

/// What kind of model a set of labels belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Real-valued labels.
    Regression,
    /// 0/1 labels and scores.
    BinaryClassification,
}

impl Task {
    /// Labels that are all 0 or 1 are classification, anything else regression.
    pub fn infer(labels: &[f64]) -> Task {
        if !labels.is_empty() && labels.iter().all(|&y| y == 0.0 || y == 1.0) {
            Task::BinaryClassification
        } else {
            Task::Regression
        }
    }
}
