//! Real training for the embedded backend: what linear-learner and xgboost do, small
//! and exact enough to tell a better model from a worse one. Label-first CSV channels in;
//! a model, its `FinalMetricDataList` and `model.tar.gz` out; bad data fails the job with
//! a FailureReason, as SageMaker does.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use weighbridge_core::codec::parse_label_first_csv;
use weighbridge_core::metrics::{roc_auc, RegressionMetrics};

/// A trained model, as stored in `model.tar.gz` (`model.json`) and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "kebab-case")]
pub enum Model {
    /// linear-learner: `intercept + weights·x`, through a sigmoid for binary_classifier.
    LinearLearner {
        /// The bias term.
        intercept: f64,
        /// One coefficient per feature.
        weights: Vec<f64>,
        /// Whether the output goes through a sigmoid.
        binary: bool,
    },
    /// xgboost: `base + Σ trees(x)`, through a sigmoid for binary:logistic.
    Xgboost {
        /// The starting margin.
        base: f64,
        /// The boosted trees, summed.
        trees: Vec<Tree>,
        /// Whether the sum goes through a sigmoid.
        binary: bool,
    },
}

/// A regression tree: internal nodes split on `feature < threshold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Tree {
    /// A leaf's value.
    Leaf {
        /// Added to the margin.
        value: f64,
    },
    /// `x[feature] < threshold` goes left.
    Split {
        /// The feature's column.
        feature: usize,
        /// The split point.
        threshold: f64,
        /// Below the threshold.
        left: Box<Tree>,
        /// At or above it.
        right: Box<Tree>,
    },
}

