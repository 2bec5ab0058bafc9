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

    /// A pointwise (1 − alpha) interval of `stat(a)` alone (the baseline's metric).
    pub fn interval_a(&self, stat: LossStatistic, alpha: f64) -> Option<(f64, f64)> {
        marginal_interval(self.n, self.mean_a, self.m2_a, stat, alpha)
    }

    /// A pointwise (1 − alpha) interval of `stat(b)` alone (the challenger's metric).
    pub fn interval_b(&self, stat: LossStatistic, alpha: f64) -> Option<(f64, f64)> {
        marginal_interval(self.n, self.mean_b, self.m2_b, stat, alpha)
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

/// The normal interval of a mean loss; for a root-mean statistic the square root of the
/// mean's interval (clamped at 0), which stays inside the metric's range, unlike the
/// delta method's symmetric interval.
fn marginal_interval(n: u64, mean: f64, m2: f64, stat: LossStatistic, alpha: f64) -> Option<(f64, f64)> {
    if n < 2 || !(alpha > 0.0 && alpha < 1.0) {
        return None;
    }
    let half = normal::quantile(1.0 - alpha / 2.0) * (m2 / (n as f64 - 1.0) / n as f64).max(0.0).sqrt();
    let (low, high) = (mean - half, mean + half);
    Some(match stat {
        LossStatistic::Mean => (low, high),
        LossStatistic::RootMean => (low.max(0.0).sqrt(), high.max(0.0).sqrt()),
    })
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
    /// `challenger − baseline`.
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// `estimate / se`.
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Pairs behind it.
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

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;

    /// Squared errors of N(0, σ²) residuals: the RMSE interval should cover σ about
    /// 95% of the time, and each side's interval should use only its own losses.
    #[test]
    fn marginal_rmse_intervals_cover_the_true_sigma() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let (sigma_a, sigma_b) = (1.0, 2.0);
        let noise = Normal::new(0.0, 1.0).unwrap();
        let (mut covered_a, mut covered_b, runs) = (0, 0, 400);
        for _ in 0..runs {
            let mut m = PairedLossMoments::default();
            for _ in 0..300 {
                let (ea, eb): (f64, f64) =
                    (sigma_a * noise.sample(&mut rng), sigma_b * noise.sample(&mut rng));
                m.push(ea * ea, eb * eb);
            }
            let (la, ha) = m.interval_a(LossStatistic::RootMean, 0.05).unwrap();
            let (lb, hb) = m.interval_b(LossStatistic::RootMean, 0.05).unwrap();
            assert!(la <= m.mean_a().sqrt() && m.mean_a().sqrt() <= ha);
            covered_a += usize::from(la <= sigma_a && sigma_a <= ha);
            covered_b += usize::from(lb <= sigma_b && sigma_b <= hb);
        }
        for covered in [covered_a, covered_b] {
            let rate = covered as f64 / runs as f64;
            assert!((0.91..=0.98).contains(&rate), "coverage {rate}");
        }
    }

    #[test]
    fn marginal_intervals_need_two_rows_and_a_valid_alpha() {
        let mut m = PairedLossMoments::default();
        m.push(1.0, 2.0);
        assert_eq!(m.interval_a(LossStatistic::Mean, 0.05), None);
        m.push(3.0, 2.0);
        assert_eq!(m.interval_b(LossStatistic::Mean, 0.05), Some((2.0, 2.0)));
        assert_eq!(m.interval_a(LossStatistic::Mean, 1.5), None);
    }
}
