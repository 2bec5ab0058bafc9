//! The weight policy on concrete scenarios: each action, its reason, and its refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::collections::BTreeMap;

use weighbridge_core::policy::{
    decide, Action, ChallengerEvidence, Direction, Guardrail, MetricEvidence, PolicyConfig, Promotion,
    Verdict,
};

fn weights(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, w)| (k.to_string(), *w)).collect()
}

/// RMSE evidence: champion RMSE 1.0, challenger `difference` away, with `se`.
fn rmse(variant: &str, difference: f64, se: f64, rows: u64) -> ChallengerEvidence {
    ChallengerEvidence {
        variant: variant.into(),
        primary: MetricEvidence {
            metric: "rmse".into(),
            champion_value: 1.0,
            difference,
            se,
            rows,
        },
        guardrails: vec![],
    }
}

#[test]
fn a_clear_winner_takes_one_step() {
    let w = weights(&[("champion", 0.9), ("challenger", 0.1)]);
    let d = decide(
        &w,
        &[rmse("challenger", -0.05, 0.005, 4000)],
        &PolicyConfig::default(),
    )
    .unwrap();
    assert_eq!(d.action, Action::Shift);
    assert!((d.weights["challenger"] - 0.4).abs() < 1e-12);
    assert!((d.weights["champion"] - 0.6).abs() < 1e-12);
    assert!(d.reason.contains("shift 0.300"), "{}", d.reason);
    assert_eq!(d.verdicts[0].verdict, Verdict::Better);
}

#[test]
fn the_last_step_promotes() {
    let w = weights(&[("champion", 0.3), ("challenger", 0.7)]);
    let config = PolicyConfig {
        champion: Some("champion".into()),
        ..PolicyConfig::default()
    };
    let d = decide(&w, &[rmse("challenger", -0.05, 0.005, 4000)], &config).unwrap();
    assert_eq!(d.action, Action::Promote);
    assert_eq!(d.winner.as_deref(), Some("challenger"));
    assert_eq!(d.weights["challenger"], 1.0);
    assert_eq!(d.weights["champion"], 0.0);
}

#[test]
fn immediate_promotion_skips_the_steps() {
    let w = weights(&[("champion", 0.9), ("challenger", 0.1)]);
    let config = PolicyConfig {
        promotion: Promotion::Immediate,
        ..PolicyConfig::default()
    };
    let d = decide(&w, &[rmse("challenger", -0.05, 0.005, 4000)], &config).unwrap();
    assert_eq!(d.action, Action::Promote);
}

#[test]
fn a_clear_loser_is_rolled_back() {
    let w = weights(&[("champion", 0.8), ("good", 0.1), ("bad", 0.1)]);
    let d = decide(
        &w,
        &[rmse("good", 0.0, 0.01, 4000), rmse("bad", 0.05, 0.005, 4000)],
        &PolicyConfig::default(),
    )
    .unwrap();
    assert_eq!(d.action, Action::Rollback);
    assert_eq!(
        d.losers,
        vec!["bad".to_string()],
        "only the loser, not the inconclusive one"
    );
    assert_eq!(d.weights["bad"], 0.0);
    assert!((d.weights["champion"] - 0.9).abs() < 1e-12);
    assert!((d.weights["good"] - 0.1).abs() < 1e-12);
    assert!(d.reason.starts_with("roll back bad"), "{}", d.reason);
}

#[test]
fn noise_holds() {
    let w = weights(&[("champion", 0.9), ("challenger", 0.1)]);
    let d = decide(
        &w,
        &[rmse("challenger", -0.01, 0.02, 4000)],
        &PolicyConfig::default(),
    )
    .unwrap();
    assert_eq!(d.action, Action::Hold);
    assert_eq!(d.weights, d.previous_weights);
    assert!(d.reason.contains("not yet significant"), "{}", d.reason);
}

