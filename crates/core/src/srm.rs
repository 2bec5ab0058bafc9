//! Sample ratio mismatch (SRM): does each variant receive the share of requests its
//! weight promises? If not, something between the caller and the model (a retrying
//! client, a variant that drops requests, a router bug) decides which requests reach
//! which variant, and any comparison of their metrics is biased. An SRM must stop the
//! experiment, however good the challenger looks.
//!
//! **The test.** Each look window (a span in which the weights did not change) gives
//! multinomial counts with expected shares `p` (the weights). Its evidence against `p`
//! is the Dirichlet–multinomial mixture likelihood ratio (Lindon & Malek 2022, "Anytime-
//! valid inference for multinomial count data"): with a Dirichlet(k·p) prior on the true
//! shares, `E = B(k·p + x) / B(k·p) / Π p_iˣⁱ`, an e-value (expectation ≤ 1 when the
//! shares are right). Windows are independent, so products of their e-values are test
//! martingales. An SRM can start in any window, so the monitor mixes over the start:
//! `M_n = Σ_{j ≤ n} w_j Π_{i=j..n} E_i + Σ_{j > n} w_j` with `w_j = 1/(j(j+1))`, itself a
//! test martingale (a convex combination of test martingales). By Ville's inequality
//! `P(M_n ever ≥ 1/alpha) ≤ alpha` over every look however many, so the false-alarm rate
//! holds across looks; and a mismatch that starts late is not drowned by the evidence
//! *for* the weights that earlier windows accumulated. Kept in O(1): `S_n = (S_{n−1} +
//! w_n)·E_n`, `M_n = S_n + 1/(n + 1)`.

use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;

use crate::error::{CoreError, Result};

/// The Dirichlet prior's concentration `k`: large enough that the prior sits near the
/// weights (small mismatches count), small enough that one window of a few thousand
/// requests moves it.
pub const DEFAULT_CONCENTRATION: f64 = 1_000.0;

/// The SRM test's false-alarm level by default: 1 %, over the whole experiment.
pub const DEFAULT_ALPHA: f64 = 0.01;

/// `ln E` for one window: the Dirichlet–multinomial mixture against the expected shares.
/// A count in a category whose share is 0 is a certain mismatch (`+∞`); categories with
/// share 0 and no count drop out. Shares need not sum to 1 (they are weights).
pub fn window_log_e(counts: &[u64], weights: &[f64], concentration: f64) -> Result<f64> {
    if counts.len() != weights.len() {
        return Err(CoreError::invalid(format!(
            "SRM: {} counts for {} weights",
            counts.len(),
            weights.len()
        )));
    }
    let total: f64 = weights.iter().sum();
    if !(total > 0.0 && total.is_finite()) || weights.iter().any(|w| w.is_nan() || *w < 0.0) {
        return Err(CoreError::invalid(format!(
            "SRM: weights {weights:?} must be finite, ≥ 0 and not all 0"
        )));
    }
    if !(concentration > 0.0 && concentration.is_finite()) {
        return Err(CoreError::invalid(format!(
            "SRM: concentration {concentration} must be > 0"
        )));
    }
    let (mut prior_sum, mut posterior_sum, mut log_e) = (0.0, 0.0, 0.0);
    for (&x, &w) in counts.iter().zip(weights) {
        let p = w / total;
        if p == 0.0 {
            if x > 0 {
                return Ok(f64::INFINITY);
            }
            continue;
        }
        let (a, x) = (concentration * p, x as f64);
        log_e += ln_gamma(a + x) - ln_gamma(a) - x * p.ln();
        prior_sum += a;
        posterior_sum += a + x;
    }
    Ok(log_e - (ln_gamma(posterior_sum) - ln_gamma(prior_sum)))
}

/// What the SRM monitor says after a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SrmVerdict {
    /// The mixture e-value `M_n` (evidence of a mismatch; ≥ 1/alpha flags).
    pub e_value: f64,
    /// Whether a mismatch is flagged now or was flagged before (it never clears by itself).
    pub flagged: bool,
    /// The window in which it was first flagged.
    pub flagged_at_window: Option<u32>,
}

/// The always-valid SRM monitor across look windows. Once flagged it stays flagged
/// until someone resets it ([`SrmMonitor::reset`]) after fixing the cause.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SrmMonitor {
    /// Windows with requests so far.
    pub windows: u32,
    /// `ln S_n`, the part of the mixture that has started (−∞ before the first window).
    log_started: Option<f64>,
    /// The first window that flagged.
    pub flagged_at_window: Option<u32>,
}

