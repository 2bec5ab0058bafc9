//! ROC AUC in the Mann–Whitney form, from one sort of the scores.
//!
//! The same pass yields every row's *placement value* (the share of the other class a
//! row beats, ties counting one half), which is exactly what DeLong's test needs; so
//! AUC and DeLong share this code and a paired DeLong costs one sort per variant.

use crate::error::{check_binary_labels, check_paired, CoreError, Result};

/// One variant's scores after the sort: its AUC and the placement value of every row,
/// in the original row order.
#[derive(Debug, Clone)]
pub struct SortedScores {
    /// Area under the ROC curve, ties counted one half.
    pub auc: f64,
    /// For a positive row: the share of negatives scored below it (+½ per tie), DeLong's
    /// V10. For a negative row: the share of positives scored above it (+½ per tie), V01.
    pub placements: Vec<f64>,
    /// Number of positive rows (label 1).
    pub positives: usize,
    /// Number of negative rows (label 0).
    pub negatives: usize,
}

/// Maps an f64 to a u64 whose unsigned order is the numeric order (−0 and +0 tie),
/// so a radix sort can order scores.
fn order_key(x: f64) -> u64 {
    let bits = if x == 0.0 { 0u64 } else { x.to_bits() };
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

impl SortedScores {
    /// Sorts once (LSD radix sort of (key, row) pairs) and walks the tie groups.
    /// `positive[i]` is row i's class; both classes must occur.
    pub fn new(scores: &[f64], positive: &[bool]) -> Result<Self> {
        debug_assert_eq!(scores.len(), positive.len());
        let rows = scores.len();
        if rows > u32::MAX as usize {
            return Err(CoreError::invalid(format!(
                "{rows} rows is more than one AUC computation takes ({}); split the data",
                u32::MAX
            )));
        }
        let m = positive.iter().filter(|&&p| p).count();
        let n = rows - m;
        if m == 0 || n == 0 {
            return Err(CoreError::insufficient(format!(
                "AUC needs both classes, but all {rows} rows are {}",
                if m == 0 { "negative (0)" } else { "positive (1)" }
            )));
        }
        let mut keyed: Vec<(u64, u32)> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| (order_key(s), i as u32))
            .collect();
        radsort::sort_by_key(&mut keyed, |&(key, _)| key);

        let mut placements = vec![0.0; rows];
        let (mf, nf) = (m as f64, n as f64);
        let (mut pos_below, mut neg_below) = (0usize, 0usize);
        let mut sum_pos = 0.0;
        for group in keyed.chunk_by(|a, b| a.0 == b.0) {
            let pos_in = group.iter().filter(|&&(_, i)| positive[i as usize]).count();
            let neg_in = group.len() - pos_in;
            let v10 = (neg_below as f64 + 0.5 * neg_in as f64) / nf;
            let v01 = ((m - pos_below - pos_in) as f64 + 0.5 * pos_in as f64) / mf;
            for &(_, i) in group {
                placements[i as usize] = if positive[i as usize] { v10 } else { v01 };
            }
            sum_pos += v10 * pos_in as f64;
            pos_below += pos_in;
            neg_below += neg_in;
        }
        Ok(SortedScores {
            auc: sum_pos / mf,
            placements,
            positives: m,
            negatives: n,
        })
    }
}

/// Converts validated 0/1 labels to classes.
pub(crate) fn classes(labels: &[f64]) -> Vec<bool> {
    labels.iter().map(|&y| y == 1.0).collect()
}

/// ROC AUC from scores (never from thresholded labels), tie-aware. Errors on length
/// mismatch, non-finite values, labels other than 0/1, or a single class.
pub fn roc_auc(scores: &[f64], labels: &[f64]) -> Result<f64> {
    check_paired("AUC", scores, labels)?;
    check_binary_labels(labels)?;
    Ok(SortedScores::new(scores, &classes(labels))?.auc)
}
