//! A full comparison of two or more variants scored on the same labelled rows: every
//! metric per variant and each challenger's paired tests against the baseline (the
//! first variant). `weighbridge compare` prints it; the evaluator reuses it.

use serde::{Deserialize, Serialize};

use super::{delong, loss_metric, paired_bootstrap, BootstrapConfig, LossStatistic};
use crate::error::{check_binary_labels, check_paired, CoreError, Result};
use crate::metrics::{ClassificationMetrics, RegressionMetrics, Task};

/// How to compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareOptions {
    /// `None`: inferred from the labels (all 0/1 → classification).
    pub task: Option<Task>,
    /// Classification threshold for accuracy/precision/recall/F1.
    pub threshold: f64,
    /// Significance level of intervals and tests.
    pub alpha: f64,
    /// Settings of the paired bootstrap (RMSE, MAE, log-loss).
    pub bootstrap: BootstrapConfig,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            task: None,
            threshold: 0.5,
            alpha: 0.05,
            bootstrap: BootstrapConfig::default(),
        }
    }
}

/// One variant's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VariantMetrics {
    /// Regression metrics.
    Regression(RegressionMetrics),
    /// Classification metrics.
    Classification(ClassificationMetrics),
}

/// A named variant and its metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantReport {
    /// The variant's name.
    pub name: String,
    /// Its metrics.
    pub metrics: VariantMetrics,
}

/// One paired test of `challenger − baseline` on one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// The variant compared against (the first).
    pub baseline: String,
    /// The variant compared.
    pub challenger: String,
    /// The metric.
    pub metric: String,
    /// `delong` or `paired_bootstrap`.
    pub method: String,
    /// The baseline's value.
    pub baseline_value: f64,
    /// The challenger's value.
    pub challenger_value: f64,
    /// `challenger − baseline`.
    pub difference: f64,
    /// Standard error of the difference.
    pub se: f64,
    /// Lower end of the (1 − alpha) interval.
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
    /// Two-sided p-value for no difference.
    pub p_value: f64,
}

/// Everything `weighbridge compare` reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonReport {
    /// Regression or classification.
    pub task: Task,
    /// Rows compared.
    pub rows: usize,
    /// The significance level used.
    pub alpha: f64,
    /// Every variant's metrics.
    pub variants: Vec<VariantReport>,
    /// Every variant after the first against the first, per metric.
    pub comparisons: Vec<MetricComparison>,
}

/// Compares variants (name, predictions) on `labels`. The first variant is the baseline.
pub fn compare_variants(
    labels: &[f64],
    variants: &[(String, Vec<f64>)],
    options: &CompareOptions,
) -> Result<ComparisonReport> {
    if variants.is_empty() {
        return Err(CoreError::invalid(
            "no prediction files: pass at least one variant",
        ));
    }
    for (name, predictions) in variants {
        check_paired(&format!("variant {name}"), predictions, labels)?;
    }
    let task = options.task.unwrap_or_else(|| Task::infer(labels));
    if task == Task::BinaryClassification {
        check_binary_labels(labels)?;
        if labels.iter().all(|&y| y == labels[0]) {
            return Err(CoreError::insufficient(format!(
                "all {} labels are {}; AUC and the paired tests need both classes",
                labels.len(),
                labels[0]
            )));
        }
    }
    let reports = variants
        .iter()
        .map(|(name, p)| {
            let metrics =
                match task {
                    Task::Regression => VariantMetrics::Regression(RegressionMetrics::compute(p, labels)?),
                    Task::BinaryClassification => VariantMetrics::Classification(
                        ClassificationMetrics::compute(p, labels, options.threshold)?,
                    ),
                };
            Ok(VariantReport {
                name: name.clone(),
                metrics,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let (base_name, base) = &variants[0];
    let mut comparisons = Vec::new();
    for (name, challenger) in &variants[1..] {
        let pair = |metric: &str, method: &str, a: f64, b: f64, d: f64, se: f64, lo: f64, hi: f64, p: f64| {
            MetricComparison {
                baseline: base_name.clone(),
                challenger: name.clone(),
                metric: metric.into(),
                method: method.into(),
                baseline_value: a,
                challenger_value: b,
                difference: d,
                se,
                ci_low: lo,
                ci_high: hi,
                p_value: p,
            }
        };
        let boot = |metric: &str| -> Result<MetricComparison> {
            let (loss, stat) = loss_metric(metric)
                .ok_or_else(|| CoreError::invalid(format!("{metric} is not a mean-of-loss metric")))?;
            let la: Vec<f64> = base.iter().zip(labels).map(|(&p, &y)| loss(p, y)).collect();
            let lb: Vec<f64> = challenger.iter().zip(labels).map(|(&p, &y)| loss(p, y)).collect();
            let mut config = options.bootstrap.clone();
            config.alpha = options.alpha;
            let r = paired_bootstrap(&la, &lb, stat, &config)?;
            let value = |l: &[f64]| {
                let mean = l.iter().sum::<f64>() / l.len() as f64;
                if stat == LossStatistic::RootMean {
                    mean.sqrt()
                } else {
                    mean
                }
            };
            Ok(pair(
                metric,
                "paired_bootstrap",
                value(&la),
                value(&lb),
                r.estimate,
                r.se,
                r.ci_low,
                r.ci_high,
                r.p_value,
            ))
        };
        match task {
            Task::Regression => {
                comparisons.push(boot("rmse")?);
                comparisons.push(boot("mae")?);
            }
            Task::BinaryClassification => {
                let d = delong(base, challenger, labels, options.alpha)?;
                comparisons.push(pair(
                    "auc",
                    "delong",
                    d.auc_a,
                    d.auc_b,
                    d.difference,
                    d.se,
                    d.ci_low,
                    d.ci_high,
                    d.p_value,
                ));
                comparisons.push(boot("log_loss")?);
            }
        }
    }
    Ok(ComparisonReport {
        task,
        rows: labels.len(),
        alpha: options.alpha,
        variants: reports,
        comparisons,
    })
}
