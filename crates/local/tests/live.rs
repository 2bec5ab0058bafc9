//! The live A/B path end to end over the embedded backend: deploy with Data Capture →
//! traffic routed by the weights, captured → labels a few hours late → looks → decisions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

mod traffic;
use traffic::{run_hours, traffic};

use chrono::Duration;
use serde_json::json;
use weighbridge_asl::interpreter::Clock;
use weighbridge_core::policy::Action;
use weighbridge_local::{MemoryBackend, ResponseStyle};
use weighbridge_tasks::deploy::{deploy, DeployInput};
use weighbridge_tasks::evaluate_variants::{evaluate_variants, EvaluateVariantsOutput};
use weighbridge_tasks::parse_input;
use weighbridge_tasks::ports::{EndpointUpdate, ObjectStore, PutCondition, SageMaker};

const ROLE: &str = "arn:aws:iam::000000000000:role/sagemaker";

fn deploy_input(variant: &str, execution: &str) -> DeployInput {
    parse_input(json!({
        "executionName": execution,
        "endpointName": "salary",
        "variantName": variant,
        "image": {"kind": "builtin", "name": "xgboost", "version": "1.7-1"},
        "modelDataUrl": format!("s3://data/models/{variant}/model.tar.gz"),
        "roleArn": ROLE,
        "initialShare": 0.2,
        "dataCapture": {"destinationS3Uri": "s3://data/capture", "captureInput": false}
    }))
    .unwrap()
}

