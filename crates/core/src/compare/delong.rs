//! DeLong's test for the difference of two correlated AUCs, with the O(n log n)
//! placement-value algorithm of Sun & Xu (2014): one sort per variant.

use serde::{Deserialize, Serialize};

use crate::error::{check_binary_labels, check_finite, check_paired, CoreError, Result};
use crate::metrics::SortedScores;
use crate::normal;

/// DeLong's test of `auc_b − auc_a` for two variants scored on the same rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeLongResult {
    /// AUC of variant a.
    pub auc_a: f64,
    /// AUC of variant b.
    pub auc_b: f64,
    /// `auc_b − auc_a`.
    pub difference: f64,
    /// Standard error of the difference.
    pub se: f64,
    /// Standard errors of each AUC on its own (DeLong's variance of one variant), for
    /// per-variant intervals.
    pub se_a: f64,
    /// Standard error of b's AUC.
    pub se_b: f64,
    /// `difference / se`.
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Two-sided (1 − alpha) confidence interval of the difference.
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
    /// Rows labelled 1.
    pub positives: usize,
    /// Rows labelled 0.
    pub negatives: usize,
}

/// Rows above which the two variants are sorted on two threads.
const PARALLEL_ROWS: usize = 100_000;

/// Runs DeLong's test on `scores_b − scores_a`. Needs at least two rows of each class
/// (the covariances divide by count − 1).
pub fn delong(scores_a: &[f64], scores_b: &[f64], labels: &[f64], alpha: f64) -> Result<DeLongResult> {
    check_paired("DeLong variant A", scores_a, labels)?;
    check_binary_labels(labels)?;
    if scores_b.len() != labels.len() {
        return Err(CoreError::invalid(format!(
            "DeLong variant B: {} scores but {} labels; both variants must score the same rows",
            scores_b.len(),
            labels.len()
        )));
    }
    check_finite("DeLong variant B scores", scores_b)?;
    check_alpha(alpha)?;
    let positive: Vec<bool> = labels.iter().map(|&y| y == 1.0).collect();
    let (a, b) = if labels.len() >= PARALLEL_ROWS {
        std::thread::scope(|s| {
            let handle = s.spawn(|| SortedScores::new(scores_b, &positive));
            let a = SortedScores::new(scores_a, &positive);
            (
                a,
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            )
        })
    } else {
        (
            SortedScores::new(scores_a, &positive),
            SortedScores::new(scores_b, &positive),
        )
    };
    let (a, b) = (a?, b?);
    let (m, n) = (a.positives, a.negatives);
    if m < 2 || n < 2 {
        return Err(CoreError::insufficient(format!(
            "DeLong's test needs at least 2 positives and 2 negatives; got {m} and {n}"
        )));
    }
    let pos = covariance(&a, &b, &positive, true);
    let neg = covariance(&a, &b, &positive, false);
    // Var(θb − θa) = (S10aa + S10bb − 2 S10ab)/m + (S01aa + S01bb − 2 S01ab)/n.
    let var = (pos.aa + pos.bb - 2.0 * pos.ab) / m as f64 + (neg.aa + neg.bb - 2.0 * neg.ab) / n as f64;
    let se = var.max(0.0).sqrt();
    let se_a = (pos.aa / m as f64 + neg.aa / n as f64).max(0.0).sqrt();
    let se_b = (pos.bb / m as f64 + neg.bb / n as f64).max(0.0).sqrt();
    let difference = b.auc - a.auc;
    let z = z_score(difference, se);
    let half = normal::quantile(1.0 - alpha / 2.0) * se;
    Ok(DeLongResult {
        auc_a: a.auc,
        auc_b: b.auc,
        difference,
        se,
        se_a,
        se_b,
        z,
        p_value: normal::two_sided_p(z),
        ci_low: difference - half,
        ci_high: difference + half,
        positives: m,
        negatives: n,
    })
}

/// One variant's AUC with DeLong's variance of it alone (`S10/m + S01/n`), for a
/// two-sample comparison where each variant scored its own rows. Needs at least two rows
/// of each class.
pub fn auc_estimate(scores: &[f64], labels: &[f64]) -> Result<super::AucEstimate> {
    check_paired("AUC", scores, labels)?;
    check_binary_labels(labels)?;
    let positive: Vec<bool> = labels.iter().map(|&y| y == 1.0).collect();
    let sorted = SortedScores::new(scores, &positive)?;
    let (m, n) = (sorted.positives, sorted.negatives);
    if m < 2 || n < 2 {
        return Err(CoreError::insufficient(format!(
            "an AUC's DeLong variance needs at least 2 positives and 2 negatives; got {m} and {n}"
        )));
    }
    let pos = covariance(&sorted, &sorted, &positive, true);
    let neg = covariance(&sorted, &sorted, &positive, false);
    Ok(super::AucEstimate {
        auc: sorted.auc,
        se: (pos.aa / m as f64 + neg.aa / n as f64).max(0.0).sqrt(),
        rows: labels.len() as u64,
    })
}

/// `estimate / se`, with 0 for no difference and ±∞ for a difference with no noise.
pub(crate) fn z_score(estimate: f64, se: f64) -> f64 {
    if se > 0.0 {
        estimate / se
    } else if estimate == 0.0 {
        0.0
    } else {
        estimate.signum() * f64::INFINITY
    }
}

/// Rejects a significance level outside (0, 1).
pub(crate) fn check_alpha(alpha: f64) -> Result<()> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(CoreError::invalid(format!(
            "alpha {alpha} must be between 0 and 1 (e.g. 0.05)"
        )))
    }
}

struct Cov2 {
    aa: f64,
    bb: f64,
    ab: f64,
}

/// Sample covariance matrix (divisor count − 1) of the two variants' placement values
/// over the rows of one class. The placements are exact integers (twice the counts),
/// so the sums are accumulated in integers and scaled once.
fn covariance(a: &SortedScores, b: &SortedScores, positive: &[bool], class: bool) -> Cov2 {
    let (count, other) = if class {
        (a.positives, a.negatives)
    } else {
        (a.negatives, a.positives)
    };
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0u128, 0u128, 0u128, 0u128, 0u128);
    for ((&va, &vb), &p) in a.twice_placements.iter().zip(&b.twice_placements).zip(positive) {
        if p == class {
            let (va, vb) = (u128::from(va), u128::from(vb));
            sa += va;
            sb += vb;
            saa += va * va;
            sbb += vb * vb;
            sab += va * vb;
        }
    }
    // Σ(x − x̄)(y − ȳ) = (k·Σxy − Σx·Σy)/k, exactly in integers, then scaled by (2·other)².
    let k = count as u128;
    // Both products stay below 2¹²⁶ (k < 2³¹, placements < 2³²), so the difference is exact.
    let centred = |xy: u128, x: u128, y: u128| ((k * xy) as i128 - (x * y) as i128) as f64;
    let scale = 1.0 / ((2.0 * other as f64).powi(2) * count as f64 * (count - 1) as f64);
    Cov2 {
        aa: centred(saa, sa, sa) * scale,
        bb: centred(sbb, sb, sb) * scale,
        ab: centred(sab, sa, sb) * scale,
    }
}
