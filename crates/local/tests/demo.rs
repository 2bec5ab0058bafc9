//! The demo scenario promotes the better challenger and rolls back the worse one.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use weighbridge_local::demo::{
    demo_backend, run_demo, AlarmRollbackReport, DemoConfig, LookReport, Observer, RetrainReport, Scenario,
};
use weighbridge_tasks::ports::ApprovalStatus;

#[derive(Default)]
struct Recorder {
    phases: Vec<String>,
    looks: usize,
    alarm_rollbacks: usize,
}

impl Observer for Recorder {
    fn phase(&mut self, what: &str) {
        self.phases.push(what.to_string());
    }
    fn retrained(&mut self, _: &RetrainReport) {}
    fn looked(&mut self, _: &LookReport) {
        self.looks += 1;
    }
    fn alarm_rolled_back(&mut self, _: &AlarmRollbackReport) {
        self.alarm_rollbacks += 1;
    }
}

#[tokio::test]
async fn the_live_demo_promotes_on_traffic_catches_the_srm_and_rolls_back() {
    let backend = demo_backend(42);
    let mut recorder = Recorder::default();
    let summary = run_demo(&backend, &DemoConfig::default(), &mut recorder)
        .await
        .unwrap();
    // The fourth candidate's container breaks an hour in: its alarm rolls it back.
    assert_eq!(recorder.alarm_rollbacks, 1);
    let alarm = &summary.alarm_rollbacks[0];
    assert_eq!(alarm.outcome, "alarm-rollback");
    assert!(alarm.alarm.ends_with("-5xx"), "{}", alarm.alarm);
    assert!(alarm.out_of_traffic_at - alarm.fault_at <= chrono::Duration::minutes(2));
    assert!(
        alarm.failed_requests > 0 && alarm.champion_requests > 0,
        "{alarm:?}"
    );
    assert_eq!(
        summary.retrains[3].variant.as_deref(),
        Some(alarm.variant.as_str())
    );
    assert!(
        !summary.final_weights.contains_key(&alarm.variant),
        "off the endpoint"
    );
    let experiment =
        |e: u32| -> Vec<&LookReport> { summary.looks.iter().filter(|l| l.experiment == e).collect() };
    let first = experiment(1);
    assert_eq!(first.last().map(|l| l.action.as_str()), Some("promote"));
    assert!(first.iter().any(|l| l.action == "shift"));
    assert!(
        first.iter().all(|l| l.srm == Some((false, l.srm.unwrap().1))),
        "no SRM in the first experiment"
    );
    // Labels wait a day: the first look has none, later looks unequal rows per variant.
    assert!(first[0].variants.iter().all(|v| v.new_rows == 0));
    let second_look = &first[1].variants;
    assert!(second_look.iter().all(|v| v.new_rows > 0) && second_look[0].new_rows != second_look[1].new_rows);
    for v in first.iter().skip(1).flat_map(|l| &l.variants) {
        let c = v.coverage.unwrap();
        assert!((0.8..=0.97).contains(&c), "coverage {c} near the 90% labelled");
    }
    // The router fault of the second experiment: caught, held, acknowledged, rolled back.
    let second = experiment(2);
    assert!(second[0].srm.unwrap().0, "the SRM is flagged at the first look");
    let held: Vec<&&LookReport> = second.iter().filter(|l| l.srm.unwrap().0).collect();
    assert!(held.iter().all(|l| l.action == "hold" && !l.applied));
    assert_eq!(second.last().map(|l| l.action.as_str()), Some("rollback"));
    let promoted = summary.retrains[1].variant.clone().unwrap();
    assert_eq!(
        summary.final_weights.keys().cloned().collect::<Vec<_>>(),
        vec![promoted.clone()]
    );
    assert_eq!(recorder.looks, summary.looks.len());
    // The registry's status of each model: every candidate registered by the gate, the
    // promoted one Approved with the look's reason, the losers (look and alarm) Rejected.
    use weighbridge_tasks::ports::ApprovalStatus::{Approved, Rejected};
    let registry: Vec<(ApprovalStatus, &str, Option<&str>)> = summary
        .registry
        .iter()
        .map(|r| (r.approval, r.description.as_str(), r.serving_as.as_deref()))
        .collect();
    assert_eq!(registry.len(), 4, "{registry:?}");
    for (r, retrain) in summary.registry.iter().zip(&summary.retrains) {
        assert_eq!(Some(r.training_job.as_str()), retrain.variant.as_deref());
    }
    assert_eq!(
        registry[0].0, Approved,
        "the first champion: approved by the gate"
    );
    assert_eq!(registry[1].0, Approved);
    assert!(
        registry[1].1.starts_with("Weighbridge promoted variant"),
        "{:?}",
        registry[1]
    );
    assert_eq!(registry[1].2, Some(format!("salary/{promoted}").as_str()));
    for rejected in [&registry[2], &registry[3]] {
        assert_eq!(rejected.0, Rejected, "{rejected:?}");
        assert!(rejected.1.starts_with("Weighbridge rolled back variant"));
        assert_eq!(rejected.2, None);
    }
    assert!(
        registry[3].1.contains("-5xx"),
        "the alarm's reason: {:?}",
        registry[3].1
    );
}

