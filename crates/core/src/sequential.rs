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
//! variance for AUC, the delta-method paired variance for RMSE/MAE). With a normal
//! mixing distribution N(0, τ²) on the effect, the mixture likelihood ratio is
//! `Λ = sqrt(V/(V+τ²)) · exp(τ²·(θ̂−θ₀)² / (2V(V+τ²)))` and `{θ₀ : Λ < 1/α}` is the
//! interval returned here.

use serde::{Deserialize, Serialize};

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

/// An always-valid (1 − alpha) interval for the true difference, centred on `estimate`.
/// `tau` is the standard deviation of the mixing distribution: the size of effect the
/// test is tuned to find soonest (any effect is found eventually).
pub fn confidence_sequence(estimate: f64, se: f64, alpha: f64, tau: f64) -> (f64, f64) {
    let half = msprt_half_width(se, alpha, tau);
    (estimate - half, estimate + half)
}

/// Half-width of the mSPRT confidence sequence for variance `se²`.
pub fn msprt_half_width(se: f64, alpha: f64, tau: f64) -> f64 {
    let v = se * se;
    if v == 0.0 {
        return 0.0;
    }
    let t2 = tau * tau;
    ((2.0 * v * (v + t2) / t2) * ((1.0 / alpha).ln() + 0.5 * ((v + t2) / v).ln())).sqrt()
}

/// The always-valid p-value for "no difference" at this look: min(1, 1/Λ).
pub fn always_valid_p(estimate: f64, se: f64, tau: f64) -> f64 {
    let v = se * se;
    if v == 0.0 {
        return if estimate == 0.0 { 1.0 } else { 0.0 };
    }
    let t2 = tau * tau;
    let log_lambda = 0.5 * (v / (v + t2)).ln() + t2 * estimate * estimate / (2.0 * v * (v + t2));
    (-log_lambda).exp().min(1.0)
}
