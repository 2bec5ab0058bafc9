//! The shadow path end to end over the embedded backend: a champion serving live
//! traffic → the candidate deployed as its shadow (mirrored requests, captured, never
//! returned) → labels a few hours late → shadow looks (paired evidence, CloudWatch
//! checks) → graduate → a weighted A/B → promote; or → remove.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

mod traffic;
use traffic::{example, run_hours, traffic};

use serde_json::json;
use weighbridge_asl::interpreter::Clock;
use weighbridge_core::policy::Action;
use weighbridge_local::{MemoryBackend, ResponseStyle};
use weighbridge_tasks::deploy::{deploy, DeployInput};
use weighbridge_tasks::evaluate_variants::{evaluate_variants, EvaluateVariantsOutput};
use weighbridge_tasks::parse_input;
use weighbridge_tasks::ports::{ObjectStore, SageMaker};
use weighbridge_tasks::shift_weights::{shift_weights, ShiftWeightsInput, ShiftWeightsOutput};

const ROLE: &str = "arn:aws:iam::000000000000:role/sagemaker";

fn deploy_input(variant: &str, execution: &str, extra: serde_json::Value) -> DeployInput {
    let mut input = json!({
        "executionName": execution,
        "endpointName": "salary",
        "variantName": variant,
        "image": {"kind": "builtin", "name": "xgboost", "version": "1.7-1"},
        "modelDataUrl": format!("s3://data/models/{variant}/model.tar.gz"),
        "roleArn": ROLE,
    });
    input
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    parse_input(input).unwrap()
}

