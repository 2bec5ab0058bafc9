//! Two-sample comparisons: live traffic sends each request to one variant, so the
//! champion's and the challenger's rows are independent samples of different sizes.
//!
//! Mean-of-loss metrics use Welch's unequal-variance standard error (with the delta
//! method for root-mean statistics such as RMSE); AUC uses each variant's own DeLong
//! variance, added because the samples are independent. Both give `challenger −
//! champion` with a standard error, like the paired comparisons, so the sequential layer
//! pools them the same way.

use serde::{Deserialize, Serialize};

use super::bootstrap::LossStatistic;
use super::delong::z_score;
use crate::normal;

/// Running count, mean and sum of squared deviations of one variant's per-row losses
/// (Welford; mergeable, so windows and looks combine exactly).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LossMoments {
    n: u64,
    mean: f64,
    m2: f64,
}

impl LossMoments {
    /// Adds one row's loss.
    pub fn push(&mut self, loss: f64) {
        self.n += 1;
        let delta = loss - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (loss - self.mean);
    }

    /// Combines the moments of disjoint rows.
    pub fn merge(&mut self, other: &Self) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let delta = other.mean - self.mean;
        self.m2 += other.m2 + delta * delta * na * nb / n;
        self.mean += delta * nb / n;
        self.n += other.n;
    }

    /// Rows seen.
    pub fn rows(&self) -> u64 {
        self.n
    }

    /// The mean loss.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The sample variance (divisor n − 1); `None` below two rows.
    pub fn variance(&self) -> Option<f64> {
        (self.n >= 2).then(|| self.m2 / (self.n - 1) as f64)
    }

    /// The statistic's value and the variance of that value (delta method for a root
    /// mean): what a two-sample comparison needs from each side.
    fn statistic(&self, stat: LossStatistic) -> Option<(f64, f64)> {
        let var_of_mean = self.variance()? / self.n as f64;
        Some(match stat {
            LossStatistic::Mean => (self.mean, var_of_mean),
            LossStatistic::RootMean => {
                // d sqrt(μ) = dμ / (2 sqrt μ); a zero mean loss has zero variance too.
                let g = if self.mean > 0.0 {
                    0.5 / self.mean.sqrt()
                } else {
                    0.0
                };
                (self.mean.max(0.0).sqrt(), g * g * var_of_mean)
            }
        })
    }
}

/// `challenger − champion` from two independent samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoSampleDifference {
    /// `challenger − champion`, in the metric's units.
    pub estimate: f64,
    /// Its standard error: sqrt(v_a + v_b), each side's variance of its statistic.
    pub se: f64,
    /// `estimate / se`.
    pub z: f64,
    /// Two-sided p-value (normal approximation; the samples here are large).
    pub p_value: f64,
    /// Welch–Satterthwaite degrees of freedom, for readers who want Welch's t.
    pub df: f64,
    /// The champion's rows.
    pub rows_a: u64,
    /// The challenger's rows.
    pub rows_b: u64,
}

impl TwoSampleDifference {
    /// Assembles the difference from each side's value, variance and rows.
    fn from_sides(a: (f64, f64, u64), b: (f64, f64, u64)) -> Self {
        let (value_a, var_a, rows_a) = a;
        let (value_b, var_b, rows_b) = b;
        let estimate = value_b - value_a;
        let var = var_a + var_b;
        let se = var.max(0.0).sqrt();
        let z = z_score(estimate, se);
        let denominator =
            var_a * var_a / (rows_a.max(2) - 1) as f64 + var_b * var_b / (rows_b.max(2) - 1) as f64;
        let df = if denominator > 0.0 {
            var * var / denominator
        } else {
            (rows_a + rows_b).saturating_sub(2) as f64
        };
        Self {
            estimate,
            se,
            z,
            p_value: normal::two_sided_p(z),
            df,
            rows_a,
            rows_b,
        }
    }

    /// The total rows behind the comparison.
    pub fn rows(&self) -> u64 {
        self.rows_a + self.rows_b
    }
}

/// Welch's comparison of `stat(b) − stat(a)` (delta method for a root mean). Needs two
/// rows on each side for a variance.
pub fn welch_difference(
    a: &LossMoments,
    b: &LossMoments,
    stat: LossStatistic,
) -> Option<TwoSampleDifference> {
    let (value_a, var_a) = a.statistic(stat)?;
    let (value_b, var_b) = b.statistic(stat)?;
    Some(TwoSampleDifference::from_sides(
        (value_a, var_a, a.rows()),
        (value_b, var_b, b.rows()),
    ))
}

/// One variant's AUC on its own rows with DeLong's standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AucEstimate {
    /// The AUC.
    pub auc: f64,
    /// DeLong's standard error of it.
    pub se: f64,
    /// Rows (positives and negatives).
    pub rows: u64,
}

/// `auc_b − auc_a` from two independent samples: the variances add.
pub fn unpaired_auc_difference(a: &AucEstimate, b: &AucEstimate) -> TwoSampleDifference {
    TwoSampleDifference::from_sides((a.auc, a.se * a.se, a.rows), (b.auc, b.se * b.se, b.rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(values: &[f64]) -> LossMoments {
        let mut m = LossMoments::default();
        values.iter().for_each(|&v| m.push(v));
        m
    }

    #[test]
    fn merging_two_halves_equals_pushing_all() {
        let values: Vec<f64> = (0..101).map(|i| ((i * 37) % 23) as f64 * 0.5).collect();
        let mut left = moments(&values[..40]);
        left.merge(&moments(&values[40..]));
        let all = moments(&values);
        assert_eq!(left.rows(), all.rows());
        assert!((left.mean() - all.mean()).abs() < 1e-12);
        assert!((left.variance().unwrap() - all.variance().unwrap()).abs() < 1e-9);
    }

    #[test]
    fn welch_mean_difference_by_hand() {
        // a: mean 2, variance 1 (n = 3); b: mean 4, variance 4 (n = 3).
        let a = moments(&[1.0, 2.0, 3.0]);
        let b = moments(&[2.0, 4.0, 6.0]);
        let d = welch_difference(&a, &b, LossStatistic::Mean).unwrap();
        assert!((d.estimate - 2.0).abs() < 1e-12);
        assert!((d.se - (1.0 / 3.0 + 4.0 / 3.0_f64).sqrt()).abs() < 1e-12);
        // (5/3)² / ((1/3)²/2 + (4/3)²/2) = (25/9) / (17/18) = 50/17.
        assert!((d.df - 50.0 / 17.0).abs() < 1e-12);
        assert_eq!((d.rows_a, d.rows_b, d.rows()), (3, 3, 6));
    }

    #[test]
    fn one_row_has_no_variance_and_zero_loss_has_no_gradient() {
        let one = moments(&[1.0]);
        assert!(welch_difference(&one, &moments(&[1.0, 2.0]), LossStatistic::Mean).is_none());
        let zero = moments(&[0.0, 0.0, 0.0]);
        let d = welch_difference(&zero, &zero, LossStatistic::RootMean).unwrap();
        assert_eq!((d.estimate, d.se, d.z), (0.0, 0.0, 0.0));
    }

    #[test]
    fn auc_variances_add() {
        let a = AucEstimate {
            auc: 0.80,
            se: 0.03,
            rows: 500,
        };
        let b = AucEstimate {
            auc: 0.85,
            se: 0.04,
            rows: 400,
        };
        let d = unpaired_auc_difference(&a, &b);
        assert!((d.estimate - 0.05).abs() < 1e-12);
        assert!((d.se - 0.05).abs() < 1e-12);
        assert!((d.z - 1.0).abs() < 1e-9);
    }
}
