//! ROC AUC in the Mann–Whitney form, from one sort of the scores.
//!
//! The same pass yields every row's *placement value* (the share of the other class a
//! row beats, ties counting one half), which is exactly what DeLong's test needs; so
//! AUC and DeLong share this code and a paired DeLong costs one sort per variant.
//!
//! The sort is the hot spot of the whole evaluator, so it is a radix sort of one u64 per
//! row: the score's order-preserving bits on top, the row index and its class packed
//! into the low bits. The low score bits that the packing drops are restored by sorting
//! each run of equal truncated keys by the full score, which keeps ties exact.

use crate::error::{check_binary_labels, check_paired, CoreError, Result};

/// One variant's scores after the sort: its AUC and the placement value of every row,
/// in the original row order.
#[derive(Debug, Clone)]
pub struct SortedScores {
    /// Area under the ROC curve, ties counted one half.
    pub auc: f64,
    /// Twice each row's placement count, so halves stay integers. For a positive row:
    /// 2·(negatives scored below it) + (negatives tied with it), DeLong's V10 times 2n.
    /// For a negative row: 2·(positives above it) + (positives tied), V01 times 2m.
    pub twice_placements: Vec<u32>,
    /// Number of positive rows (label 1), m.
    pub positives: usize,
    /// Number of negative rows (label 0), n.
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

/// The most rows one sort takes: twice a class count must fit a u32.
pub const MAX_ROWS: usize = (u32::MAX / 2) as usize;

impl SortedScores {
    /// Sorts once and walks the tie groups. `positive[i]` is row i's class; both classes
    /// must occur.
    pub fn new(scores: &[f64], positive: &[bool]) -> Result<Self> {
        debug_assert_eq!(scores.len(), positive.len());
        let rows = scores.len();
        if rows > MAX_ROWS {
            return Err(CoreError::invalid(format!(
                "{rows} rows is more than one AUC computation takes ({MAX_ROWS}); split the data"
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
        // Low bits: the row index and one class bit. High bits: the score's key.
        let low_bits = (usize::BITS - (rows - 1).leading_zeros()) + 1;
        let low_mask = (1u64 << low_bits) - 1;
        let mut packed: Vec<u64> = scores
            .iter()
            .zip(positive)
            .enumerate()
            .map(|(i, (&s, &p))| (order_key(s) & !low_mask) | ((i as u64) << 1) | p as u64)
            .collect();
        radix_sort_high_bits(&mut packed, low_bits);

        let mut walk = Walk {
            twice: vec![0u32; rows],
            positives: m as u32,
            pos_below: 0,
            neg_below: 0,
            twice_sum_pos: 0,
        };
        let full_key = |e: &u64| order_key(scores[((e & low_mask) >> 1) as usize]);
        for run in packed.chunk_by_mut(|a, b| a >> low_bits == b >> low_bits) {
            if let [e] = *run {
                walk.single(e, low_mask);
            } else {
                // Equal truncated keys: order by the full score, then group exact ties.
                run.sort_unstable_by_key(full_key);
                for group in run.chunk_by(|a, b| full_key(a) == full_key(b)) {
                    walk.group(group, low_mask);
                }
            }
        }
        Ok(SortedScores {
            auc: walk.twice_sum_pos as f64 / (2.0 * m as f64 * n as f64),
            twice_placements: walk.twice,
            positives: m,
            negatives: n,
        })
    }
}

/// The walk over the sorted rows, from the lowest score up.
struct Walk {
    twice: Vec<u32>,
    positives: u32,
    pos_below: u32,
    neg_below: u32,
    twice_sum_pos: u64,
}

impl Walk {
    /// A group of rows with exactly the same score (packed as in `SortedScores::new`).
    fn group(&mut self, group: &[u64], low_mask: u64) {
        let pos_in = group.iter().filter(|&&e| e & 1 == 1).count() as u32;
        let neg_in = group.len() as u32 - pos_in;
        let v10 = 2 * self.neg_below + neg_in;
        let v01 = 2 * (self.positives - self.pos_below - pos_in) + pos_in;
        for &e in group {
            self.twice[((e & low_mask) >> 1) as usize] = if e & 1 == 1 { v10 } else { v01 };
        }
        self.twice_sum_pos += u64::from(v10) * u64::from(pos_in);
        self.pos_below += pos_in;
        self.neg_below += neg_in;
    }

    /// The common case, a score no other row has: no tie bookkeeping.
    #[inline]
    fn single(&mut self, e: u64, low_mask: u64) {
        let row = ((e & low_mask) >> 1) as usize;
        if e & 1 == 1 {
            let v10 = 2 * self.neg_below;
            self.twice[row] = v10;
            self.twice_sum_pos += u64::from(v10);
            self.pos_below += 1;
        } else {
            self.twice[row] = 2 * (self.positives - self.pos_below);
            self.neg_below += 1;
        }
    }
}

/// LSD radix sort of `values` by their bits above `skip` (the low bits are payload and
/// need no order), 11 bits a pass, with every pass's histogram counted in one read.
fn radix_sort_high_bits(values: &mut Vec<u64>, skip: u32) {
    const DIGIT: u32 = 11;
    const BUCKETS: usize = 1 << DIGIT;
    let passes = (64 - skip).div_ceil(DIGIT) as usize;
    let mut counts = vec![[0usize; BUCKETS]; passes];
    for &v in values.iter() {
        for (p, c) in counts.iter_mut().enumerate() {
            c[((v >> (skip + p as u32 * DIGIT)) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    let mut scratch = vec![0u64; values.len()];
    for (p, c) in counts.iter_mut().enumerate() {
        // A digit that every value shares needs no pass.
        if c.contains(&values.len()) {
            continue;
        }
        let mut offset = 0;
        for slot in c.iter_mut() {
            let here = *slot;
            *slot = offset;
            offset += here;
        }
        let shift = skip + p as u32 * DIGIT;
        for &v in values.iter() {
            let d = ((v >> shift) as usize) & (BUCKETS - 1);
            scratch[c[d]] = v;
            c[d] += 1;
        }
        std::mem::swap(values, &mut scratch);
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

/// The ROC curve as (false-positive rate, true-positive rate) points from (0,0) to
/// (1,1), one per distinct score (ties move diagonally), thinned to about `max_points`.
pub fn roc_curve(scores: &[f64], labels: &[f64], max_points: usize) -> Result<Vec<(f64, f64)>> {
    check_paired("ROC curve", scores, labels)?;
    check_binary_labels(labels)?;
    let m = labels.iter().filter(|&&y| y == 1.0).count();
    let n = labels.len() - m;
    if m == 0 || n == 0 {
        return Err(CoreError::insufficient("a ROC curve needs both classes"));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0usize, 0usize);
    for group in order.chunk_by(|&a, &b| scores[a] == scores[b]) {
        for &i in group {
            if labels[i] == 1.0 {
                tp += 1;
            } else {
                fp += 1;
            }
        }
        points.push((fp as f64 / n as f64, tp as f64 / m as f64));
    }
    let stride = points.len().div_ceil(max_points.max(2));
    let last = points.last().copied().unwrap_or((0.0, 0.0));
    let mut thinned: Vec<(f64, f64)> = points.into_iter().step_by(stride.max(1)).collect();
    if thinned.last() != Some(&last) {
        thinned.push(last);
    }
    Ok(thinned)
}
