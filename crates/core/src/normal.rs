//! The standard normal distribution, used by every test statistic in the core.
//! A thin wrapper over `statrs` so callers do not construct distributions by hand.

use statrs::distribution::{ContinuousCDF, Normal};

#[allow(clippy::expect_used)] // constant parameters: cannot fail
fn standard() -> Normal {
    Normal::new(0.0, 1.0).expect("the standard normal has valid parameters")
}

/// P(Z <= z).
pub fn cdf(z: f64) -> f64 {
    standard().cdf(z)
}

/// The z with P(Z <= z) = p.
pub fn quantile(p: f64) -> f64 {
    standard().inverse_cdf(p)
}

/// Two-sided p-value of a z statistic: P(|Z| >= |z|).
pub fn two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    (2.0 * standard().sf(z.abs())).min(1.0)
}
