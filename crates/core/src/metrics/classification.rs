//! Streaming binary classification metrics from scores: log-loss and the
//! confusion-matrix metrics at a threshold. AUC lives in `auc.rs` because it needs ranks.

use serde::{Deserialize, Serialize};

use super::auc::roc_auc;
use crate::error::{check_binary_labels, check_paired, CoreError, Result};

/// Scores are clipped to [eps, 1 − eps] before the log, as scikit-learn does (machine
/// epsilon for f64), so a confident wrong answer costs a large but finite loss.
pub const LOG_LOSS_EPS: f64 = f64::EPSILON;

/// The clipped log-loss of one row (`label` 0 or 1), the form every log-loss here uses.
pub fn row_log_loss(score: f64, label: f64) -> f64 {
    let p = score.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
    if label == 1.0 {
        -p.ln()
    } else {
        -(1.0 - p).ln()
    }
}

/// One-pass accumulator of log-loss and the confusion matrix at a fixed threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationAccumulator {
    threshold: f64,
    n: u64,
    sum_log_loss: f64,
    tp: u64,
    fp: u64,
    tn: u64,
    fn_: u64,
}

impl ClassificationAccumulator {
    /// A row counts as predicted positive when its score is `>= threshold`.
    pub fn new(threshold: f64) -> Self {
        Self {
            threshold,
            n: 0,
            sum_log_loss: 0.0,
            tp: 0,
            fp: 0,
            tn: 0,
            fn_: 0,
        }
    }

    /// Adds one row; `label` must be 0 or 1, `score` a probability-like value.
    pub fn push(&mut self, score: f64, label: f64) {
        self.n += 1;
        self.sum_log_loss += row_log_loss(score, label);
        let predicted = score >= self.threshold;
        match (predicted, label == 1.0) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, false) => self.tn += 1,
            (false, true) => self.fn_ += 1,
        }
    }

    /// Combines an accumulator of disjoint rows with the same threshold.
    pub fn merge(&mut self, other: &Self) {
        self.n += other.n;
        self.sum_log_loss += other.sum_log_loss;
        self.tp += other.tp;
        self.fp += other.fp;
        self.tn += other.tn;
        self.fn_ += other.fn_;
    }

    /// The metrics so far (AUC left empty: it is not streaming); `None` before any row.
    pub fn finish(&self) -> Option<ClassificationMetrics> {
        if self.n == 0 {
            return None;
        }
        let ratio = |num: u64, den: u64| if den == 0 { 0.0 } else { num as f64 / den as f64 };
        let precision = ratio(self.tp, self.tp + self.fp);
        let recall = ratio(self.tp, self.tp + self.fn_);
        // F1 from counts (2TP / (2TP + FP + FN)), scikit-learn's zero_division=0 convention.
        let f1 = ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_);
        Some(ClassificationMetrics {
            rows: self.n,
            positives: self.tp + self.fn_,
            auc: None,
            log_loss: self.sum_log_loss / self.n as f64,
            accuracy: ratio(self.tp + self.tn, self.n),
            precision,
            recall,
            f1,
            threshold: self.threshold,
        })
    }
}

/// Binary classification metrics of one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Rows.
    pub rows: u64,
    /// Rows labelled 1.
    pub positives: u64,
    /// ROC AUC from scores; `None` when the rows hold a single class.
    pub auc: Option<f64>,
    /// Mean log-loss (scores clipped away from 0 and 1).
    pub log_loss: f64,
    /// Share of rows classified right at the threshold.
    pub accuracy: f64,
    /// True positives over predicted positives.
    pub precision: f64,
    /// True positives over actual positives.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Scores `>= threshold` count as positive for accuracy/precision/recall/F1.
    pub threshold: f64,
}

impl ClassificationMetrics {
    /// Validates the rows and computes every metric, AUC included when both classes occur.
    pub fn compute(scores: &[f64], labels: &[f64], threshold: f64) -> Result<Self> {
        check_paired("classification metrics", scores, labels)?;
        check_binary_labels(labels)?;
        if !threshold.is_finite() {
            return Err(CoreError::invalid(format!(
                "threshold {threshold} must be finite"
            )));
        }
        let mut acc = ClassificationAccumulator::new(threshold);
        for (&s, &y) in scores.iter().zip(labels) {
            acc.push(s, y);
        }
        let mut metrics = acc
            .finish()
            .ok_or_else(|| CoreError::insufficient("classification metrics: no rows"))?;
        metrics.auc = roc_auc(scores, labels).ok();
        Ok(metrics)
    }
}