impl Tree {
    fn predict(&self, x: &[f64]) -> f64 {
        match self {
            Tree::Leaf { value } => *value,
            Tree::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                if x.get(*feature).copied().unwrap_or(0.0) < *threshold {
                    left.predict(x)
                } else {
                    right.predict(x)
                }
            }
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Model {
    /// The model's answer for one row of features.
    pub fn predict(&self, x: &[f64]) -> f64 {
        match self {
            Model::LinearLearner {
                intercept,
                weights,
                binary,
            } => {
                let z = intercept + weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>();
                if *binary {
                    sigmoid(z)
                } else {
                    z
                }
            }
            Model::Xgboost { base, trees, binary } => {
                let z = base + trees.iter().map(|t| t.predict(x)).sum::<f64>();
                if *binary {
                    sigmoid(z)
                } else {
                    z
                }
            }
        }
    }

    /// Whether it answers probabilities (a binary classifier).
    pub fn is_binary(&self) -> bool {
        matches!(
            self,
            Model::LinearLearner { binary: true, .. } | Model::Xgboost { binary: true, .. }
        )
    }
}

/// Rows of a channel: labels and feature rows.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// One label per row.
    pub labels: Vec<f64>,
    /// The feature rows.
    pub rows: Vec<Vec<f64>>,
}

impl Dataset {
    /// Parses label-first CSV (no header). The error is the FailureReason.
    pub fn from_csv(text: &str, channel: &str) -> Result<Self, String> {
        let parsed =
            parse_label_first_csv(text).map_err(|e| format!("ClientError: channel {channel}: {e}"))?;
        if parsed.is_empty() {
            return Err(format!("ClientError: channel {channel} has no rows"));
        }
        if let Some(row) = parsed.iter().position(|r| r.features.iter().any(|v| v.is_nan())) {
            return Err(format!(
                "ClientError: channel {channel}: row {} has an empty feature field; the local trainer does not learn missing values (fill or drop them, or train on SageMaker)",
                row + 1
            ));
        }
        Ok(Self {
            labels: parsed.iter().map(|r| r.label).collect(),
            rows: parsed.into_iter().map(|r| r.features).collect(),
        })
    }
}

fn hyper<T: std::str::FromStr>(h: &BTreeMap<String, String>, name: &str, default: T) -> Result<T, String> {
    match h.get(name) {
        None => Ok(default),
        Some(v) => v
            .trim_matches('"')
            .parse()
            .map_err(|_| format!("ClientError: hyperparameter {name}={v} is not valid")),
    }
}

/// Trains by the algorithm in the image's repository name (`linear-learner`, `xgboost`).
pub fn train(image: &str, h: &BTreeMap<String, String>, data: &Dataset) -> Result<Model, String> {
    let width = data.rows[0].len();
    if data.rows.iter().any(|r| r.len() != width) {
        return Err("ClientError: rows have different numbers of features".into());
    }
    if image.contains("linear-learner") {
        let binary = match hyper(h, "predictor_type", String::from("regressor"))?.as_str() {
            "regressor" => false,
            "binary_classifier" => true,
            other => {
                return Err(format!(
                    "ClientError: predictor_type {other} is not supported here"
                ))
            }
        };
        check_binary(binary, data)?;
        let wd: f64 = hyper(h, "wd", 1e-4)?;
        Ok(if binary {
            logistic(data, wd)
        } else {
            ridge(data, wd)
        }?)
    } else if image.contains("xgboost") {
        let objective = hyper(h, "objective", String::from("reg:squarederror"))?;
        let binary = match objective.as_str() {
            "reg:squarederror" | "reg:linear" => false,
            "binary:logistic" => true,
            other => return Err(format!("ClientError: objective {other} is not supported here")),
        };
        check_binary(binary, data)?;
        let params = BoostParams {
            rounds: hyper(h, "num_round", 100)?,
            max_depth: hyper(h, "max_depth", 6)?,
            eta: hyper(h, "eta", 0.3)?,
            subsample: hyper(h, "subsample", 1.0)?,
            min_child_weight: hyper(h, "min_child_weight", 1.0)?,
            lambda: hyper(h, "lambda", 1.0)?,
            seed: hyper(h, "seed", 0)?,
        };
        if !(params.subsample > 0.0 && params.subsample <= 1.0) || params.eta <= 0.0 {
            return Err("ClientError: subsample must be in (0, 1] and eta > 0".into());
        }
        Ok(boost(data, binary, &params))
    } else {
        Err(format!(
            "AlgorithmError: the local backend trains linear-learner and xgboost, not {image}"
        ))
    }
}

fn check_binary(binary: bool, data: &Dataset) -> Result<(), String> {
    if binary && data.labels.iter().any(|&y| y != 0.0 && y != 1.0) {
        return Err("ClientError: a binary classifier needs labels 0 or 1".into());
    }
    Ok(())
}

/// Solves `a x = b` (a symmetric positive definite after the ridge term) by Gaussian
/// elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Result<Vec<f64>, String> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        if a[pivot][col].abs() < 1e-12 {
            return Err("AlgorithmError: the features are collinear; the system is singular".into());
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            let (top, bottom) = a.split_at_mut(row);
            for (x, p) in bottom[0][col..].iter_mut().zip(&top[col][col..]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Ok(x)
}

/// Weighted ridge normal equations with an unpenalised intercept (column 0).
fn normal_equations(data: &Dataset, weights: &[f64], targets: &[f64], wd: f64) -> Result<Vec<f64>, String> {
    let d = data.rows[0].len() + 1;
    let mut a = vec![vec![0.0; d]; d];
    let mut b = vec![0.0; d];
    for ((row, &w), &t) in data.rows.iter().zip(weights).zip(targets) {
        let x: Vec<f64> = std::iter::once(1.0).chain(row.iter().copied()).collect();
        for i in 0..d {
            b[i] += w * x[i] * t;
            for j in 0..d {
                a[i][j] += w * x[i] * x[j];
            }
        }
    }
    let n = data.rows.len() as f64;
    for (i, row) in a.iter_mut().enumerate().skip(1) {
        row[i] += wd * n;
    }
    solve(a, b)
}

fn ridge(data: &Dataset, wd: f64) -> Result<Model, String> {
    let ones = vec![1.0; data.rows.len()];
    let w = normal_equations(data, &ones, &data.labels, wd)?;
    Ok(Model::LinearLearner {
        intercept: w[0],
        weights: w[1..].to_vec(),
        binary: false,
    })
}

/// Logistic regression by iteratively reweighted least squares (Newton's method).
fn logistic(data: &Dataset, wd: f64) -> Result<Model, String> {
    let mut w = vec![0.0; data.rows[0].len() + 1];
    for _ in 0..25 {
        let z: Vec<f64> = data
            .rows
            .iter()
            .map(|r| w[0] + w[1..].iter().zip(r).map(|(a, b)| a * b).sum::<f64>())
            .collect();
        let p: Vec<f64> = z.iter().map(|&z| sigmoid(z)).collect();
        let weights: Vec<f64> = p.iter().map(|&p| (p * (1.0 - p)).max(1e-6)).collect();
        let targets: Vec<f64> = z
            .iter()
            .zip(&p)
            .zip(&weights)
            .zip(&data.labels)
            .map(|(((z, p), w), y)| z + (y - p) / w)
            .collect();
        let next = normal_equations(data, &weights, &targets, wd.max(1e-6))?;
        let change: f64 = next.iter().zip(&w).map(|(a, b)| (a - b).abs()).sum();
        w = next;
        if change < 1e-8 {
            break;
        }
    }
    Ok(Model::LinearLearner {
        intercept: w[0],
        weights: w[1..].to_vec(),
        binary: true,
    })
}

struct BoostParams {
    rounds: usize,
    max_depth: usize,
    eta: f64,
    subsample: f64,
    min_child_weight: f64,
    lambda: f64,
    seed: u64,
}

/// Gradient boosting with second-order gain and exact greedy splits (as xgboost's
/// `exact` tree method), leaf weights shrunk by `eta`.
fn boost(data: &Dataset, binary: bool, p: &BoostParams) -> Model {
    let n = data.rows.len();
    let base = if binary {
        0.0
    } else {
        data.labels.iter().sum::<f64>() / n as f64
    };
    let mut margin = vec![base; n];
    let mut trees = Vec::with_capacity(p.rounds);
    let mut rng = rand::rngs::StdRng::seed_from_u64(p.seed);
    for _ in 0..p.rounds {
        let (g, h): (Vec<f64>, Vec<f64>) = margin
            .iter()
            .zip(&data.labels)
            .map(|(&m, &y)| {
                if binary {
                    let q = sigmoid(m);
                    (q - y, (q * (1.0 - q)).max(1e-16))
                } else {
                    (m - y, 1.0)
                }
            })
            .unzip();
        let rows: Vec<usize> = (0..n)
            .filter(|_| p.subsample >= 1.0 || rng.random::<f64>() < p.subsample)
            .collect();
        let tree = grow(data, &g, &h, rows, 0, p);
        for (m, row) in margin.iter_mut().zip(&data.rows) {
            *m += tree.predict(row);
        }
        trees.push(tree);
    }
    Model::Xgboost { base, trees, binary }
}

fn grow(data: &Dataset, g: &[f64], h: &[f64], rows: Vec<usize>, depth: usize, p: &BoostParams) -> Tree {
    let (gs, hs): (f64, f64) = rows.iter().fold((0.0, 0.0), |(a, b), &i| (a + g[i], b + h[i]));
    let leaf = Tree::Leaf {
        value: -p.eta * gs / (hs + p.lambda),
    };
    if depth >= p.max_depth || rows.len() < 2 {
        return leaf;
    }
    let score = |g: f64, h: f64| g * g / (h + p.lambda);
    let parent = score(gs, hs);
    let mut best: Option<(f64, usize, f64)> = None;
    for feature in 0..data.rows[0].len() {
        let mut sorted = rows.clone();
        sorted.sort_by(|&a, &b| data.rows[a][feature].total_cmp(&data.rows[b][feature]));
        let (mut gl, mut hl) = (0.0, 0.0);
        for k in 0..sorted.len() - 1 {
            let i = sorted[k];
            gl += g[i];
            hl += h[i];
            let (here, next) = (data.rows[i][feature], data.rows[sorted[k + 1]][feature]);
            if here == next || hl < p.min_child_weight || hs - hl < p.min_child_weight {
                continue;
            }
            let gain = 0.5 * (score(gl, hl) + score(gs - gl, hs - hl) - parent);
            if gain > 1e-12 && best.is_none_or(|(b, ..)| gain > b) {
                best = Some((gain, feature, (here + next) / 2.0));
            }
        }
    }
    let Some((_, feature, threshold)) = best else {
        return leaf;
    };
    let (left, right): (Vec<usize>, Vec<usize>) =
        rows.into_iter().partition(|&i| data.rows[i][feature] < threshold);
    Tree::Split {
        feature,
        threshold,
        left: Box::new(grow(data, g, h, left, depth + 1, p)),
        right: Box::new(grow(data, g, h, right, depth + 1, p)),
    }
}

/// The metrics the real algorithm reports on a channel, by their SageMaker names.
pub fn metrics(model: &Model, data: &Dataset, channel: &str) -> BTreeMap<String, f64> {
    let predictions: Vec<f64> = data.rows.iter().map(|r| model.predict(r)).collect();
    let mut out = BTreeMap::new();
    let xgb = matches!(model, Model::Xgboost { .. });
    if model.is_binary() {
        let eps = 1e-15;
        let log_loss = predictions
            .iter()
            .zip(&data.labels)
            .map(|(&p, &y)| {
                let p = p.clamp(eps, 1.0 - eps);
                -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
            })
            .sum::<f64>()
            / data.labels.len() as f64;
        let accuracy = predictions
            .iter()
            .zip(&data.labels)
            .filter(|(&p, &y)| (p >= 0.5) == (y == 1.0))
            .count() as f64
            / data.labels.len() as f64;
        let auc = roc_auc(&predictions, &data.labels).ok();
        if xgb {
            out.insert(format!("{channel}:logloss"), log_loss);
            out.insert(format!("{channel}:error"), 1.0 - accuracy);
            if let Some(a) = auc {
                out.insert(format!("{channel}:auc"), a);
            }
        } else {
            out.insert(format!("{channel}:objective_loss"), log_loss);
            out.insert(format!("{channel}:binary_classification_accuracy"), accuracy);
            if let Some(a) = auc {
                out.insert(format!("{channel}:roc_auc_score"), a);
            }
        }
    } else if let Ok(m) = RegressionMetrics::compute(&predictions, &data.labels) {
        out.insert(format!("{channel}:rmse"), m.rmse);
        out.insert(format!("{channel}:mae"), m.mae);
        if !xgb {
            out.insert(format!("{channel}:objective_loss"), m.mse);
        }
    }
    out
}

/// `model.tar.gz` as the container writes it: `xgboost-model` in xgboost's JSON format
/// for an xgboost model (rows of `num_feature` features), `model.json` for the others
/// (written to memory: only a model that does not serialise could fail, and the trainers
/// never make one).
pub fn pack(model: &Model, num_feature: usize) -> Vec<u8> {
    match crate::xgboost_export::to_xgboost_json(model, num_feature) {
        Some(xgboost) => crate::artifact::tar_gz("xgboost-model", xgboost.to_string().as_bytes()),
        None => crate::artifact::tar_gz("model.json", &serialised(model)),
    }
}

#[allow(clippy::expect_used)]
fn serialised(model: &Model) -> Vec<u8> {
    serde_json::to_vec_pretty(model).expect("a model serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, f: impl Fn(f64, f64) -> f64) -> Dataset {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|_| vec![rng.random::<f64>() * 10.0, rng.random::<f64>()])
            .collect();
        Dataset {
            labels: rows.iter().map(|r| f(r[0], r[1])).collect(),
            rows,
        }
    }

    fn h(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn linear_learner_recovers_a_line_and_separates_classes() {
        let d = data(200, |a, b| 3.0 + 2.0 * a - b);
        let m = train(
            "linear-learner:1",
            &h(&[("predictor_type", "regressor"), ("wd", "0")]),
            &d,
        )
        .unwrap();
        assert!(metrics(&m, &d, "validation")["validation:rmse"] < 1e-6);
        let d = data(400, |a, _| f64::from(u8::from(a > 5.0)));
        let m = train(
            "linear-learner:1",
            &h(&[("predictor_type", "binary_classifier")]),
            &d,
        )
        .unwrap();
        assert!(metrics(&m, &d, "validation")["validation:roc_auc_score"] > 0.99);
    }

    #[test]
    fn xgboost_fits_a_step_and_more_rounds_fit_better() {
        let d = data(300, |a, b| if a > 5.0 { 10.0 } else { 0.0 } + b);
        let rmse = |rounds: &str| {
            let m = train(
                "xgboost:1.7-1",
                &h(&[("num_round", rounds), ("max_depth", "3"), ("eta", "0.3")]),
                &d,
            )
            .unwrap();
            metrics(&m, &d, "validation")["validation:rmse"]
        };
        assert!(rmse("50") < rmse("2"));
        assert!(rmse("50") < 0.35, "{}", rmse("50"));
        let d = data(300, |a, b| f64::from(u8::from(a + b > 5.5)));
        let m = train(
            "xgboost:1.7-1",
            &h(&[("objective", "binary:logistic"), ("num_round", "30")]),
            &d,
        )
        .unwrap();
        let mm = metrics(&m, &d, "validation");
        assert!(
            mm["validation:auc"] > 0.98 && mm["validation:error"] < 0.05,
            "{mm:?}"
        );
    }

    #[test]
    fn bad_data_and_settings_fail_like_sagemaker() {
        assert!(Dataset::from_csv("1,x\n", "train")
            .unwrap_err()
            .starts_with("ClientError"));
        let d = data(20, |a, _| a);
        let err = train(
            "linear-learner:1",
            &h(&[("predictor_type", "binary_classifier")]),
            &d,
        )
        .unwrap_err();
        assert!(err.contains("labels 0 or 1"), "{err}");
        assert!(train("xgboost:1", &h(&[("objective", "rank:pairwise")]), &d).is_err());
        assert!(train("kmeans:1", &h(&[]), &d)
            .unwrap_err()
            .starts_with("AlgorithmError"));
    }

    #[test]
    fn models_round_trip_through_model_tar_gz() {
        let d = data(50, |a, b| a * b);
        let linear = train("linear-learner:1", &h(&[("predictor_type", "regressor")]), &d).unwrap();
        use crate::artifact::{unpack_artifact, Artifact};
        let Artifact::Trained(back) = unpack_artifact(&pack(&linear, 2)).unwrap() else {
            panic!("not a model.json");
        };
        assert_eq!(back, linear);
        assert!(unpack_artifact(b"not gzip").is_err());
        // xgboost: xgboost-model in xgboost's JSON, served in float32 by weighbridge-xgboost.
        let m = train("xgboost:1", &h(&[("num_round", "5")]), &d).unwrap();
        let Artifact::Xgboost(served) = unpack_artifact(&pack(&m, 2)).unwrap() else {
            panic!("not an xgboost-model");
        };
        assert_eq!(served.trees.len(), 5);
        for row in &d.rows {
            let x: Vec<f32> = row.iter().map(|&v| v as f32).collect();
            let (ours, f64_model) = (f64::from(served.predict(&x)), m.predict(row));
            assert!(
                (ours - f64_model).abs() <= 1e-4 * f64_model.abs().max(1.0),
                "{ours} vs {f64_model}"
            );
        }
    }
}