/// `salary` with a champion and a challenger whose error is `challenger_noise` times the
/// champion's, capturing every request; routing seeded.
async fn live_endpoint(challenger_noise: f64) -> MemoryBackend {
    let b = MemoryBackend::new();
    b.seed_routing(11);
    deploy(b.ports(), "us-east-1", &deploy_input("champion", "e1"))
        .await
        .unwrap();
    b.settle();
    let out = deploy(b.ports(), "us-east-1", &deploy_input("challenger", "e2"))
        .await
        .unwrap();
    b.settle();
    let config = b.describe_endpoint_config(&out.new_config).await.unwrap();
    assert!(
        config.data_capture.is_some(),
        "adding a variant keeps the capture"
    );
    for v in &config.variants {
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

async fn look(
    b: &MemoryBackend,
    extra: serde_json::Value,
) -> Result<EvaluateVariantsOutput, weighbridge_tasks::TaskError> {
    let mut source = json!({
        "type": "capture",
        "groundTruthUri": "s3://data/ground-truth/",
        "maxLabelDelayHours": 8,
    });
    let mut input = json!({"endpointName": "salary", "policy": {"primaryMetric": "rmse", "minRows": 100},
                           "asOf": b.clock().now().to_rfc3339()});
    if let serde_json::Value::Object(more) = extra {
        for (k, v) in more {
            if k == "source" {
                source
                    .as_object_mut()
                    .unwrap()
                    .extend(v.as_object().unwrap().clone());
            } else {
                input.as_object_mut().unwrap().insert(k, v);
            }
        }
    }
    input["source"] = source;
    evaluate_variants(
        &b.clone(),
        &b.clone(),
        &b.clone(),
        &b.clone(),
        &parse_input(input).unwrap(),
    )
    .await
}

#[tokio::test]
async fn captures_joined_with_late_labels_move_traffic_to_a_better_challenger() {
    let b = live_endpoint(0.3).await;
    let mut t = traffic(200);
    run_hours(&b, &mut t, 30).await;
    let first = look(&b, json!({})).await.unwrap();
    let live = first.live.as_ref().unwrap();
    assert!(!live.srm.flagged, "{live:?}");
    let rows: Vec<u64> = live.variants.iter().map(|v| v.labelled_rows).collect();
    assert!(
        rows.iter().all(|&r| r > 100),
        "both variants have labelled rows: {rows:?}"
    );
    assert!(rows[0] != rows[1], "live rows per variant are unequal: {rows:?}");
    for v in &live.variants {
        assert!((0.85..=0.95).contains(&v.label_coverage), "{v:?}");
        assert!(v.captured_requests > 0);
    }
    assert_eq!(first.action, Action::Shift, "{}", first.decision.reason);
    assert!(first.applied);
    assert!(first
        .new_objects
        .iter()
        .any(|k| k.starts_with("capture/salary/challenger/")));
    assert!(first.new_objects.iter().any(|k| k.starts_with("ground-truth/")));

    // The same look again (same windows, same time): no new evidence.
    let again = look(&b, json!({})).await.unwrap();
    assert_eq!(again.new_rows, 0);
    assert_eq!(again.total_rows, first.total_rows);
    assert_eq!(again.action, Action::Hold, "{}", again.decision.reason);

    // A day later, at the new weights: a second window, more evidence, still no SRM.
    run_hours(&b, &mut t, 24).await;
    let later = look(&b, json!({})).await.unwrap();
    assert!(later.new_rows > 0 && later.total_rows > first.total_rows);
    assert!(!later.live.as_ref().unwrap().srm.flagged, "{:?}", later.live);
    let record = b.text("data", &later.experiment_key).unwrap();
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    let applied = [first.applied, again.applied, later.applied]
        .iter()
        .filter(|a| **a)
        .count();
    assert_eq!(
        record["live"]["windows"].as_array().unwrap().len(),
        1 + applied,
        "a window per applied shift: {}",
        record["live"]
    );
}

#[tokio::test]
async fn a_sample_ratio_mismatch_holds_the_experiment_until_acknowledged() {
    let b = live_endpoint(0.3).await;
    b.skew_routing("challenger", 0.6);
    let mut t = traffic(200);
    run_hours(&b, &mut t, 30).await;
    let out = look(&b, json!({})).await.unwrap();
    let live = out.live.as_ref().unwrap();
    assert!(live.srm.flagged, "{live:?}");
    assert_eq!(out.action, Action::Hold);
    assert!(!out.applied);
    assert!(
        out.decision.reason.contains("sample ratio mismatch"),
        "{}",
        out.decision.reason
    );
    let srm_metric = b
        .metric_data()
        .into_iter()
        .any(|(_, d)| d.name == "SampleRatioMismatch" && d.value == 1.0);
    assert!(srm_metric, "the SRM is published to CloudWatch");
    // Fixed, but not acknowledged: it stays flagged.
    b.skew_routing("challenger", 1.0);
    run_hours(&b, &mut t, 24).await;
    let still = look(&b, json!({})).await.unwrap();
    assert!(
        still.live.as_ref().unwrap().srm.flagged,
        "an SRM never clears by itself"
    );
    assert_eq!(still.action, Action::Hold);
    let cleared = look(&b, json!({"source": {"acknowledgeSrm": true}}))
        .await
        .unwrap();
    assert!(!cleared.live.as_ref().unwrap().srm.flagged);
}

#[tokio::test]
async fn a_variant_whose_labels_stop_holds_on_coverage() {
    let b = live_endpoint(0.3).await;
    let mut t = traffic(200);
    t.config_mut().unlabelled_variants = vec!["challenger".into()];
    run_hours(&b, &mut t, 30).await;
    let out = look(&b, json!({})).await.unwrap();
    assert_eq!(out.action, Action::Hold);
    assert!(
        out.decision.reason.contains("label coverage differs"),
        "{}",
        out.decision.reason
    );
    let challenger = out
        .live
        .as_ref()
        .unwrap()
        .variants
        .iter()
        .find(|v| v.variant == "challenger")
        .unwrap();
    assert_eq!(challenger.label_coverage, 0.0);
}

#[tokio::test]
async fn malformed_lines_are_counted_and_named_up_to_a_share() {
    let b = live_endpoint(0.3).await;
    let mut t = traffic(200);
    run_hours(&b, &mut t, 30).await;
    let hour = (b.clock().now() - Duration::hours(20)).format("%Y/%m/%d/%H");
    let bad = format!("capture/salary/champion/{hour}/zz-broken.jsonl");
    b.put_object(
        "data",
        &bad,
        b"not json\n{\"captureData\":{}}\n".to_vec(),
        PutCondition::Always,
    )
    .await
    .unwrap();
    let out = look(&b, json!({})).await.unwrap();
    let live = out.live.as_ref().unwrap();
    assert_eq!(live.malformed, 2);
    assert!(
        live.problems[0].starts_with(&format!("{bad} line 1:")),
        "{:?}",
        live.problems
    );

    // Over the share: the look fails and commits nothing.
    let b = live_endpoint(0.3).await;
    let mut t = traffic(20);
    run_hours(&b, &mut t, 30).await;
    let hour = (b.clock().now() - Duration::hours(20)).format("%Y/%m/%d/%H");
    let junk = "garbage\n".repeat(50);
    b.put_object(
        "data",
        &format!("capture/salary/champion/{hour}/zz.jsonl"),
        junk.into_bytes(),
        PutCondition::Always,
    )
    .await
    .unwrap();
    let err = look(&b, json!({})).await.unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InvalidPayload");
    assert!(err.to_string().contains("maxMalformedShare"), "{err}");
    let records = b.list_objects("data", "capture/_experiment/").await.unwrap();
    assert!(records.is_empty(), "nothing committed: {records:?}");
}

#[tokio::test]
async fn capture_input_errors_are_typed() {
    let b = live_endpoint(0.3).await;
    for (source, says) in [
        (json!({"groundTruthUri": "data/gt"}), "s3://"),
        (json!({"startAt": "yesterday"}), "RFC 3339"),
        (json!({"maxMalformedShare": 2.0}), "maxMalformedShare"),
        (json!({"srmAlpha": 0.0}), "srmAlpha"),
        (json!({"maxLabelDelayHour": 3}), "did you mean"),
    ] {
        let mut input = json!({"endpointName": "salary", "source": {"type": "capture", "groundTruthUri": "s3://data/gt/"}});
        input["source"]
            .as_object_mut()
            .unwrap()
            .extend(source.as_object().unwrap().clone());
        let err =
            match parse_input::<weighbridge_tasks::evaluate_variants::EvaluateVariantsInput>(input.clone()) {
                Err(e) => e,
                Ok(i) => evaluate_variants(&b, &b, &b, &b, &i).await.unwrap_err(),
            };
        assert_eq!(err.name(), "Weighbridge.InvalidInput", "{input}: {err}");
        assert!(err.to_string().contains(says), "{input}: {err}");
    }
}

#[tokio::test]
async fn json_and_base64_captures_are_evidence_too() {
    let b = live_endpoint(0.3).await;
    // The champion answers like linear-learner (application/json): captured as JSON text.
    let live = b.describe_endpoint("salary").await.unwrap();
    let config = b.describe_endpoint_config(&live.config_name).await.unwrap();
    let champion = config.variants.iter().find(|v| v.name == "champion").unwrap();
    b.serve(&champion.model_name, ResponseStyle::LinearLearner, |x| {
        x[0] + (x[1] - 0.5)
    });
    let mut t = traffic(100);
    run_hours(&b, &mut t, 2).await;
    let json_file = b
        .list_objects("data", "capture/salary/champion/")
        .await
        .unwrap()
        .pop()
        .unwrap();
    let line = b.text("data", &json_file.key).unwrap();
    assert!(line.contains(r#""encoding":"JSON""#), "{line}");

    // A config that names no content types: SageMaker writes BASE64.
    let mut plain = config.clone();
    plain.name = "salary-base64".into();
    if let Some(c) = plain.data_capture.as_mut() {
        c.csv_content_types.clear();
        c.json_content_types.clear();
    }
    b.create_endpoint_config(&plain).await.unwrap();
    b.update_endpoint(&EndpointUpdate {
        name: "salary",
        config_name: "salary-base64",
        deployment_config: None,
        retain_instance_counts: false,
    })
    .await
    .unwrap();
    b.settle();
    run_hours(&b, &mut t, 28).await;
    let newest = b
        .list_objects("data", "capture/salary/challenger/")
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(b
        .text("data", &newest.key)
        .unwrap()
        .contains(r#""encoding":"BASE64""#));
    let out = look(
        &b,
        json!({"source": {"startAt": (b.clock().now() - Duration::hours(30)).to_rfc3339()}}),
    )
    .await
    .unwrap();
    let live = out.live.unwrap();
    assert_eq!(live.malformed, 0, "{:?}", live.problems);
    assert!(
        live.variants.iter().all(|v| v.labelled_rows > 50),
        "{:?}",
        live.variants
    );
}
