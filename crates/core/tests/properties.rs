//! Property tests: the invariants that must hold for any input.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::collections::BTreeMap;

use proptest::prelude::*;
use weighbridge_core::compare::delong;
use weighbridge_core::metrics::{roc_auc, ClassificationMetrics, RegressionAccumulator, RegressionMetrics};
use weighbridge_core::policy::{
    decide, Action, ChallengerEvidence, Direction, MetricEvidence, PolicyConfig, Promotion,
};

/// Scores on a small integer grid (so ties are common) with labels of both classes.
fn labelled_scores() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (2usize..120).prop_flat_map(|n| {
        (
            prop::collection::vec(-20i32..20, n),
            prop::collection::vec(prop::bool::ANY, n),
        )
            .prop_filter("both classes", |(_, y)| {
                y.iter().any(|&b| b) && y.iter().any(|&b| !b)
            })
            .prop_map(|(s, y)| {
                (
                    s.into_iter().map(f64::from).collect(),
                    y.into_iter().map(|b| if b { 1.0 } else { 0.0 }).collect(),
                )
            })
    })
}

fn permuted<T: Clone>(values: &[T], order: &[usize]) -> Vec<T> {
    order.iter().map(|&i| values[i].clone()).collect()
}

fn rel_close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-10 * a.abs().max(b.abs()) + 1e-12
}

