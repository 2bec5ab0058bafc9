//! xgboost's JSON model (`learner` → `gradient_booster` → `model` → `trees`), from JSON
//! text or from UBJSON read into the same shape. Per tree: `left_children`,
//! `right_children`, `split_indices`, `split_conditions` (a leaf's value for a leaf) and
//! `default_left` (0/1, or booleans in older files). `base_score` is a string, in
//! prediction space: `"5E-1"`, or `"[5E-1]"` from xgboost 2.

use serde_json::Value;

use crate::model::{Booster, Format, Node, Tree};
use crate::{LoadError, Objective};

/// JSON text.
pub(crate) fn load_text(bytes: &[u8]) -> Result<Booster, LoadError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| LoadError::malformed(format!("JSON model: {e}")))?;
    load_value(value, Format::Json)
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Result<&'a Value, LoadError> {
    let mut cur = v;
    for (i, key) in path.iter().enumerate() {
        cur = cur
            .get(key)
            .ok_or_else(|| LoadError::malformed(format!("the model has no {}", path[..=i].join("."))))?;
    }
    Ok(cur)
}

/// A number written as a string (xgboost's parameters) or as a number.
fn number(v: &Value, what: &str) -> Result<f64, LoadError> {
    let parsed = match v {
        Value::String(s) => s
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim()
            .parse::<f64>()
            .ok(),
        Value::Number(n) => n.as_f64(),
        Value::Array(a) if a.len() == 1 => return number(&a[0], what),
        _ => None,
    };
    parsed.ok_or_else(|| LoadError::malformed(format!("{what} is {v}, not a number")))
}

fn list<'a>(tree: &'a Value, key: &str, index: usize) -> Result<&'a Vec<Value>, LoadError> {
    tree.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| LoadError::malformed(format!("tree {index} has no {key} list")))
}

fn int_at(items: &[Value], i: usize, what: &str) -> Result<i64, LoadError> {
    items
        .get(i)
        .and_then(Value::as_i64)
        .ok_or_else(|| LoadError::malformed(format!("{what}[{i}] is missing or not an integer")))
}

/// The model's value, loaded.
pub(crate) fn load_value(model: Value, format: Format) -> Result<Booster, LoadError> {
    at(&model, &["learner"])?;
    let objective_name = at(&model, &["learner", "objective", "name"])?
        .as_str()
        .ok_or_else(|| LoadError::malformed("learner.objective.name is not a string"))?;
    let objective = Objective::from_name(objective_name)?;
    let params = at(&model, &["learner", "learner_model_param"])?;
    let num_class = params
        .get("num_class")
        .map(|v| number(v, "num_class"))
        .transpose()?
        .unwrap_or(0.0);
    if num_class > 1.0 {
        return Err(LoadError::Unsupported(format!(
            "a {num_class}-class model (multi-class is not served)"
        )));
    }
    let num_target = params
        .get("num_target")
        .map(|v| number(v, "num_target"))
        .transpose()?
        .unwrap_or(1.0);
    if num_target > 1.0 {
        return Err(LoadError::Unsupported(format!(
            "a {num_target}-target model (one target is served)"
        )));
    }
    let num_feature = number(
        at(&model, &["learner", "learner_model_param", "num_feature"])?,
        "num_feature",
    )?;
    let base_score = number(
        at(&model, &["learner", "learner_model_param", "base_score"])?,
        "base_score",
    )? as f32;
    let booster = at(&model, &["learner", "gradient_booster"])?;
    let name = booster.get("name").and_then(Value::as_str).unwrap_or("gbtree");
    if name != "gbtree" {
        return Err(LoadError::Unsupported(format!(
            "booster {name:?} (gbtree is served)"
        )));
    }
    let num_feature = usize::try_from(num_feature as i64)
        .map_err(|_| LoadError::malformed(format!("num_feature is {num_feature}")))?;
    let trees = at(&model, &["learner", "gradient_booster", "model", "trees"])?
        .as_array()
        .ok_or_else(|| LoadError::malformed("gradient_booster.model.trees is not a list"))?
        .iter()
        .enumerate()
        .map(|(i, t)| tree(t, i, num_feature))
        .collect::<Result<Vec<_>, _>>()?;
    let version = model.get("version").and_then(Value::as_array).and_then(|v| {
        let part = |i: usize| {
            v.get(i)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        };
        Some((part(0)?, part(1)?, part(2)?))
    });
    Ok(Booster {
        objective,
        base_margin: objective.prob_to_margin(base_score),
        num_feature,
        trees,
        tree_limit: None,
        format,
        version,
    })
}

fn tree(t: &Value, index: usize, num_feature: usize) -> Result<Tree, LoadError> {
    if t.get("categories_nodes")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty())
    {
        return Err(LoadError::Unsupported(format!(
            "tree {index} has categorical splits"
        )));
    }
    let lefts = list(t, "left_children", index)?;
    let rights = list(t, "right_children", index)?;
    let features = list(t, "split_indices", index)?;
    let conditions = list(t, "split_conditions", index)?;
    let defaults = list(t, "default_left", index)?;
    let n = lefts.len();
    if [rights.len(), features.len(), conditions.len(), defaults.len()]
        .iter()
        .any(|&len| len != n)
    {
        return Err(LoadError::malformed(format!(
            "tree {index}'s node lists differ in length"
        )));
    }
    let nodes = (0..n)
        .map(|i| {
            let feature = int_at(features, i, "split_indices")?;
            Ok(Node {
                left: i32::try_from(int_at(lefts, i, "left_children")?).map_err(|_| {
                    LoadError::malformed(format!("tree {index}: left_children[{i}] is out of range"))
                })?,
                right: i32::try_from(int_at(rights, i, "right_children")?).map_err(|_| {
                    LoadError::malformed(format!("tree {index}: right_children[{i}] is out of range"))
                })?,
                feature: u32::try_from(feature).map_err(|_| {
                    LoadError::malformed(format!("tree {index}: split_indices[{i}] is {feature}"))
                })?,
                value: conditions[i].as_f64().ok_or_else(|| {
                    LoadError::malformed(format!("tree {index}: split_conditions[{i}] is not a number"))
                })? as f32,
                default_left: match &defaults[i] {
                    Value::Bool(b) => *b,
                    v => {
                        v.as_i64().ok_or_else(|| {
                            LoadError::malformed(format!(
                                "tree {index}: default_left[{i}] is not 0/1 or a boolean"
                            ))
                        })? != 0
                    }
                },
            })
        })
        .collect::<Result<Vec<_>, LoadError>>()?;
    Tree::new(nodes, num_feature).map_err(|e| match e {
        LoadError::Malformed(m) => LoadError::Malformed(format!("tree {index}: {m}")),
        other => other,
    })
}
