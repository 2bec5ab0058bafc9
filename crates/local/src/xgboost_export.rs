//! The local trainer's xgboost model in xgboost's own JSON model format (the 1.7 schema),
//! so `model.tar.gz` holds an `xgboost-model` as the SageMaker container's does: real
//! xgboost loads it (`Booster(model_file=…)`) and predicts what the embedded backend
//! serves from the same file (scripts/xgboost_golden.py checks it).
//!
//! Trees are numbered breadth first. The trainer reads a feature past the row's end as
//! 0, so each split's default direction for a missing value is the side 0 falls on.
//! Thresholds, leaves and the base become float32, as in any xgboost model; `base_score`
//! is written in prediction space (the sigmoid of the base margin for binary:logistic).

use serde_json::{json, Value};

use crate::training::{Model, Tree};

/// The model as xgboost JSON, for rows of `num_feature` features (xgboost refuses wider
/// rows than the model says); `None` for a model that is not xgboost.
pub fn to_xgboost_json(model: &Model, num_feature: usize) -> Option<Value> {
    let Model::Xgboost { base, trees, binary } = model else {
        return None;
    };
    let used = trees.iter().map(max_feature).max().map_or(0, |f| f + 1);
    let num_feature = num_feature.max(used);
    let (objective, base_score) = if *binary {
        ("binary:logistic", 1.0 / (1.0 + (-base).exp()))
    } else {
        ("reg:squarederror", *base)
    };
    let trees: Vec<Value> = trees
        .iter()
        .enumerate()
        .map(|(id, t)| tree_json(t, id, num_feature))
        .collect();
    Some(json!({
        "learner": {
            "attributes": {},
            "feature_names": [],
            "feature_types": [],
            "gradient_booster": {
                "model": {
                    "gbtree_model_param": {
                        "num_parallel_tree": "1",
                        "num_trees": trees.len().to_string(),
                        "size_leaf_vector": "0"
                    },
                    "tree_info": vec![0; trees.len()],
                    "trees": trees
                },
                "name": "gbtree"
            },
            "learner_model_param": {
                "base_score": format!("{:E}", base_score as f32),
                "boost_from_average": "1",
                "num_class": "0",
                "num_feature": num_feature.to_string(),
                "num_target": "1"
            },
            "objective": {"name": objective, "reg_loss_param": {"scale_pos_weight": "1"}}
        },
        "version": [1, 7, 6]
    }))
}

fn max_feature(t: &Tree) -> usize {
    match t {
        Tree::Leaf { .. } => 0,
        Tree::Split {
            feature, left, right, ..
        } => (*feature).max(max_feature(left)).max(max_feature(right)),
    }
}

/// One tree's node arrays, breadth first from the root.
fn tree_json(root: &Tree, id: usize, num_feature: usize) -> Value {
    let mut order: Vec<(&Tree, i64)> = vec![(root, 2_147_483_647)];
    let (mut lefts, mut rights) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < order.len() {
        let (node, _) = order[i];
        if let Tree::Split { left, right, .. } = node {
            lefts.push(order.len() as i64);
            order.push((left, i as i64));
            rights.push(order.len() as i64);
            order.push((right, i as i64));
        } else {
            lefts.push(-1);
            rights.push(-1);
        }
        i += 1;
    }
    let n = order.len();
    let (mut features, mut conditions, mut defaults, mut weights) = (vec![], vec![], vec![], vec![]);
    for (node, _) in &order {
        match node {
            Tree::Leaf { value } => {
                features.push(0);
                conditions.push(f64::from(*value as f32));
                defaults.push(0);
                weights.push(f64::from(*value as f32));
            }
            Tree::Split {
                feature, threshold, ..
            } => {
                let threshold = *threshold as f32;
                features.push(*feature);
                conditions.push(f64::from(threshold));
                defaults.push(u8::from(0.0 < threshold));
                weights.push(0.0);
            }
        }
    }
    json!({
        "base_weights": weights,
        "categories": [],
        "categories_nodes": [],
        "categories_segments": [],
        "categories_sizes": [],
        "default_left": defaults,
        "id": id,
        "left_children": lefts,
        "loss_changes": vec![0.0; n],
        "parents": order.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
        "right_children": rights,
        "split_conditions": conditions,
        "split_indices": features,
        "split_type": vec![0; n],
        "sum_hessian": vec![0.0; n],
        "tree_param": {
            "num_deleted": "0",
            "num_feature": num_feature.to_string(),
            "num_nodes": n.to_string(),
            "size_leaf_vector": "0"
        }
    })
}