proptest! {
    #[test]
    fn auc_is_invariant_to_monotone_transforms((scores, labels) in labelled_scores()) {
        let base = roc_auc(&scores, &labels).unwrap();
        let transforms: [fn(f64) -> f64; 3] = [|x| 2.0 * x + 3.0, |x| x * x * x, f64::exp];
        for f in transforms {
            let t: Vec<f64> = scores.iter().map(|&x| f(x)).collect();
            prop_assert_eq!(roc_auc(&t, &labels).unwrap(), base);
        }
        // A decreasing transform mirrors the AUC.
        let neg: Vec<f64> = scores.iter().map(|&x| -x).collect();
        prop_assert!(rel_close(roc_auc(&neg, &labels).unwrap(), 1.0 - base));
    }

    #[test]
    fn metrics_do_not_depend_on_row_order(
        (scores, labels) in labelled_scores(),
        seed in any::<u64>(),
    ) {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        // A seeded Fisher–Yates shuffle keeps the failing case reproducible.
        let mut state = seed | 1;
        for i in (1..order.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let (s2, y2) = (permuted(&scores, &order), permuted(&labels, &order));
        let probs: Vec<f64> = scores.iter().map(|&x| 1.0 / (1.0 + (-x / 5.0).exp())).collect();
        let p2 = permuted(&probs, &order);
        let a = ClassificationMetrics::compute(&probs, &labels, 0.5).unwrap();
        let b = ClassificationMetrics::compute(&p2, &y2, 0.5).unwrap();
        prop_assert_eq!(a.auc, b.auc);
        prop_assert!(rel_close(a.log_loss, b.log_loss));
        prop_assert_eq!((a.accuracy, a.precision, a.recall, a.f1), (b.accuracy, b.precision, b.recall, b.f1));
        let r1 = RegressionMetrics::compute(&scores, &labels).unwrap();
        let r2 = RegressionMetrics::compute(&s2, &y2).unwrap();
        prop_assert!(rel_close(r1.rmse, r2.rmse) && rel_close(r1.mae, r2.mae) && rel_close(r1.r2, r2.r2));
    }

    #[test]
    fn merged_accumulators_equal_one_pass((scores, labels) in labelled_scores(), cut in 0usize..120) {
        let cut = cut.min(scores.len());
        let mut whole = RegressionAccumulator::new();
        let (mut left, mut right) = (RegressionAccumulator::new(), RegressionAccumulator::new());
        for (i, (&p, &y)) in scores.iter().zip(&labels).enumerate() {
            whole.push(p, y);
            if i < cut { left.push(p, y) } else { right.push(p, y) }
        }
        left.merge(&right);
        let (a, b) = (whole.finish().unwrap(), left.finish().unwrap());
        prop_assert!(rel_close(a.mse, b.mse) && rel_close(a.mae, b.mae));
        prop_assert!((a.r2 - b.r2).abs() < 1e-9);
    }

    #[test]
    fn delong_is_antisymmetric((scores, labels) in labelled_scores(), shift in -5i32..5) {
        let other: Vec<f64> = scores.iter().enumerate().map(|(i, &s)| s + f64::from(shift * (i as i32 % 3))).collect();
        if let (Ok(ab), Ok(ba)) = (delong(&scores, &other, &labels, 0.05), delong(&other, &scores, &labels, 0.05)) {
            prop_assert!(rel_close(ab.difference, -ba.difference));
            prop_assert!(rel_close(ab.se, ba.se));
            prop_assert!(rel_close(ab.p_value, ba.p_value));
        }
    }
}

fn arb_weights() -> impl Strategy<Value = BTreeMap<String, f64>> {
    prop::collection::vec(prop_oneof![Just(0.0), 0.0f64..100.0], 1..6)
        .prop_filter("not all zero", |w| w.iter().any(|&x| x > 0.0))
        .prop_map(|w| {
            w.into_iter()
                .enumerate()
                .map(|(i, x)| (format!("variant-{i}"), x))
                .collect()
        })
}

fn arb_config() -> impl Strategy<Value = PolicyConfig> {
    (
        0.001f64..0.3,
        0.01f64..=1.0,
        0.0f64..0.45,
        prop::bool::ANY,
        0.0f64..0.1,
        0u64..500,
    )
        .prop_map(
            |(alpha, max_step, floor, immediate, min_improvement, min_rows)| PolicyConfig {
                alpha,
                max_step,
                floor,
                promotion: if immediate {
                    Promotion::Immediate
                } else {
                    Promotion::Stepwise
                },
                min_improvement,
                min_rows,
                ..PolicyConfig::default()
            },
        )
}

proptest! {
    #[test]
    fn policy_weights_are_always_valid(
        weights in arb_weights(),
        config in arb_config(),
        effects in prop::collection::vec((-1.0f64..1.0, 0.0f64..0.5, 0u64..2000), 6),
    ) {
        let normalised_total: f64 = weights.values().sum();
        let champion = weights.iter().fold(None::<(&String, f64)>, |best, (k, &w)| match best {
            Some((_, bw)) if bw >= w => best,
            _ => Some((k, w)),
        }).unwrap().0.clone();
        let evidence: Vec<ChallengerEvidence> = weights.keys().filter(|k| **k != champion).zip(&effects)
            .map(|(k, &(difference, se, rows))| ChallengerEvidence {
                variant: k.clone(),
                primary: MetricEvidence { metric: "rmse".into(), champion_value: 1.0, difference, se, rows },
                guardrails: vec![],
            })
            .collect();
        let d = decide(&weights, &evidence, &config).unwrap();
        prop_assert_eq!(d.weights.keys().collect::<Vec<_>>(), weights.keys().collect::<Vec<_>>());
        prop_assert!(d.weights.values().all(|w| w.is_finite() && *w >= 0.0));
        let total: f64 = d.weights.values().sum();
        prop_assert!((total - 1.0).abs() < 1e-9, "weights sum to {}", total);
        prop_assert!(!d.reason.is_empty());
        for (k, &w) in &d.weights {
            let before = weights[k] / normalised_total;
            match d.action {
                Action::Hold => prop_assert!((w - before).abs() < 1e-12),
                Action::Shift => prop_assert!((w - before).abs() <= config.max_step + 1e-9),
                Action::Promote => prop_assert!(w == 0.0 || w == 1.0),
                Action::Rollback | Action::Graduate | Action::Remove => {}
            }
        }
        if d.action == Action::Shift {
            prop_assert!(d.weights[&d.champion] > config.floor - 1e-9);
        }
        if d.action == Action::Rollback {
            for v in d.verdicts.iter().filter(|v| v.interval.1 < 0.0 && v.rows >= config.min_rows) {
                prop_assert_eq!(d.weights[&v.variant], 0.0);
            }
        }
    }

    #[test]
    fn invalid_weights_are_rejected_not_panicked(bad in prop_oneof![Just(f64::NAN), Just(-1.0), Just(f64::INFINITY)]) {
        let weights: BTreeMap<String, f64> = [("a".to_string(), 1.0), ("b".to_string(), bad)].into();
        let err = decide(&weights, &[], &PolicyConfig::default()).unwrap_err();
        prop_assert_eq!(err.name(), "Weighbridge.InvalidInput");
    }
}

#[test]
fn direction_names_cover_the_sagemaker_metrics() {
    assert_eq!(
        Direction::of_metric("validation:rmse"),
        Some(Direction::LowerIsBetter)
    );
    assert_eq!(
        Direction::of_metric("validation:auc"),
        Some(Direction::HigherIsBetter)
    );
    assert_eq!(Direction::of_metric("throughput"), None);
}

/// AUC from its definition: the share of (positive, negative) pairs ordered right.
fn brute_force_auc(scores: &[f64], labels: &[f64]) -> f64 {
    let (mut num, mut pairs) = (0.0, 0.0);
    for (i, &si) in scores.iter().enumerate() {
        for (j, &sj) in scores.iter().enumerate() {
            if labels[i] == 1.0 && labels[j] == 0.0 {
                pairs += 1.0;
                num += if si > sj {
                    1.0
                } else if si == sj {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    num / pairs
}

proptest! {
    /// Scores one ulp apart must not be merged into ties by the radix sort's packing,
    /// and −0 / +0 must tie.
    #[test]
    fn auc_is_exact_for_scores_one_ulp_apart(
        steps in prop::collection::vec((0u64..4, prop::bool::ANY), 2..300),
        base in prop_oneof![Just(0.5f64), Just(-3.25), Just(1e-300), Just(0.0)],
    ) {
        let scores: Vec<f64> = steps.iter().map(|&(k, _)| {
            if base == 0.0 { if k % 2 == 0 { 0.0 } else { -0.0 } } else { f64::from_bits(base.to_bits() + k) }
        }).collect();
        let labels: Vec<f64> = steps.iter().map(|&(_, y)| if y { 1.0 } else { 0.0 }).collect();
        prop_assume!(labels.contains(&0.0) && labels.contains(&1.0));
        prop_assert_eq!(roc_auc(&scores, &labels).unwrap(), brute_force_auc(&scores, &labels));
    }
}

proptest! {
    /// The ROC curve runs from (0,0) to (1,1), never goes back, and its area is the AUC.
    #[test]
    fn roc_curve_area_is_the_auc((scores, labels) in labelled_scores()) {
        let curve = weighbridge_core::metrics::roc_curve(&scores, &labels, usize::MAX).unwrap();
        prop_assert_eq!(curve[0], (0.0, 0.0));
        prop_assert_eq!(*curve.last().unwrap(), (1.0, 1.0));
        let mut area = 0.0;
        for w in curve.windows(2) {
            prop_assert!(w[1].0 >= w[0].0 && w[1].1 >= w[0].1);
            area += (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0;
        }
        prop_assert!(rel_close(area, roc_auc(&scores, &labels).unwrap()));
    }
}