#[tokio::test]
async fn the_shadow_demo_graduates_the_better_model_and_catches_the_worse_in_shadow() {
    let backend = demo_backend(42);
    let mut recorder = Recorder::default();
    let config = DemoConfig {
        scenario: Scenario::Shadow,
        ..DemoConfig::default()
    };
    let summary = run_demo(&backend, &config, &mut recorder).await.unwrap();
    let actions = |e: u32| -> Vec<&str> {
        summary
            .looks
            .iter()
            .filter(|l| l.experiment == e)
            .map(|l| l.action.as_str())
            .collect()
    };
    let (better, worse) = (
        summary.retrains[1].variant.clone().unwrap(),
        summary.retrains[2].variant.clone().unwrap(),
    );
    // The better candidate: shadowed, graduated into a weighted A/B, then promoted.
    let first = actions(1);
    let graduated = first.iter().position(|a| *a == "graduate").expect("graduated");
    assert!(first[..graduated].iter().all(|a| *a == "hold"), "{first:?}");
    assert!(first[graduated + 1..].contains(&"shift"), "{first:?}");
    assert_eq!(first.last(), Some(&"promote"), "{first:?}");
    let first_looks: Vec<&LookReport> = summary.looks.iter().filter(|l| l.experiment == 1).collect();
    assert!(
        first_looks[..graduated]
            .iter()
            .all(|l| !l.weights.contains_key(&better)),
        "in shadow it serves no one"
    );
    assert!(
        (first_looks[graduated].weights[&better] - 0.1).abs() < 1e-9,
        "graduated at 10 %"
    );
    // The worse one: caught in shadow, removed, never a production variant.
    assert_eq!(actions(2).last(), Some(&"remove"), "{:?}", actions(2));
    assert!(summary
        .looks
        .iter()
        .all(|l| l.weights.get(&worse).is_none_or(|w| *w == 0.0)));
    assert_eq!(
        summary.final_weights.keys().cloned().collect::<Vec<_>>(),
        vec![better]
    );
    assert!(backend.endpoint("salary").unwrap().shadow_variants.is_empty());
    assert_eq!(recorder.looks, summary.looks.len());
}

#[tokio::test]
async fn the_test_set_demo_promotes_the_better_model_and_rolls_back_the_worse() {
    let backend = demo_backend(42);
    let mut recorder = Recorder::default();
    let config = DemoConfig {
        scenario: Scenario::TestSet,
        ..DemoConfig::default()
    };
    let summary = run_demo(&backend, &config, &mut recorder).await.unwrap();
    let outcomes: Vec<&str> = summary.retrains.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["deployed", "deployed", "deployed"]);
    let by_experiment = |e: u32| -> Vec<&str> {
        summary
            .looks
            .iter()
            .filter(|l| l.experiment == e)
            .map(|l| l.action.as_str())
            .collect()
    };
    let first = by_experiment(1);
    assert_eq!(first.last(), Some(&"promote"), "{first:?}");
    assert!(first.contains(&"shift"), "{first:?}");
    let second = by_experiment(2);
    assert_eq!(second.last(), Some(&"rollback"), "{second:?}");
    // The endpoint ends with the promoted model alone, at full weight.
    let promoted = summary.retrains[1].variant.clone().unwrap();
    assert_eq!(
        summary.final_weights.keys().cloned().collect::<Vec<_>>(),
        vec![promoted]
    );
    assert_eq!(recorder.looks, summary.looks.len());
    // Every look reports an RMSE interval for each variant, around its RMSE.
    for look in &summary.looks {
        for v in &look.variants {
            let (low, high) = v.interval.unwrap();
            assert!(low < v.rmse && v.rmse < high, "{look:?}");
        }
    }
    assert!(summary.virtual_hours > 24.0 * summary.looks.len() as f64);
}
