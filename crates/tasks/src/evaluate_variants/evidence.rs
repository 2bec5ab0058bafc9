//! Evidence: each look's rows added to the experiment record (per-arm metrics, paired
//! moments and pooled per-look AUC differences), and read back as the policy's evidence
//! and the report's lines.

use super::*;

/// Adds a block of this look's rows to the record: per-arm metrics and, per challenger,
/// the paired loss moments (AUC waits for the whole look: see [`accumulate_auc`]).
pub(super) fn accumulate_rows(
    record: &mut ExperimentRecord,
    metrics: &[String],
    labels: &[f64],
    predictions: &BTreeMap<String, Vec<f64>>,
) {
    let classes = needs_classes(metrics);
    for (arm, p) in predictions {
        let v = record.variants.entry(arm.clone()).or_default();
        let mut cls = v
            .classification
            .clone()
            .unwrap_or_else(|| ClassificationAccumulator::new(0.5));
        for (&pi, &yi) in p.iter().zip(labels) {
            v.regression.push(pi, yi);
            if classes {
                cls.push(pi, yi);
            }
        }
        if classes {
            v.classification = Some(cls);
        }
    }
    let Some(champion) = predictions.get(&record.champion) else {
        return;
    };
    let champion = champion.clone();
    for (arm, p) in predictions.iter().filter(|(a, _)| **a != record.champion) {
        let per_metric = record.comparisons.entry(arm.clone()).or_default();
        for metric in metrics {
            let Some((loss, statistic)) = loss_metric(metric) else {
                continue;
            };
            let entry = per_metric
                .entry(metric.clone())
                .or_insert_with(|| Evidence::Moments {
                    statistic,
                    moments: PairedLossMoments::default(),
                });
            if let Evidence::Moments { moments, .. } = entry {
                for ((&a, &b), &y) in champion.iter().zip(p).zip(labels) {
                    moments.push(loss(a, y), loss(b, y));
                }
            }
        }
    }
}

/// The look's AUC evidence, from all of its rows at once: one DeLong per challenger
/// gives both AUCs, their own SEs and the paired difference (pooled across looks).
pub(super) fn accumulate_auc(
    record: &mut ExperimentRecord,
    metrics: &[String],
    labels: &[f64],
    predictions: &BTreeMap<String, Vec<f64>>,
    alpha: f64,
) -> Result<(), TaskError> {
    let both_classes = labels.contains(&0.0) && labels.contains(&1.0);
    if !metrics.iter().any(|m| m == "auc") || !both_classes {
        return Ok(());
    }
    let Some(champion) = predictions.get(&record.champion) else {
        return Ok(());
    };
    let rows = labels.len() as u64;
    let mut champion_auc_added = false;
    for (arm, p) in predictions.iter().filter(|(a, _)| **a != record.champion) {
        let d = match delong(champion, p, labels, alpha) {
            Ok(d) => d,
            Err(weighbridge_core::CoreError::InsufficientData(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        record
            .variants
            .entry(arm.clone())
            .or_default()
            .auc
            .add_look(d.auc_b, d.se_b, rows);
        if !champion_auc_added {
            let c = record.variants.entry(record.champion.clone()).or_default();
            c.auc.add_look(d.auc_a, d.se_a, rows);
            champion_auc_added = true;
        }
        let entry = record
            .comparisons
            .entry(arm.clone())
            .or_default()
            .entry("auc".into())
            .or_insert_with(|| Evidence::Pooled {
                pooled: PooledEstimate::default(),
            });
        if let Evidence::Pooled { pooled } = entry {
            pooled.add_look(d.difference, d.se, rows);
        }
    }
    Ok(())
}

/// The value of `metric` for an arm so far.
pub(super) fn metric_value(v: &VariantRecord, metric: &str) -> Option<f64> {
    let r = v.regression.finish();
    let c = v.classification.as_ref().and_then(|c| c.finish());
    match metric {
        "rmse" => r.map(|m| m.rmse),
        "mae" => r.map(|m| m.mae),
        "log_loss" => c.map(|m| m.log_loss),
        "accuracy" => c.map(|m| m.accuracy),
        "auc" => v.auc.estimate().map(|(auc, _)| auc),
        _ => None,
    }
}

/// A pointwise (1 − alpha) interval of an arm's metric so far: from the arm's side of
/// its paired moments for mean-of-loss metrics, from the pooled per-look DeLong
/// variance for AUC. Only the compared metrics (primary and guardrails) have one.
pub(super) fn metric_interval(
    record: &ExperimentRecord,
    arm: &str,
    metric: &str,
    alpha: f64,
) -> Option<(f64, f64)> {
    if metric == "auc" {
        let (auc, se) = record.variants.get(arm)?.auc.estimate()?;
        let half = weighbridge_core::normal::quantile(1.0 - alpha / 2.0) * se;
        return Some(((auc - half).max(0.0), (auc + half).min(1.0)));
    }
    let (challenger, as_champion) = if arm == record.champion {
        (record.comparisons.keys().next()?.as_str(), true)
    } else {
        (arm, false)
    };
    match record.comparisons.get(challenger)?.get(metric)? {
        Evidence::Moments { statistic, moments } if as_champion => moments.interval_a(*statistic, alpha),
        Evidence::Moments { statistic, moments } => moments.interval_b(*statistic, alpha),
        Evidence::Pooled { .. } => None,
    }
}

pub(super) fn challenger_evidence(
    record: &ExperimentRecord,
    arms: &Arms,
    metrics: &[String],
) -> Vec<ChallengerEvidence> {
    let champion = record.variants.get(&record.champion);
    arms.names()
        .iter()
        .filter(|a| **a != record.champion)
        .filter_map(|arm| {
            let evidence_for = |metric: &String| {
                let (difference, se, rows) = record.evidence(arm, metric)?;
                Some(MetricEvidence {
                    metric: metric.clone(),
                    champion_value: champion.and_then(|c| metric_value(c, metric)).unwrap_or(0.0),
                    difference,
                    se,
                    rows,
                })
            };
            Some(ChallengerEvidence {
                variant: arm.clone(),
                primary: evidence_for(&metrics[0])?,
                guardrails: metrics[1..].iter().filter_map(evidence_for).collect(),
            })
        })
        .collect()
}

pub(super) fn variant_reports(
    record: &ExperimentRecord,
    arms: &[String],
    metrics: &[String],
    alpha: f64,
) -> Vec<VariantReport> {
    let mut shown: Vec<String> = vec!["rmse".into(), "mae".into()];
    if needs_classes(metrics) {
        shown = vec!["auc".into(), "log_loss".into(), "accuracy".into()];
    }
    arms.iter()
        .map(|arm| {
            let v = record.variants.get(arm).cloned().unwrap_or_default();
            VariantReport {
                variant: arm.clone(),
                rows: v.regression.rows(),
                metrics: shown
                    .iter()
                    .filter_map(|m| Some((m.clone(), metric_value(&v, m)?)))
                    .collect(),
                intervals: metrics
                    .iter()
                    .filter_map(|m| Some((m.clone(), metric_interval(record, arm, m, alpha)?)))
                    .collect(),
            }
        })
        .collect()
}