impl SrmMonitor {
    /// Adds a window's counts against the weights in force during it. A window without
    /// requests adds nothing.
    pub fn add_window(
        &mut self,
        counts: &[u64],
        weights: &[f64],
        concentration: f64,
        alpha: f64,
    ) -> Result<SrmVerdict> {
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(CoreError::invalid(format!(
                "SRM alpha {alpha} must be between 0 and 1"
            )));
        }
        let log_e = window_log_e(counts, weights, concentration)?;
        if counts.iter().any(|&c| c > 0) {
            self.windows += 1;
            let n = f64::from(self.windows);
            let log_w = -(n * (n + 1.0)).ln();
            let log_sum = match self.log_started {
                Some(s) => log_add(s, log_w),
                None => log_w,
            };
            self.log_started = Some(log_sum + log_e);
            if self.e_value() >= 1.0 / alpha && self.flagged_at_window.is_none() {
                self.flagged_at_window = Some(self.windows);
            }
        }
        Ok(self.verdict())
    }

    /// `M_n`: the started part plus the weight of the starts still to come.
    pub fn e_value(&self) -> f64 {
        let pending = 1.0 / (f64::from(self.windows) + 1.0);
        self.log_started.map_or(0.0, f64::exp) + pending
    }

    /// The verdict as it stands.
    pub fn verdict(&self) -> SrmVerdict {
        SrmVerdict {
            e_value: self.e_value(),
            flagged: self.flagged_at_window.is_some(),
            flagged_at_window: self.flagged_at_window,
        }
    }

    /// Starts over (after the cause was found and fixed): a new test from the next window.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// ln(eˣ + eʸ) without overflow.
fn log_add(x: f64, y: f64) -> f64 {
    let (hi, lo) = if x >= y { (x, y) } else { (y, x) };
    if lo == f64::NEG_INFINITY {
        hi
    } else {
        hi + (lo - hi).exp().ln_1p()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_at_the_weights_are_evidence_for_them() {
        let log_e = window_log_e(&[9_000, 1_000], &[0.9, 0.1], DEFAULT_CONCENTRATION).unwrap();
        assert!(log_e < 0.0, "{log_e}");
        let skewed = window_log_e(&[9_200, 800], &[0.9, 0.1], DEFAULT_CONCENTRATION).unwrap();
        assert!(skewed > (100f64).ln(), "{skewed}");
    }

    #[test]
    fn a_count_on_a_zero_weight_is_a_certain_mismatch() {
        assert_eq!(
            window_log_e(&[10, 1], &[1.0, 0.0], 1000.0).unwrap(),
            f64::INFINITY
        );
        let without = window_log_e(&[10, 0], &[1.0, 0.0], 1000.0).unwrap();
        assert_eq!(without, 0.0, "one category left: nothing to test");
    }

    #[test]
    fn bad_inputs_are_refused() {
        assert!(window_log_e(&[1], &[0.5, 0.5], 1000.0).is_err());
        assert!(window_log_e(&[1, 1], &[0.0, 0.0], 1000.0).is_err());
        assert!(window_log_e(&[1, 1], &[f64::NAN, 1.0], 1000.0).is_err());
        assert!(SrmMonitor::default()
            .add_window(&[1, 1], &[1.0, 1.0], 1000.0, 0.0)
            .is_err());
    }

    #[test]
    fn the_flag_latches_and_empty_windows_add_nothing() {
        let mut m = SrmMonitor::default();
        assert_eq!(m.e_value(), 1.0);
        let v = m.add_window(&[0, 0], &[0.9, 0.1], 1000.0, 0.01).unwrap();
        assert_eq!((m.windows, v.flagged), (0, false));
        m.add_window(&[9_000, 1_000], &[0.9, 0.1], 1000.0, 0.01).unwrap();
        assert!(!m.verdict().flagged);
        let v = m.add_window(&[9_300, 700], &[0.9, 0.1], 1000.0, 0.01).unwrap();
        assert!(v.flagged && v.flagged_at_window == Some(2), "{v:?}");
        let v = m.add_window(&[9_000, 1_000], &[0.9, 0.1], 1000.0, 0.01).unwrap();
        assert!(v.flagged, "a mismatch never clears by itself");
        m.reset();
        assert!(!m.verdict().flagged);
    }

    /// The martingale's expectation is at most 1 under the null: checked by exact
    /// enumeration of a small binomial window (E[E] = Σ P(x)·E(x) = 1).
    #[test]
    fn the_window_e_value_has_expectation_one_under_the_null() {
        let (n, p) = (40u64, 0.3_f64);
        let mut expectation = 0.0;
        for x in 0..=n {
            let log_binom =
                ln_gamma((n + 1) as f64) - ln_gamma((x + 1) as f64) - ln_gamma((n - x + 1) as f64);
            let log_p = log_binom + x as f64 * p.ln() + (n - x) as f64 * (1.0 - p).ln();
            let log_e = window_log_e(&[x, n - x], &[p, 1.0 - p], 20.0).unwrap();
            expectation += (log_p + log_e).exp();
        }
        assert!((expectation - 1.0).abs() < 1e-9, "{expectation}");
    }
}
