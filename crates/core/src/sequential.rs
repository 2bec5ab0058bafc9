//! Evidence that accumulates over scheduled looks, and intervals that stay valid no
//! matter how often one looks.
//!
//! **Why an always-valid method rather than alpha spending.** A scheduled A/B
//! evaluation has no fixed number of looks: the schedule runs until someone stops it and
//! the amount of fresh labelled data per look varies. Group-sequential alpha spending
//! needs the number and information fractions of looks planned in advance and breaks if
//! the plan is overrun. The mixture sequential probability ratio test (mSPRT; Robbins
//! 1970, Johari, Pekelis & Walsh 2017) gives a *confidence sequence*: the probability
//! that the interval ever excludes the true difference, over all looks however many,
//! is at most alpha. So the false-promotion rate holds across looks by construction.
//! The cost is some power compared with a perfectly planned design; the simulation in
//! `examples/decision_quality.rs` measures it.
//!
//! The estimate at each look is approximately normal with known variance V (DeLong's
//! variance for AUC, the delta-method paired variance for RMSE/MAE). Promotion and
//! rollback are one-sided questions ("is the challenger better?", "is it worse?"), so
//! each uses a one-sided mixture: a half-normal mixing distribution of scale τ on the
//! effect, whose likelihood ratio Λ⁺ has a closed form (below). Spending all of alpha on
//! the side that matters, rather than half of it as a two-sided interval would, is what
//! lets a clearly worse challenger be rolled back within a few looks.

use serde::{Deserialize, Serialize};

use crate::normal;

/// An estimate of `challenger − champion` with its standard error, pooled over looks.
///
/// Each look adds the estimate from that look's fresh rows; looks are independent, so
/// they combine by inverse-variance weighting. This keeps the experiment record O(1)
/// per comparison however many looks there are, and works for AUC (whose DeLong
/// variance is not additive in rows) as well as for mean losses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PooledEstimate {
    /// Σ 1/se²
    pub precision: f64,
    /// Σ estimate/se²
    pub weighted_sum: f64,
    /// Rows over all looks.
    pub rows: u64,
    /// Looks pooled.
    pub looks: u32,
    /// Looks whose estimate had zero variance (kept as an exact running mean instead).
    exact_sum: f64,
    exact_looks: u32,
}

impl PooledEstimate {
    /// Adds one look's estimate. A look with `se == 0` carries no uncertainty; such
    /// looks are averaged separately and dominate the pooled estimate.
    pub fn add_look(&mut self, estimate: f64, se: f64, rows: u64) {
        self.rows += rows;
        self.looks += 1;
        if se > 0.0 && se.is_finite() {
            let w = 1.0 / (se * se);
            self.precision += w;
            self.weighted_sum += w * estimate;
        } else {
            self.exact_sum += estimate;
            self.exact_looks += 1;
        }
    }

    /// The pooled estimate and its standard error; `None` before the first look.
    pub fn estimate(&self) -> Option<(f64, f64)> {
        if self.exact_looks > 0 {
            Some((self.exact_sum / self.exact_looks as f64, 0.0))
        } else if self.precision > 0.0 {
            Some((self.weighted_sum / self.precision, self.precision.sqrt().recip()))
        } else {
            None
        }
    }
}

/// One-sided always-valid bounds `(estimate − m, estimate + m)`: the probability that
/// the lower bound *ever* exceeds the true difference, over every look, is at most
/// alpha, and likewise for the upper bound falling below it. The policy promotes on the
/// lower bound and rolls back on the upper, so each decision has its own alpha.
/// `tau` is the mixing scale: the effect size the test finds soonest.
pub fn always_valid_bounds(estimate: f64, se: f64, alpha: f64, tau: f64) -> (f64, f64) {
    let m = one_sided_margin(se, alpha, tau);
    (estimate - m, estimate + m)
}