#[test]
fn too_few_rows_holds_however_large_the_effect() {
    let w = weights(&[("champion", 0.9), ("challenger", 0.1)]);
    let d = decide(
        &w,
        &[rmse("challenger", -0.5, 0.001, 50)],
        &PolicyConfig::default(),
    )
    .unwrap();
    assert_eq!(d.action, Action::Hold);
    assert_eq!(d.verdicts[0].verdict, Verdict::InsufficientData);
}

#[test]
fn a_win_below_the_minimum_improvement_holds() {
    let w = weights(&[("champion", 0.9), ("challenger", 0.1)]);
    let config = PolicyConfig {
        min_improvement: 0.1,
        ..PolicyConfig::default()
    };
    let d = decide(&w, &[rmse("challenger", -0.05, 0.005, 4000)], &config).unwrap();
    assert_eq!(d.action, Action::Hold);
    assert!(d.reason.contains("minimum improvement"), "{}", d.reason);
}

#[test]
fn a_breached_guardrail_rolls_back_a_winner() {
    let w = weights(&[("champion", 0.9), ("challenger", 0.1)]);
    let config = PolicyConfig {
        guardrails: vec![Guardrail {
            metric: "latency_ms".into(),
            direction: Direction::LowerIsBetter,
            margin: 5.0,
        }],
        ..PolicyConfig::default()
    };
    let mut e = rmse("challenger", -0.05, 0.005, 4000);
    e.guardrails.push(MetricEvidence {
        metric: "latency_ms".into(),
        champion_value: 20.0,
        difference: 15.0,
        se: 1.0,
        rows: 4000,
    });
    let d = decide(&w, &[e.clone()], &config).unwrap();
    assert_eq!(d.action, Action::Rollback);
    assert_eq!(d.verdicts[0].verdict, Verdict::GuardrailBreached);
    // Without the guardrail's evidence the policy refuses rather than guess.
    e.guardrails.clear();
    let err = decide(&w, &[e], &config).unwrap_err();
    assert!(
        err.to_string().contains("guardrail latency_ms has no evidence"),
        "{err}"
    );
}

#[test]
fn refuses_unknown_variants_the_champion_and_bad_settings() {
    let w = weights(&[("champion", 0.9), ("challenger", 0.1)]);
    let err = decide(&w, &[rmse("ghost", -0.05, 0.005, 4000)], &PolicyConfig::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("\"ghost\", which is not on the endpoint"),
        "{err}"
    );
    let err = decide(
        &w,
        &[rmse("champion", -0.05, 0.005, 4000)],
        &PolicyConfig::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("with itself"), "{err}");
    let err = decide(&weights(&[("a", 0.0), ("b", 0.0)]), &[], &PolicyConfig::default()).unwrap_err();
    assert!(err.to_string().contains("all variant weights are zero"), "{err}");
    let bad = PolicyConfig {
        max_step: 0.0,
        ..PolicyConfig::default()
    };
    assert!(decide(&w, &[], &bad).unwrap_err().to_string().contains("maxStep"));
    let nan = rmse("challenger", f64::NAN, 0.1, 4000);
    assert!(decide(&w, &[nan], &PolicyConfig::default())
        .unwrap_err()
        .to_string()
        .contains("finite"));
}

#[test]
fn higher_is_better_metrics_promote_upwards() {
    let w = weights(&[("champion", 0.9), ("challenger", 0.1)]);
    let config = PolicyConfig {
        primary_metric: "auc".into(),
        direction: Direction::HigherIsBetter,
        ..PolicyConfig::default()
    };
    let mut e = rmse("challenger", 0.03, 0.004, 4000);
    e.primary.metric = "auc".into();
    e.primary.champion_value = 0.8;
    assert_eq!(decide(&w, &[e.clone()], &config).unwrap().action, Action::Shift);
    e.primary.difference = -0.03;
    assert_eq!(decide(&w, &[e], &config).unwrap().action, Action::Rollback);
}
