//! Streaming regression metrics: RMSE, MSE, MAE, R², MAPE.

use serde::{Deserialize, Serialize};

use crate::error::{check_paired, CoreError, Result};

/// One-pass, constant-memory accumulator. `merge` combines accumulators of disjoint
/// batches, so an evaluation can keep one per variant across many InvokeEndpoint calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegressionAccumulator {
    n: u64,
    sum_sq_err: f64,
    sum_abs_err: f64,
    /// Welford running mean and sum of squared deviations of the labels (for R²),
    /// which stay accurate where Σy² − n·ȳ² would cancel catastrophically.
    label_mean: f64,
    label_m2: f64,
    sum_abs_pct_err: f64,
    mape_rows: u64,
}

impl RegressionAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one row. Callers validate finiteness first (see [`check_paired`]).
    pub fn push(&mut self, prediction: f64, label: f64) {
        let err = prediction - label;
        self.n += 1;
        self.sum_sq_err += err * err;
        self.sum_abs_err += err.abs();
        let delta = label - self.label_mean;
        self.label_mean += delta / self.n as f64;
        self.label_m2 += delta * (label - self.label_mean);
        if label != 0.0 {
            self.sum_abs_pct_err += (err / label).abs();
            self.mape_rows += 1;
        }
    }

    /// Combines another accumulator of disjoint rows into this one (Chan et al. update).
    pub fn merge(&mut self, other: &Self) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = other.clone();
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let delta = other.label_mean - self.label_mean;
        self.label_m2 += other.label_m2 + delta * delta * na * nb / n;
        self.label_mean += delta * nb / n;
        self.n += other.n;
        self.sum_sq_err += other.sum_sq_err;
        self.sum_abs_err += other.sum_abs_err;
        self.sum_abs_pct_err += other.sum_abs_pct_err;
        self.mape_rows += other.mape_rows;
    }

    /// Rows seen so far.
    pub fn rows(&self) -> u64 {
        self.n
    }

    /// The metrics so far; `None` before the first row.
    pub fn finish(&self) -> Option<RegressionMetrics> {
        if self.n == 0 {
            return None;
        }
        let n = self.n as f64;
        let mse = self.sum_sq_err / n;
        // R² as scikit-learn defines it, including its finite answers for constant labels.
        let r2 = if self.label_m2 == 0.0 {
            if self.sum_sq_err == 0.0 {
                1.0
            } else {
                0.0
            }
        } else {
            1.0 - self.sum_sq_err / self.label_m2
        };
        Some(RegressionMetrics {
            rows: self.n,
            mse,
            rmse: mse.sqrt(),
            mae: self.sum_abs_err / n,
            r2,
            mape: (self.mape_rows > 0).then(|| self.sum_abs_pct_err / self.mape_rows as f64),
            mape_skipped_zero_labels: self.n - self.mape_rows,
        })
    }
}

/// Regression metrics of one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Rows.
    pub rows: u64,
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination; 1.0 / 0.0 for constant labels as in scikit-learn.
    pub r2: f64,
    /// Mean absolute percentage error over rows with a non-zero label, as a fraction
    /// (0.1 = 10%); `None` when every label is zero.
    pub mape: Option<f64>,
    /// Rows left out of MAPE because their label is zero.
    pub mape_skipped_zero_labels: u64,
}

impl RegressionMetrics {
    /// Validates the rows and computes every metric in one pass.
    pub fn compute(predictions: &[f64], labels: &[f64]) -> Result<Self> {
        check_paired("regression metrics", predictions, labels)?;
        let mut acc = RegressionAccumulator::new();
        for (&p, &y) in predictions.iter().zip(labels) {
            acc.push(p, y);
        }
        acc.finish()
            .ok_or_else(|| CoreError::insufficient("regression metrics: no rows"))
    }
}
