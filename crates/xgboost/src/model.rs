//! The loaded model and its prediction, as xgboost's CPU predictor computes it: the
//! starting margin plus each tree's leaf, summed in float32 in tree order; a split sends
//! `x < threshold` (both float32) left, anything else right, and a missing value (NaN, or
//! a feature past the row's end) the split's default way.

use crate::{LoadError, Objective};

/// The form a model file was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// xgboost's JSON model.
    Json,
    /// Universal Binary JSON (`.ubj`).
    Ubjson,
    /// The legacy binary format (with or without its `binf` header).
    Binary,
    /// A Python pickle.
    Pickle,
}

/// One node, as xgboost keeps it: a leaf has no children and its value in `value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Node {
    pub left: i32,
    pub right: i32,
    pub feature: u32,
    /// The split's threshold, or the leaf's value.
    pub value: f32,
    pub default_left: bool,
}

/// A regression tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    /// A tree from its nodes (node 0 the root), checked: every child index in range,
    /// every node reached once from the root (no cycles, no shared children), every
    /// split's feature below `num_feature` when that is known.
    pub(crate) fn new(nodes: Vec<Node>, num_feature: usize) -> Result<Self, LoadError> {
        if nodes.is_empty() {
            return Err(LoadError::malformed("a tree with no nodes"));
        }
        let mut seen = vec![false; nodes.len()];
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                return Err(LoadError::malformed(format!(
                    "node {i} is reached twice (not a tree)"
                )));
            }
            let n = nodes[i];
            if n.left == -1 {
                if !n.value.is_finite() {
                    return Err(LoadError::malformed(format!("leaf {i} has value {}", n.value)));
                }
                continue;
            }
            let child = |c: i32| {
                usize::try_from(c)
                    .ok()
                    .filter(|&c| c < nodes.len())
                    .ok_or_else(|| {
                        LoadError::malformed(format!("node {i} has child {c} of {} nodes", nodes.len()))
                    })
            };
            let (left, right) = (child(n.left)?, child(n.right)?);
            if num_feature > 0 && n.feature as usize >= num_feature {
                return Err(LoadError::malformed(format!(
                    "node {i} splits on feature {} of {num_feature}",
                    n.feature
                )));
            }
            if n.value.is_nan() {
                return Err(LoadError::malformed(format!("node {i} splits at NaN")));
            }
            stack.extend([left, right]);
        }
        Ok(Self { nodes })
    }

    /// The leaf value `row` reaches.
    pub fn leaf(&self, row: &[f32]) -> f32 {
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            if n.left < 0 {
                return n.value;
            }
            let x = row.get(n.feature as usize).copied().unwrap_or(f32::NAN);
            // Without branches on the data: NaN compares false, so it takes the default.
            let go_left = (x < n.value) | (x.is_nan() & n.default_left);
            // Checked by `new`: both children are in range.
            i = if go_left { n.left } else { n.right } as usize;
        }
    }

    /// Its number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: a tree has at least its root.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// A gradient-boosted tree model with one output per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Booster {
    /// The objective: how the margin becomes the prediction.
    pub objective: Objective,
    /// The starting margin (`ProbToMargin(base_score)`, or the stored margin of a model
    /// saved before xgboost 1.0).
    pub base_margin: f32,
    /// Features the model was trained on (0: not recorded).
    pub num_feature: usize,
    /// The trees, summed in order.
    pub trees: Vec<Tree>,
    /// Trees used in prediction (the 0.90 container's `best_ntree_limit`); all if none.
    pub tree_limit: Option<usize>,
    /// The form it was loaded from.
    pub format: Format,
    /// The xgboost version that wrote it, when the file says.
    pub version: Option<(u32, u32, u32)>,
}

impl Booster {
    /// The margin for one row (features in order; NaN or absent = missing).
    pub fn predict_margin(&self, row: &[f32]) -> f32 {
        let used = self.tree_limit.unwrap_or(self.trees.len()).min(self.trees.len());
        let mut margin = self.base_margin;
        for tree in &self.trees[..used] {
            margin += tree.leaf(row);
        }
        margin
    }

    /// The prediction for one row, as `Booster.predict` answers it.
    pub fn predict(&self, row: &[f32]) -> f32 {
        self.objective.transform(self.predict_margin(row))
    }

    /// Predictions for many rows (`x` row-major, `features` per row), as xgboost's CPU
    /// predictor walks them: a block of rows through one tree at a time, so the tree's
    /// nodes stay in cache. Each row's sum still runs in tree order: the same floats as
    /// [`Booster::predict`]. (Walking the block level by level, every row one step at a
    /// time, measured no faster: bench/xgboost_speed.py.)
    pub fn predict_rows(&self, x: &[f32], features: usize) -> Vec<f32> {
        const BLOCK: usize = 64;
        let used = self.tree_limit.unwrap_or(self.trees.len()).min(self.trees.len());
        let rows: Vec<&[f32]> = x.chunks_exact(features.max(1)).collect();
        let mut margins = vec![self.base_margin; rows.len()];
        for (block, sums) in rows.chunks(BLOCK).zip(margins.chunks_mut(BLOCK)) {
            for tree in &self.trees[..used] {
                for (row, sum) in block.iter().zip(sums.iter_mut()) {
                    *sum += tree.leaf(row);
                }
            }
        }
        margins.into_iter().map(|m| self.objective.transform(m)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(feature: u32, at: f32, left: i32, right: i32, default_left: bool) -> Node {
        Node {
            left,
            right,
            feature,
            value: at,
            default_left,
        }
    }

    fn leaf(value: f32) -> Node {
        split(0, value, -1, -1, false)
    }

    #[test]
    fn splits_compare_in_float32_and_missing_values_go_the_default_way() {
        let t = Tree::new(vec![split(1, 0.1, 1, 2, true), leaf(-1.0), leaf(1.0)], 2).unwrap();
        assert_eq!(t.leaf(&[0.0, 0.05]), -1.0);
        assert_eq!(t.leaf(&[0.0, 0.1]), 1.0, "at the threshold: right");
        assert_eq!(t.leaf(&[0.0, f32::NAN]), -1.0, "missing: default left");
        assert_eq!(t.leaf(&[0.0]), -1.0, "past the row's end: missing");
        // 0.1 as f64 is above 0.1f32: compared in float32 it is equal, so right.
        assert_eq!(t.leaf(&[0.0, 0.1f64 as f32]), 1.0);
    }

    #[test]
    fn malformed_trees_are_refused() {
        let cycle = Tree::new(vec![split(0, 0.5, 0, 1, false), leaf(1.0)], 1);
        assert!(cycle.unwrap_err().to_string().contains("reached twice"));
        let out = Tree::new(vec![split(0, 0.5, 1, 7, false), leaf(1.0)], 1);
        assert!(out.unwrap_err().to_string().contains("child 7 of 2"));
        let feature = Tree::new(vec![split(3, 0.5, 1, 2, false), leaf(1.0), leaf(2.0)], 2);
        assert!(feature.unwrap_err().to_string().contains("feature 3 of 2"));
        assert!(Tree::new(vec![leaf(f32::INFINITY)], 1).is_err());
        assert!(Tree::new(vec![], 1).is_err());
    }
}
