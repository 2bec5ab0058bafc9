//! The analytic paired comparison of two per-row losses: streaming bivariate moments
//! and a normal approximation (delta method for root-mean statistics such as RMSE).
//!
//! It is what the scheduled evaluator accumulates across looks: constant memory,
//! mergeable, and asymptotically the same answer as the paired bootstrap at O(n) cost.

use serde::{Deserialize, Serialize};

use super::bootstrap::LossStatistic;
use super::delong::z_score;
use crate::normal;

/// Running means and co-moments of two losses on the same rows (Welford, mergeable).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedLossMoments {
    n: u64,
    mean_a: f64,
    mean_b: f64,
    m2_a: f64,
    m2_b: f64,
    co_ab: f64,
}

impl PairedLossMoments {
    /// Adds one row's losses (`a` baseline, `b` challenger).
    pub fn push(&mut self, a: f64, b: f64) {
        self.n += 1;
        let n = self.n as f64;
        let (da, db) = (a - self.mean_a, b - self.mean_b);
        self.mean_a += da / n;
        self.mean_b += db / n;
        self.m2_a += da * (a - self.mean_a);
        self.m2_b += db * (b - self.mean_b);
        self.co_ab += da * (b - self.mean_b);
    }

    /// Combines moments of disjoint rows.
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
        let (da, db) = (other.mean_a - self.mean_a, other.mean_b - self.mean_b);
        self.m2_a += other.m2_a + da * da * na * nb / n;
        self.m2_b += other.m2_b + db * db * na * nb / n;
        self.co_ab += other.co_ab + da * db * na * nb / n;
        self.mean_a += da * nb / n;
        self.mean_b += db * nb / n;
        self.n += other.n;
    }

    /// Rows seen.
    pub fn rows(&self) -> u64 {
        self.n
    }

    /// Mean loss of the baseline (`a`).
    pub fn mean_a(&self) -> f64 {
        self.mean_a
    }

    /// Mean loss of the challenger (`b`).
    pub fn mean_b(&self) -> f64 {
        self.mean_b
    }

    /// `stat(b) − stat(a)` with its standard error. Needs two rows for a variance.
    pub fn difference(&self, stat: LossStatistic) -> Option<PairedDifference> {
        if self.n < 2 {
            return None;
        }
        let n = self.n as f64;
        let (var_a, var_b, cov) = (
            self.m2_a / (n - 1.0),
            self.m2_b / (n - 1.0),
            self.co_ab / (n - 1.0),
        );
        let (estimate, var) = match stat {
            LossStatistic::Mean => (self.mean_b - self.mean_a, (var_a + var_b - 2.0 * cov) / n),
            LossStatistic::RootMean => {
                // Delta method: d sqrt(μ) = dμ / (2 sqrt μ). A variant with zero mean loss
                // has zero variance too, so its terms vanish rather than divide by zero.
                let ga = gradient(self.mean_a);
                let gb = gradient(self.mean_b);
                (
                    self.mean_b.sqrt() - self.mean_a.sqrt(),
                    (ga * ga * var_a + gb * gb * var_b - 2.0 * ga * gb * cov) / n,
                )
            }
        };
        let se = var.max(0.0).sqrt();
        let z = z_score(estimate, se);
        Some(PairedDifference {
            estimate,
            se,
            z,
            p_value: normal::two_sided_p(z),
            rows: self.n,
        })
    }
}

fn gradient(mean: f64) -> f64 {
    if mean > 0.0 {
        0.5 / mean.sqrt()
    } else {
        0.0
    }
}

/// A paired difference `challenger − baseline` with a normal-approximation test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    pub estimate: f64,
    pub se: f64,
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    pub rows: u64,
}

/// Convenience over slices: the paired difference of `stat` between two loss columns.
pub fn paired_mean_difference(
    loss_a: &[f64],
    loss_b: &[f64],
    stat: LossStatistic,
) -> Option<PairedDifference> {
    let mut moments = PairedLossMoments::default();
    for (&a, &b) in loss_a.iter().zip(loss_b) {
        moments.push(a, b);
    }
    moments.difference(stat)
}
