//! xgboost's legacy binary model (`Learner::LoadModel(dmlc::Stream*)`, little-endian):
//! an optional `binf` header; `LearnerModelParam` (136 bytes: `base_score` f32,
//! `num_feature` u32, `num_class` i32, `contain_extra_attrs` i32, `contain_eval_metrics`
//! i32, `major_version` u32, `minor_version` u32, then reserved — 0.90 wrote no version,
//! so 0); the objective's and the booster's names (u64 length + bytes); `GBTreeModelParam`
//! (160 bytes: `num_trees` i32 first); per tree a `TreeParam` (148 bytes: `num_nodes` the
//! 2nd i32), its nodes (20 bytes: parent, left, right i32, `sindex` u32 whose top bit is
//! the default-left flag, the threshold or leaf value f32) and their stats (16 bytes,
//! unused); `tree_info` (i32 per tree); then the attributes if flagged.
//!
//! Before 1.0 `base_score` was saved as the starting margin itself; from 1.0 it is in
//! prediction space and goes through the objective's `ProbToMargin`.

use crate::model::{Booster, Format, Node, Tree};
use crate::{LoadError, Objective};

const LEARNER_PARAM_BYTES: usize = 136;
const GBTREE_PARAM_BYTES: usize = 160;
const TREE_PARAM_BYTES: usize = 148;
const NODE_BYTES: usize = 20;
const STAT_BYTES: usize = 16;

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], LoadError> {
        match self.pos.checked_add(n).filter(|&end| end <= self.bytes.len()) {
            Some(end) => {
                let out = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(out)
            }
            None => Err(LoadError::malformed(format!(
                "legacy binary model truncated at byte {} reading {what} ({n} bytes needed, {} left)",
                self.pos,
                self.bytes.len() - self.pos
            ))),
        }
    }

    fn u32_at(block: &[u8], i: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&block[4 * i..4 * i + 4]);
        u32::from_le_bytes(b)
    }

    fn string(&mut self, what: &str) -> Result<String, LoadError> {
        let mut len = [0u8; 8];
        len.copy_from_slice(self.take(8, what)?);
        let len = u64::from_le_bytes(len);
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= 4096)
            .ok_or_else(|| LoadError::malformed(format!("{what} has length {len}")))?;
        let raw = self.take(len, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| LoadError::malformed(format!("{what} is not UTF-8")))
    }
}

/// The model, from its bytes.
pub(crate) fn load(bytes: &[u8]) -> Result<Booster, LoadError> {
    let body = bytes.strip_prefix(b"binf").unwrap_or(bytes);
    let mut r = Reader { bytes: body, pos: 0 };
    let learner = r.take(LEARNER_PARAM_BYTES, "LearnerModelParam").map_err(|_| {
        LoadError::malformed(format!(
            "{} bytes: not a JSON, UBJSON, pickle or legacy binary xgboost model",
            bytes.len()
        ))
    })?;
    let base_score = f32::from_le_bytes([learner[0], learner[1], learner[2], learner[3]]);
    let num_feature = Reader::u32_at(learner, 1) as usize;
    let num_class = Reader::u32_at(learner, 2) as i32;
    let major = Reader::u32_at(learner, 5);
    let minor = Reader::u32_at(learner, 6);
    let objective_name = r.string("the objective's name")?;
    let objective = Objective::from_name(&objective_name)?;
    if num_class > 1 {
        return Err(LoadError::Unsupported(format!(
            "a {num_class}-class model (multi-class is not served)"
        )));
    }
    let booster = r.string("the booster's name")?;
    if booster != "gbtree" {
        return Err(LoadError::Unsupported(format!(
            "booster {booster:?} (gbtree is served)"
        )));
    }
    let gbtree = r.take(GBTREE_PARAM_BYTES, "GBTreeModelParam")?;
    let num_trees = Reader::u32_at(gbtree, 0) as i32;
    let num_trees = usize::try_from(num_trees)
        .ok()
        .filter(|&n| n.saturating_mul(TREE_PARAM_BYTES) <= body.len())
        .ok_or_else(|| LoadError::malformed(format!("num_trees is {num_trees}")))?;
    let trees = (0..num_trees)
        .map(|i| tree(&mut r, i, num_feature))
        .collect::<Result<Vec<_>, _>>()?;
    // tree_info (all 0 for one output) and the attributes are not needed to predict.
    let base_margin = if major < 1 {
        base_score
    } else {
        objective.prob_to_margin(base_score)
    };
    Ok(Booster {
        objective,
        base_margin,
        num_feature,
        trees,
        tree_limit: None,
        format: Format::Binary,
        version: (major > 0).then_some((major, minor, 0)),
    })
}

fn tree(r: &mut Reader<'_>, index: usize, num_feature: usize) -> Result<Tree, LoadError> {
    let param = r.take(TREE_PARAM_BYTES, "TreeParam")?;
    let num_nodes = Reader::u32_at(param, 1) as i32;
    let num_nodes = usize::try_from(num_nodes)
        .ok()
        .filter(|&n| n > 0 && n.saturating_mul(NODE_BYTES + STAT_BYTES) <= r.bytes.len() - r.pos)
        .ok_or_else(|| LoadError::malformed(format!("tree {index} has num_nodes {num_nodes}")))?;
    let raw = r.take(num_nodes * NODE_BYTES, "the nodes")?;
    let nodes = raw
        .chunks_exact(NODE_BYTES)
        .map(|n| {
            let sindex = Reader::u32_at(n, 3);
            Node {
                left: Reader::u32_at(n, 1) as i32,
                right: Reader::u32_at(n, 2) as i32,
                feature: sindex & ((1u32 << 31) - 1),
                value: f32::from_bits(Reader::u32_at(n, 4)),
                default_left: sindex >> 31 != 0,
            }
        })
        .collect();
    r.take(num_nodes * STAT_BYTES, "the node stats")?;
    Tree::new(nodes, num_feature).map_err(|e| match e {
        LoadError::Malformed(m) => LoadError::Malformed(format!("tree {index}: {m}")),
        other => other,
    })
}