/// `salary` with a champion and, as its shadow, a challenger whose error is
/// `challenger_noise` times the champion's; capture at `capture_percent`, half the
/// requests mirrored; routing seeded.
async fn shadowed_endpoint(challenger_noise: f64, capture_percent: u32) -> MemoryBackend {
    let b = MemoryBackend::new();
    b.seed_routing(7);
    let capture = json!({"dataCapture": {"destinationS3Uri": "s3://data/capture", "samplingPercentage": capture_percent}});
    deploy(b.ports(), "us-east-1", &deploy_input("champion", "e1", capture))
        .await
        .unwrap();
    b.settle();
    let out = deploy(
        b.ports(),
        "us-east-1",
        &deploy_input(
            "challenger",
            "e2",
            json!({"mode": "shadow", "shadowSamplingPercentage": 50}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(out.action, "shadowed");
    assert_eq!(out.shadow_variant.as_deref(), Some("challenger"));
    b.settle();
    let config = b.describe_endpoint_config(&out.new_config).await.unwrap();
    assert!(
        config.data_capture.is_some(),
        "the shadow config keeps the capture"
    );
    assert_eq!(config.variants.len(), 1);
    assert_eq!(config.shadow_variants[0].initial_weight, 0.5);
    for v in config.variants.iter().chain(&config.shadow_variants) {
        let noise = if v.name == "champion" {
            1.0
        } else {
            challenger_noise
        };
        b.serve(&v.model_name, ResponseStyle::Xgboost, move |x| {
            x[0] + noise * (x[1] - 0.5)
        });
    }
    b
}

async fn look(b: &MemoryBackend, policy: serde_json::Value) -> EvaluateVariantsOutput {
    let input = json!({
        "endpointName": "salary",
        "source": {"type": "capture", "groundTruthUri": "s3://data/ground-truth/", "maxLabelDelayHours": 8},
        "policy": policy,
        "asOf": b.clock().now().to_rfc3339(),
    });
    evaluate_variants(
        &b.clone(),
        &b.clone(),
        &b.clone(),
        &b.clone(),
        &parse_input(input).unwrap(),
    )
    .await
    .unwrap()
}

async fn shift(b: &MemoryBackend, action: serde_json::Value) -> ShiftWeightsOutput {
    let mut input = json!({"endpointName": "salary", "executionName": "shift-1"});
    input
        .as_object_mut()
        .unwrap()
        .extend(action.as_object().unwrap().clone());
    let input: ShiftWeightsInput = parse_input(input).unwrap();
    let out = shift_weights(b.ports(), &input).await.unwrap();
    b.settle();
    out
}

/// Requests the shadow answered (its capture records), and those it returned (none).
async fn shadow_records(b: &MemoryBackend) -> usize {
    let listed = b
        .list_objects("data", "capture/salary/challenger/")
        .await
        .unwrap();
    let mut n = 0;
    for o in listed {
        n += String::from_utf8(b.get_object("data", &o.key).await.unwrap().body)
            .unwrap()
            .lines()
            .count();
    }
    n
}

#[tokio::test]
async fn a_better_shadow_graduates_into_an_ab_and_is_promoted() {
    let b = shadowed_endpoint(0.3, 100).await;
    let mut t = traffic(200);
    run_hours(&b, &mut t, 30).await;
    assert!(
        shadow_records(&b).await > 1000,
        "the shadow answered mirrored requests"
    );
    let policy = json!({"primaryMetric": "rmse", "minRows": 100});
    let first = look(&b, policy.clone()).await;
    let report = first.shadow.clone().expect("a shadow look reports its pairing");
    assert_eq!(first.action, Action::Graduate, "{}", first.decision.reason);
    assert!(
        !first.applied,
        "the evaluator changes nothing on a shadowed endpoint"
    );
    assert!(report.paired_by_inference_id > 500, "{report:?}");
    assert_eq!(
        report.unpaired_shadow, 0,
        "every request was captured: {report:?}"
    );
    assert!(report.labelled_pairs > 400, "{report:?}");
    assert!((report.sampling_share - 0.5).abs() < 1e-9);
    let latency = report
        .operational
        .iter()
        .find(|c| c.metric == "ModelLatency")
        .unwrap();
    assert!(!latency.tripped && latency.shadow > 0.0, "{latency:?}");
    // It graduates watched, as a deployed challenger is: its alarms go up first.
    shift(
        &b,
        json!({"action": "graduate", "shadow": "challenger", "initialShare": 0.3, "alarms": {"maxErrorRate": 0.02}}),
    )
    .await;
    let alarms: Vec<String> = b.alarm_states().keys().cloned().collect();
    assert_eq!(
        alarms,
        [
            "weighbridge-salary-challenger-5xx",
            "weighbridge-salary-challenger-latency"
        ]
    );
    let e = b.endpoint("salary").unwrap();
    assert!(e.shadow_variants.is_empty(), "{e:?}");
    let weights: Vec<(String, f64)> = e
        .variants
        .iter()
        .map(|v| (v.name.clone(), v.current_weight))
        .collect();
    assert_eq!(weights.len(), 2, "{weights:?}");
    assert!(
        (weights[1].1 - 0.3).abs() < 1e-9,
        "the graduate serves its initial share: {weights:?}"
    );
    // The weighted A/B that follows is a new experiment, on unpaired live evidence.
    run_hours(&b, &mut t, 30).await;
    let ab = look(
        &b,
        json!({"primaryMetric": "rmse", "minRows": 100, "promotion": "immediate"}),
    )
    .await;
    assert!(ab.shadow.is_none());
    assert_ne!(ab.experiment_key, first.experiment_key);
    assert_eq!(ab.action, Action::Promote, "{}", ab.decision.reason);
    assert!(ab.applied);
}

#[tokio::test]
async fn graduating_by_promotion_replaces_the_production_variant_at_once() {
    let b = shadowed_endpoint(0.3, 100).await;
    let out = shift(
        &b,
        json!({"action": "graduate", "shadow": "challenger", "promote": true}),
    )
    .await;
    let e = b.endpoint("salary").unwrap();
    assert_eq!(
        e.variants.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["challenger"]
    );
    assert!(e.shadow_variants.is_empty());
    assert_eq!(out.weights.get("challenger"), Some(&1.0));
    assert_eq!(
        out.retired_models.len(),
        1,
        "the production variant's model is retired: {out:?}"
    );
    let config = b
        .describe_endpoint_config(out.new_config.as_ref().unwrap())
        .await
        .unwrap();
    assert!(config.data_capture.is_some(), "the new config keeps capturing");
}

#[tokio::test]
async fn a_worse_shadow_is_removed_without_ever_serving_a_request() {
    let b = shadowed_endpoint(3.0, 100).await;
    let mut t = traffic(200);
    let served = t.run_hour(&b, example).await;
    assert!(served.is_ok());
    run_hours(&b, &mut t, 29).await;
    let out = look(&b, json!({"primaryMetric": "rmse", "minRows": 100})).await;
    assert_eq!(out.action, Action::Remove, "{}", out.decision.reason);
    assert_eq!(out.decision.losers, vec!["challenger".to_string()]);
    shift(&b, json!({"action": "removeShadow", "shadow": "challenger"})).await;
    let e = b.endpoint("salary").unwrap();
    assert!(e.shadow_variants.is_empty());
    assert_eq!(
        e.variants.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["champion"]
    );
    let answered = shadow_records(&b).await;
    run_hours(&b, &mut t, 2).await;
    assert_eq!(
        shadow_records(&b).await,
        answered,
        "no request is mirrored after the removal"
    );
}

#[tokio::test]
async fn records_that_cannot_be_paired_are_counted_not_guessed() {
    // Half the requests captured: a shadow record whose production record was not
    // captured has no partner.
    let b = shadowed_endpoint(0.3, 50).await;
    let mut t = traffic(200);
    run_hours(&b, &mut t, 30).await;
    let out = look(&b, json!({"primaryMetric": "rmse", "minRows": 100})).await;
    let r = out.shadow.unwrap();
    let live = out.live.unwrap();
    let shadow_read = live
        .variants
        .iter()
        .find(|v| v.variant == "challenger")
        .unwrap()
        .captured_requests;
    assert_eq!(
        r.paired_by_inference_id + r.paired_by_body + r.unpaired_shadow,
        shadow_read,
        "{r:?}"
    );
    let share = r.unpaired_shadow as f64 / shadow_read as f64;
    assert!((0.4..0.6).contains(&share), "about half unpaired: {share} {r:?}");
    assert!(r.unmirrored_production > 0);
}

#[tokio::test]
async fn a_slow_shadow_trips_the_latency_guardrail_and_is_removed() {
    let b = shadowed_endpoint(0.3, 100).await;
    b.set_model_latency("challenger", 5_000.0);
    let mut t = traffic(200);
    run_hours(&b, &mut t, 30).await;
    let out = look(&b, json!({"primaryMetric": "rmse", "minRows": 100})).await;
    assert_eq!(out.action, Action::Remove, "{}", out.decision.reason);
    assert!(
        out.decision
            .reason
            .contains("ModelLatency 5000.0000 over its limit 2400.0000"),
        "{}",
        out.decision.reason
    );
    let check = &out.shadow.unwrap().operational[0];
    assert!(check.tripped && check.production == 2_000.0, "{check:?}");
}

#[tokio::test]
async fn shadow_deploys_follow_sagemakers_rules() {
    let b = MemoryBackend::new();
    let first = deploy(
        b.ports(),
        "us-east-1",
        &deploy_input("champion", "e1", json!({"mode": "shadow"})),
    )
    .await
    .unwrap();
    assert_eq!(first.action, "created", "the first model has nothing to shadow");
    assert_eq!(first.shadow_variant, None);
    b.settle();
    let no_capture = deploy(
        b.ports(),
        "us-east-1",
        &deploy_input("c", "e2", json!({"mode": "shadow"})),
    )
    .await
    .unwrap_err();
    assert!(
        no_capture.to_string().contains("does not capture"),
        "{no_capture}"
    );
    deploy(b.ports(), "us-east-1", &deploy_input("b", "e3", json!({})))
        .await
        .unwrap();
    b.settle();
    let two = deploy(
        b.ports(),
        "us-east-1",
        &deploy_input(
            "c",
            "e4",
            json!({"mode": "shadow", "dataCapture": {"destinationS3Uri": "s3://data/capture"}}),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(two.name(), "Weighbridge.InvalidInput");
    assert!(
        two.to_string().contains("exactly one production variant"),
        "{two}"
    );
    let pct = parse_input::<DeployInput>(json!({"executionName": "x", "endpointName": "salary", "variantName": "c",
        "image": {"kind": "builtin", "name": "xgboost"}, "modelDataUrl": "s3://data/m.tar.gz", "roleArn": ROLE,
        "mode": "shadow", "shadowSamplingPercentage": 0}))
    .unwrap();
    assert!(deploy(b.ports(), "us-east-1", &pct)
        .await
        .unwrap_err()
        .to_string()
        .contains("shadowSamplingPercentage"));
    let shadowed = shadowed_endpoint(1.0, 100).await;
    let weighted = deploy(shadowed.ports(), "us-east-1", &deploy_input("d", "e5", json!({})))
        .await
        .unwrap_err();
    assert!(
        weighted.to_string().contains("graduate or remove it first"),
        "{weighted}"
    );
}