/// `log Λ⁺(s)`: the half-normal mixture likelihood ratio of "the difference is positive"
/// against "it is zero", for an observed `s = θ̂ − θ₀` with variance `v`:
/// `Λ⁺ = 2·sqrt(v/(v+τ²)) · exp(s²τ²/(2v(v+τ²))) · Φ(sτ/sqrt(v(v+τ²)))`.
/// A mixture of likelihood-ratio martingales, so Ville's inequality bounds
/// P(sup Λ⁺ ≥ 1/α) by α; it increases with `s`.
fn log_lambda_plus(s: f64, v: f64, t2: f64) -> f64 {
    let c = (t2 / (v * (v + t2))).sqrt();
    std::f64::consts::LN_2 + 0.5 * (v / (v + t2)).ln() + s * s * t2 / (2.0 * v * (v + t2)) + log_cdf(c * s)
}

/// ln Φ(x), accurate in the lower tail where Φ underflows.
fn log_cdf(x: f64) -> f64 {
    if x > -30.0 {
        normal::cdf(x).ln()
    } else {
        // Mills ratio asymptote: Φ(x) ≈ φ(x)/|x|.
        -0.5 * x * x - (-x).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
    }
}

/// The margin `m` at which `Λ⁺(m) = 1/alpha`, found by bisection (Λ⁺ is monotone).
pub fn one_sided_margin(se: f64, alpha: f64, tau: f64) -> f64 {
    let v = se * se;
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { 0.0 } else { f64::INFINITY };
    }
    let t2 = tau * tau;
    let target = (1.0 / alpha).ln();
    // Λ⁺(0) = sqrt(v/(v+τ²)) < 1, and the bracket grows until it passes the target.
    let (mut lo, mut hi) = (0.0, se);
    while log_lambda_plus(hi, v, t2) < target {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if log_lambda_plus(mid, v, t2) < target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    hi
}

/// The always-valid one-sided p-value for "the difference is not positive": min(1, 1/Λ⁺).
pub fn always_valid_p(estimate: f64, se: f64, tau: f64) -> f64 {
    let v = se * se;
    if v == 0.0 {
        return if estimate > 0.0 { 0.0 } else { 1.0 };
    }
    (-log_lambda_plus(estimate, v, tau * tau)).exp().min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_where_the_mixture_ratio_reaches_one_over_alpha() {
        for (se, alpha, tau) in [(0.01, 0.05, 0.02), (0.5, 0.01, 0.1), (1e-4, 0.2, 0.05)] {
            let m = one_sided_margin(se, alpha, tau);
            let p = always_valid_p(m, se, tau);
            assert!(
                (p / alpha - 1.0).abs() < 1e-9,
                "p at the margin {p} vs alpha {alpha}"
            );
            assert!(always_valid_p(0.9 * m, se, tau) > alpha);
            assert!(always_valid_p(1.1 * m, se, tau) < alpha);
        }
    }

    #[test]
    fn the_margin_is_wider_than_a_fixed_sample_bound_and_shrinks_with_more_data() {
        let fixed = normal::quantile(0.95) * 0.01;
        let m = one_sided_margin(0.01, 0.05, 0.02);
        assert!(
            m > fixed,
            "always-valid {m} must be wider than fixed-sample {fixed}"
        );
        assert!(one_sided_margin(0.005, 0.05, 0.02) < m);
        assert_eq!(one_sided_margin(0.0, 0.05, 0.02), 0.0);
        let (lo, hi) = always_valid_bounds(0.1, 0.01, 0.05, 0.02);
        assert!((0.1 - lo - m).abs() < 1e-15 && (hi - 0.1 - m).abs() < 1e-15);
    }

    #[test]
    fn pooling_weights_looks_by_their_precision() {
        let mut pooled = PooledEstimate::default();
        assert_eq!(pooled.estimate(), None);
        pooled.add_look(1.0, 1.0, 100);
        pooled.add_look(4.0, 0.5, 400);
        let (estimate, se) = pooled.estimate().unwrap();
        // Weights 1 and 4: (1·1 + 4·4)/5 = 3.4, se = 1/sqrt(5).
        assert!((estimate - 3.4).abs() < 1e-12);
        assert!((se - 5f64.sqrt().recip()).abs() < 1e-12);
        assert_eq!((pooled.rows, pooled.looks), (500, 2));
        pooled.add_look(2.0, 0.0, 10);
        assert_eq!(pooled.estimate(), Some((2.0, 0.0)));
    }
}
