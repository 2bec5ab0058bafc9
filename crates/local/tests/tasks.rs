//! Every task over the in-memory ports: success and failure paths.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::collections::BTreeMap;

use serde_json::json;
use weighbridge_core::policy::{Action, Direction, PolicyConfig};
use weighbridge_local::{Fault, MemoryBackend, ResponseStyle};
use weighbridge_tasks::deploy::{deploy, DeployInput};
use weighbridge_tasks::evaluate_model::{evaluate_model, Champion, EvaluateModelInput, MetricSource};
use weighbridge_tasks::evaluate_variants::{evaluate_variants, EvaluateVariantsInput};
use weighbridge_tasks::parse_input;
use weighbridge_tasks::ports::EndpointStatus;
use weighbridge_tasks::shift_weights::{shift_weights, ShiftAction, ShiftWeightsInput};
use weighbridge_tasks::start_retraining::{start_retraining, StartRetrainingConfig};
use weighbridge_tasks::train::{train, TrainInput};

const ROLE: &str = "arn:aws:iam::000000000000:role/sagemaker";
const SM_ARN: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:retrain";

fn eventbridge(key: &str, etag: &str) -> serde_json::Value {
    json!({
        "version": "0", "id": "1", "detail-type": "Object Created", "source": "aws.s3",
        "account": "000000000000", "time": "2026-11-24T00:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:s3:::data"],
        "detail": {"version": "0", "bucket": {"name": "data"},
                   "object": {"key": key, "size": 10, "etag": etag, "sequencer": "1"},
                   "request-id": "r", "requester": "me", "reason": "PutObject"}
    })
}

fn retrain_config() -> StartRetrainingConfig {
    StartRetrainingConfig {
        state_machine_arn: SM_ARN.into(),
        key_prefix: "incoming/".into(),
        key_suffix: ".csv".into(),
        training_defaults: json!({"algorithm": {"kind": "builtin", "name": "xgboost", "version": "1.7-1"}}),
    }
}

#[tokio::test]
async fn start_retraining_starts_once_per_object_version() {
    let b = MemoryBackend::new();
    let first = start_retraining(&b, &retrain_config(), &eventbridge("incoming/a.csv", "e1"))
        .await
        .unwrap();
    assert_eq!(first.started.len(), 1);
    assert!(!first.started[0].duplicate);
    assert!(first.started[0].execution_name.len() <= 80);
    // The same object version delivered again starts nothing and reports the execution.
    let again = start_retraining(&b, &retrain_config(), &eventbridge("incoming/a.csv", "e1"))
        .await
        .unwrap();
    assert!(again.started[0].duplicate);
    assert_eq!(again.started[0].execution_arn, first.started[0].execution_arn);
    assert_eq!(b.executions().len(), 1);
    // A new version of the object is new work.
    let v2 = start_retraining(&b, &retrain_config(), &eventbridge("incoming/a.csv", "e2"))
        .await
        .unwrap();
    assert!(!v2.started[0].duplicate);
    assert_eq!(b.executions().len(), 2);
    let input: serde_json::Value = serde_json::from_str(&b.executions().values().next().unwrap().1).unwrap();
    assert_eq!(input["dataUri"], "s3://data/incoming/a.csv");
    assert_eq!(input["training"]["algorithm"]["name"], "xgboost");
}

#[tokio::test]
async fn start_retraining_filters_and_reads_s3_notifications() {
    let b = MemoryBackend::new();
    let out = start_retraining(&b, &retrain_config(), &eventbridge("other/a.csv", "e1"))
        .await
        .unwrap();
    assert!(out.started.is_empty() && out.skipped.len() == 1);
    let notification = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-24T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "me"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
            "bucket": {"name": "data", "ownerIdentity": {"principalId": "me"}, "arn": "arn:aws:s3:::data"},
            "object": {"key": "incoming/new+set.csv", "size": 3, "eTag": "e9", "sequencer": "1"}}}]});
    let out = start_retraining(&b, &retrain_config(), &notification)
        .await
        .unwrap();
    assert_eq!(out.started[0].key, "incoming/new set.csv");
}

#[tokio::test]
async fn start_retraining_rejects_other_events_and_absorbs_nothing_silently() {
    let b = MemoryBackend::new();
    let mut e = eventbridge("incoming/a.csv", "e1");
    e["detail-type"] = json!("Object Deleted");
    let err = start_retraining(&b, &retrain_config(), &e).await.unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InvalidInput");
    let err = start_retraining(&b, &retrain_config(), &json!({"hello": 1}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Object Created"), "{err}");
    b.inject("DescribeExecution", [Fault::Throttle]);
    let err = start_retraining(&b, &retrain_config(), &eventbridge("incoming/b.csv", "e1"))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.Throttled");
    assert!(b.executions().is_empty());
}

fn train_input() -> TrainInput {
    parse_input(json!({
        "executionName": "exec-1",
        "algorithm": {"kind": "builtin", "name": "xgboost", "version": "1.7-1"},
        "hyperparameters": {"num_round": 50, "objective": "reg:squarederror", "eta": 0.2},
        "channels": [{"name": "train", "s3Uri": "s3://data/train/", "contentType": "text/csv"}],
        "outputPath": "s3://data/models/",
        "roleArn": ROLE
    }))
    .unwrap()
}

#[tokio::test]
async fn train_is_idempotent_per_execution_and_spec() {
    let b = MemoryBackend::new();
    let first = train(&b, "us-east-1", &train_input()).await.unwrap();
    assert!(first.created);
    assert_eq!(
        first.image,
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    );
    let retry = train(&b, "us-east-1", &train_input()).await.unwrap();
    assert!(!retry.created);
    assert_eq!(retry.training_job_name, first.training_job_name);
    let job = weighbridge_tasks::ports::SageMaker::describe_training_job(&b, &first.training_job_name)
        .await
        .unwrap();
    assert_eq!(job.hyperparameters["num_round"], "50");
}

#[test]
fn train_data_uri_becomes_the_train_channel() {
    let mut input = train_input();
    input.train_data_uri = Some("s3://data/incoming/new.csv".into());
    let request = weighbridge_tasks::train::build_request(&input, "us-east-1").unwrap();
    assert_eq!(request.channels.len(), 1);
    assert_eq!(request.channels[0].s3_uri, "s3://data/incoming/new.csv");
    // Another data set is another spec, so another job name.
    assert_ne!(
        request.name,
        weighbridge_tasks::train::build_request(&train_input(), "us-east-1")
            .unwrap()
            .name
    );
    input.channels = vec![];
    let request = weighbridge_tasks::train::build_request(&input, "us-east-1").unwrap();
    assert_eq!(
        (
            request.channels[0].name.as_str(),
            request.channels[0].content_type.as_deref()
        ),
        ("train", Some("text/csv"))
    );
}

#[tokio::test]
async fn train_rejects_bad_specs_before_any_call() {
    let b = MemoryBackend::new();
    let mut bad = train_input();
    bad.channels[0].s3_uri = "data/train".into();
    let err = train(&b, "us-east-1", &bad).await.unwrap_err();
    assert!(err.to_string().contains("must start with s3://"), "{err}");
    let bad: Result<TrainInput, _> = parse_input(json!({"executionName": "x"}));
    assert_eq!(bad.unwrap_err().name(), "Weighbridge.InvalidInput");
    let mut spot = train_input();
    spot.spot = Some(weighbridge_tasks::ports::SpotTraining {
        max_wait_seconds: 10,
        checkpoint_s3_uri: "s3://data/ck/".into(),
    });
    assert!(train(&b, "us-east-1", &spot)
        .await
        .unwrap_err()
        .to_string()
        .contains("maxWaitSeconds"));
    assert!(b.calls().is_empty(), "nothing was called: {:?}", b.calls());
}

#[tokio::test]
async fn evaluate_model_gates_on_threshold_and_champion() {
    let b = MemoryBackend::new();
    let job = train(&b, "us-east-1", &train_input())
        .await
        .unwrap()
        .training_job_name;
    let input = |threshold: f64, champion: f64| EvaluateModelInput {
        source: MetricSource::TrainingJob {
            training_job_name: job.clone(),
        },
        metric: "validation:rmse".into(),
        direction: None,
        threshold: Some(threshold),
        champion: Some(Champion::Value { value: champion }),
        min_improvement: 0.0,
        registry: None,
    };
    let err = evaluate_model(b.ports(), &input(2.0, 1.0)).await.unwrap_err();
    assert!(err.to_string().contains("InProgress"), "{err}");
    b.complete_training_job(&job, &[("validation:rmse", 1.5)]);
    let pass = evaluate_model(b.ports(), &input(2.0, 1.6)).await.unwrap();
    assert!(pass.passed, "{}", pass.reason);
    let fail = evaluate_model(b.ports(), &input(2.0, 1.4)).await.unwrap();
    assert!(
        !fail.passed && fail.reason.contains("trails the champion"),
        "{}",
        fail.reason
    );
    let mut missing = input(2.0, 1.0);
    missing.metric = "validation:auc".into();
    let err = evaluate_model(b.ports(), &missing).await.unwrap_err();
    assert_eq!(err.name(), "Weighbridge.NotFound");
    assert!(err.to_string().contains("validation:rmse"), "{err}");
}

#[tokio::test]
async fn evaluate_model_scores_a_batch_transform_output() {
    let b = MemoryBackend::new();
    b.put("data", "test/labels.csv", "1,0.5\n0,0.1\n1,0.9\n0,0.3\n");
    b.put("data", "out/labels.csv.out", "0.8\n0.2\n0.7\n0.4\n");
    let input = EvaluateModelInput {
        source: MetricSource::BatchTransform {
            predictions_uri: "s3://data/out/labels.csv.out".into(),
            labels_uri: "s3://data/test/labels.csv".into(),
            content_type: "text/csv".into(),
        },
        metric: "auc".into(),
        direction: None,
        threshold: Some(0.9),
        champion: None,
        min_improvement: 0.0,
        registry: None,
    };
    let out = evaluate_model(b.ports(), &input).await.unwrap();
    assert_eq!(out.value, 1.0);
    assert!(out.passed);
    b.put("data", "out/labels.csv.out", "0.8\nnope\n0.7\n0.4\n");
    let err = evaluate_model(b.ports(), &input).await.unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InvalidPayload");
}

fn deploy_input(variant: &str, execution: &str) -> DeployInput {
    parse_input(json!({
        "executionName": execution,
        "endpointName": "salary",
        "variantName": variant,
        "image": {"kind": "builtin", "name": "xgboost", "version": "1.7-1"},
        "modelDataUrl": format!("s3://data/models/{variant}/model.tar.gz"),
        "roleArn": ROLE,
        "initialShare": 0.1
    }))
    .unwrap()
}

#[tokio::test]
async fn deploy_creates_then_adds_a_challenger_at_its_share() {
    let b = MemoryBackend::new();
    let created = deploy(b.ports(), "us-east-1", &deploy_input("champion", "e1"))
        .await
        .unwrap();
    assert_eq!(created.action, "created");
    // Updating/Creating: a challenger must wait (retryable).
    let err = deploy(b.ports(), "us-east-1", &deploy_input("challenger", "e2"))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.EndpointNotReady");
    b.settle();
    let updated = deploy(b.ports(), "us-east-1", &deploy_input("challenger", "e2"))
        .await
        .unwrap();
    assert_eq!(updated.action, "updated");
    assert_eq!(
        updated.superseded_config.as_deref(),
        Some(created.new_config.as_str())
    );
    assert!((updated.weights["challenger"] - 0.1).abs() < 1e-12);
    assert!((updated.weights["champion"] - 0.9).abs() < 1e-12);
    b.settle();
    let err = deploy(b.ports(), "us-east-1", &deploy_input("challenger", "e3"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already has a variant"), "{err}");
    let mut bad = deploy_input("bad_name", "e4");
    bad.initial_share = 1.5;
    let before = b.calls().len();
    assert_eq!(
        deploy(b.ports(), "us-east-1", &bad).await.unwrap_err().name(),
        "Weighbridge.InvalidInput"
    );
    assert_eq!(b.calls().len(), before, "bad input makes no call");
}

/// An endpoint `salary` with a champion (y ≈ x) and a better or worse challenger.
async fn ab_endpoint_served_by_hand(challenger_noise: f64) -> MemoryBackend {
    let b = MemoryBackend::new();
    deploy(b.ports(), "us-east-1", &deploy_input("champion", "e1"))
        .await
        .unwrap();
    b.settle();
    let out = deploy(b.ports(), "us-east-1", &deploy_input("challenger", "e2"))
        .await
        .unwrap();
    b.settle();
    let config = weighbridge_tasks::ports::SageMaker::describe_endpoint_config(&b, &out.new_config)
        .await
        .unwrap();
    for v in &config.variants {
        // Deterministic "noise" from the feature so the test is exact and repeatable.
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

/// Labelled rows: label y = x0 + (x2 − 0.5); a model's error is driven by its noise.
fn test_rows(n: usize, seed: usize) -> String {
    (0..n)
        .map(|i| {
            let x0 = ((i * 37 + seed * 11) % 100) as f64 / 10.0;
            let x1 = ((i * 7919 + seed) % 1000) as f64 / 1000.0;
            let x2 = ((i * 104_729 + seed * 3) % 1000) as f64 / 1000.0;
            format!("{},{x0},{x1}\n", x0 + (x2 - 0.5))
        })
        .collect()
}

fn ab_input(policy: PolicyConfig) -> EvaluateVariantsInput {
    parse_input(json!({
        "endpointName": "salary",
        "testBucket": "data",
        "testPrefix": "ab/",
        "batchRows": 100,
        "maxConcurrency": 3,
        "policy": policy,
    }))
    .unwrap()
}

#[tokio::test]
async fn evaluate_variants_shifts_toward_a_better_challenger_and_records_the_look() {
    let b = ab_endpoint_served_by_hand(0.2).await;
    // Streamed in 13-byte chunks: every line is split across chunks somewhere.
    b.set_read_chunk_bytes(13);
    b.put("data", "ab/look1.csv", &test_rows(1000, 1));
    let out = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap();
    assert_eq!(out.new_rows, 1000);
    // Each variant's RMSE comes with an interval around it; the better model's lies below.
    for v in &out.variants {
        let (low, high) = v.intervals["rmse"];
        assert!(low < v.metrics["rmse"] && v.metrics["rmse"] < high, "{v:?}");
    }
    let interval = |n: &str| out.variants.iter().find(|v| v.variant == n).unwrap().intervals["rmse"];
    assert!(interval("challenger").1 < interval("champion").0);
    assert_eq!(out.action, Action::Shift, "{}", out.decision.reason);
    assert!(out.applied);
    let live = b.endpoint("salary").unwrap();
    let w = |n: &str| live.variants.iter().find(|v| v.name == n).unwrap().current_weight;
    assert!((w("challenger") - 0.4).abs() < 1e-9, "{:?}", live.variants);
    let rmse = out
        .variants
        .iter()
        .find(|v| v.variant == "challenger")
        .unwrap()
        .metrics["rmse"];
    assert!(
        rmse < out
            .variants
            .iter()
            .find(|v| v.variant == "champion")
            .unwrap()
            .metrics["rmse"]
    );
    // CloudWatch got per-variant datapoints with both dimensions.
    let data = b.metric_data();
    assert!(data.iter().any(|(ns, d)| ns == "Weighbridge"
        && d.name == "RMSE"
        && d.dimensions
            .contains(&("VariantName".into(), "challenger".into()))));
    // The same objects are not new evidence at the next look.
    let again = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap();
    assert_eq!(
        (again.new_rows, again.action, again.applied),
        (0, Action::Hold, false)
    );
    assert_eq!(again.total_rows, 1000);
}

#[tokio::test]
async fn evaluate_variants_rolls_back_a_worse_challenger_and_dry_run_changes_nothing() {
    let b = ab_endpoint_served_by_hand(3.0).await;
    b.put("data", "ab/look1.csv", &test_rows(1000, 2));
    let mut input = ab_input(PolicyConfig::default());
    input.dry_run = true;
    let out = evaluate_variants(&b, &b, &b, &b, &input).await.unwrap();
    assert_eq!(out.action, Action::Rollback);
    assert!(!out.applied);
    let w = b
        .endpoint("salary")
        .unwrap()
        .variants
        .iter()
        .find(|v| v.name == "challenger")
        .unwrap()
        .current_weight;
    assert!(w > 0.0, "dry run left the weights alone");
}

#[tokio::test]
async fn evaluate_variants_failure_paths() {
    let b = ab_endpoint_served_by_hand(0.2).await;
    // Empty test set.
    let err = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InsufficientData");
    b.put("data", "ab/look1.csv", &test_rows(300, 3));
    // Updating endpoint: retryable, nothing written.
    b.set_endpoint_status("salary", EndpointStatus::Updating);
    let err = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.EndpointNotReady");
    b.settle();
    // Unknown variant.
    let mut input = ab_input(PolicyConfig::default());
    input.variants = Some(vec!["champion".into(), "ghost".into()]);
    let err = evaluate_variants(&b, &b, &b, &b, &input).await.unwrap_err();
    assert!(
        err.to_string().contains("\"ghost\" is not on endpoint salary"),
        "{err}"
    );
    // Throttled InvokeEndpoint: retryable, no record, no weight change.
    b.inject("InvokeEndpoint", [Fault::Throttle]);
    let err = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.Throttled");
    assert!(
        !b.calls().contains(&"PutObject".to_string()),
        "no experiment record written"
    );
    assert!(!b
        .calls()
        .contains(&"UpdateEndpointWeightsAndCapacities".to_string()));
    // Non-binary labels for an AUC policy.
    let auc = PolicyConfig {
        primary_metric: "auc".into(),
        direction: Direction::HigherIsBetter,
        ..PolicyConfig::default()
    };
    let err = evaluate_variants(&b, &b, &b, &b, &ab_input(auc))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("needs 0/1 labels"), "{err}");
}

#[tokio::test]
async fn a_malformed_test_object_names_its_line_and_commits_nothing() {
    let b = ab_endpoint_served_by_hand(0.2).await;
    b.set_read_chunk_bytes(5);
    b.put("data", "ab/look1.csv", "1,2,3\n0.5,1,2\n1,oops,3\n");
    let err = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InvalidPayload");
    assert!(
        err.to_string().contains("ab/look1.csv") && err.to_string().contains("line 3"),
        "{err}"
    );
    assert!(
        !b.calls().contains(&"PutObject".to_string()),
        "no experiment record written"
    );
    // A test object that cannot be read is retryable (GetObject 5xx).
    b.put("data", "ab/look1.csv", &test_rows(300, 9));
    b.inject("GetObject", [Fault::ServerError, Fault::ServerError]);
    let err = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.ServiceUnavailable");
    assert!(!b
        .calls()
        .contains(&"UpdateEndpointWeightsAndCapacities".to_string()));
}

#[tokio::test]
async fn evaluate_variants_reports_a_malformed_prediction_payload() {
    let b = ab_endpoint_served_by_hand(0.2).await;
    let config = b.endpoint("salary").unwrap().config_name;
    let models = weighbridge_tasks::ports::SageMaker::describe_endpoint_config(&b, &config)
        .await
        .unwrap();
    let challenger = models.variants.iter().find(|v| v.name == "challenger").unwrap();
    b.serve(&challenger.model_name, ResponseStyle::Garbage, |_| 0.0);
    b.put("data", "ab/look1.csv", &test_rows(300, 4));
    let err = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InvalidPayload");
    assert!(err.to_string().contains("challenger rows 1..100"), "{err}");
}

#[tokio::test]
async fn a_concurrent_look_loses_the_conditional_put_and_changes_nothing() {
    let b = ab_endpoint_served_by_hand(0.2).await;
    b.put("data", "ab/look1.csv", &test_rows(1000, 5));
    b.inject("PutObject", [Fault::PreconditionFailed]);
    let err = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.Conflict");
    assert!(!b
        .calls()
        .contains(&"UpdateEndpointWeightsAndCapacities".to_string()));
    // The retry commits the look.
    let out = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap();
    assert_eq!(out.look, 1);
}

#[tokio::test]
async fn a_corrupt_experiment_record_is_an_input_error() {
    let b = ab_endpoint_served_by_hand(0.2).await;
    b.put("data", "ab/look1.csv", &test_rows(300, 5));
    let first = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap();
    b.put("data", &first.experiment_key, "{}");
    b.put("data", "ab/look2.csv", &test_rows(300, 6));
    // The record exists but is not ours: a corrupt record is an input error, not a crash.
    let err = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is corrupt"), "{err}");
}

#[tokio::test]
async fn shift_weights_promotes_rolls_back_and_cleans_up_only_after_in_service() {
    let b = ab_endpoint_served_by_hand(0.2).await;
    let before = b.endpoint("salary").unwrap().config_name;
    let input = |action: ShiftAction| ShiftWeightsInput {
        endpoint_name: "salary".into(),
        execution_name: "ab-1".into(),
        action,
    };
    let rolled = shift_weights(
        b.ports(),
        &input(ShiftAction::Rollback {
            loser: "challenger".into(),
            remove: false,
            reason: None,
            evidence: None,
        }),
    )
    .await
    .unwrap();
    assert_eq!(rolled.weights["challenger"], 0.0);
    let err = shift_weights(
        b.ports(),
        &input(ShiftAction::Promote {
            winner: "ghost".into(),
            reason: None,
            evidence: None,
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InvalidInput");
    let promoted = shift_weights(
        b.ports(),
        &input(ShiftAction::Promote {
            winner: "challenger".into(),
            reason: None,
            evidence: None,
        }),
    )
    .await
    .unwrap();
    assert_eq!(promoted.superseded_config.as_deref(), Some(before.as_str()));
    assert_eq!(promoted.retired_models.len(), 1);
    let cleanup = ShiftAction::Cleanup {
        superseded_config: before.clone(),
        models: promoted.retired_models.clone(),
    };
    // Still Updating: nothing is deleted yet.
    let err = shift_weights(b.ports(), &input(cleanup.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.EndpointNotReady");
    b.settle();
    let done = shift_weights(b.ports(), &input(cleanup)).await.unwrap();
    assert_eq!(done.deleted.len(), 2);
    let live = b.endpoint("salary").unwrap();
    assert_eq!(live.variants.len(), 1);
    assert_eq!(live.variants[0].name, "challenger");
    let set = ShiftAction::Set {
        weights: BTreeMap::from([("challenger".to_string(), f64::NAN)]),
    };
    assert_eq!(
        shift_weights(b.ports(), &input(set)).await.unwrap_err().name(),
        "Weighbridge.InvalidInput"
    );
}

#[tokio::test]
async fn a_multi_model_endpoint_compares_target_models_and_changes_no_weights() {
    let b = MemoryBackend::new();
    let mut input = deploy_input("mme", "e1");
    input.multi_model = true;
    deploy(b.ports(), "us-east-1", &input).await.unwrap();
    b.settle();
    b.serve("model-a.tar.gz", ResponseStyle::LinearLearner, |x| {
        x[0] + (x[1] - 0.5)
    });
    b.serve("model-b.tar.gz", ResponseStyle::Xgboost, |x| {
        x[0] + 0.1 * (x[1] - 0.5)
    });
    b.put("data", "ab/look1.csv", &test_rows(600, 6));
    let mut ab = ab_input(PolicyConfig::default());
    ab.target_models = Some(vec!["model-a.tar.gz".into(), "model-b.tar.gz".into()]);
    let out = evaluate_variants(&b, &b, &b, &b, &ab).await.unwrap();
    assert_eq!(out.variants.len(), 2);
    assert_eq!(out.decision.champion, "model-a.tar.gz");
    assert_ne!(out.action, Action::Hold, "{}", out.decision.reason);
    assert!(
        !out.applied,
        "a multi-model endpoint's traffic is routed by the caller"
    );
    assert!(!b
        .calls()
        .contains(&"UpdateEndpointWeightsAndCapacities".to_string()));
    assert!(b.metric_data().iter().any(|(_, d)| d
        .dimensions
        .contains(&("TargetModel".into(), "model-b.tar.gz".into()))));
}

#[tokio::test]
async fn json_lines_test_objects_are_evidence_too() {
    let b = ab_endpoint_served_by_hand(0.2).await;
    let jsonl: String = test_rows(500, 7)
        .lines()
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            format!("{}\n", json!({"label": v[0], "features": &v[1..]}))
        })
        .collect();
    b.put("data", "ab/look1.jsonl", &jsonl);
    b.put("data", "ab/look1.csv", &test_rows(500, 8));
    let out = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap();
    assert_eq!(out.new_rows, 1000);
    assert_eq!(out.new_objects.len(), 2);
    b.put("data", "ab/bad.jsonl", "{\"label\": 1}\n");
    let err = evaluate_variants(&b, &b, &b, &b, &ab_input(PolicyConfig::default()))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InvalidPayload");
    assert!(
        err.to_string().contains("ab/bad.jsonl") && err.to_string().contains("line 1"),
        "{err}"
    );
}

/// Binary labels y = [x0 + 4·(x2 − 0.5) > 5]; a model that sees x2 ranks better.
fn binary_rows(n: usize, seed: usize) -> String {
    test_rows(n, seed)
        .lines()
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            // test_rows' label is x0 + (x2 − 0.5); rebuild x2 from it for a sharper rule.
            let x2 = v[0] - v[1] + 0.5;
            let y = u8::from(v[1] + 4.0 * (x2 - 0.5) > 5.0);
            format!("{y},{},{},{x2}\n", v[1], v[2])
        })
        .collect()
}

#[tokio::test]
async fn an_auc_experiment_pools_delong_evidence_and_intervals_across_looks() {
    let b = ab_endpoint_served_by_hand(0.2).await;
    let config = b.endpoint("salary").unwrap().config_name;
    let variants = weighbridge_tasks::ports::SageMaker::describe_endpoint_config(&b, &config)
        .await
        .unwrap()
        .variants;
    for v in &variants {
        // Scores in (0, 1): the champion mixes in the unrelated x1, the challenger mostly x2.
        let mix = if v.name == "champion" { 0.0 } else { 0.8 };
        b.serve(&v.model_name, ResponseStyle::LinearLearner, move |x| {
            let signal = x[0] + 4.0 * (mix * (x[2] - 0.5) + (1.0 - mix) * (x[1] - 0.5));
            1.0 / (1.0 + (-(signal - 5.0)).exp())
        });
    }
    let auc = PolicyConfig {
        primary_metric: "auc".into(),
        direction: Direction::HigherIsBetter,
        absolute_effect: Some(0.02),
        ..PolicyConfig::default()
    };
    let mut input = ab_input(auc);
    input.dry_run = true;
    b.put("data", "ab/look1.csv", &binary_rows(800, 11));
    let first = evaluate_variants(&b, &b, &b, &b, &input).await.unwrap();
    b.put("data", "ab/look2.csv", &binary_rows(800, 12));
    let second = evaluate_variants(&b, &b, &b, &b, &input).await.unwrap();
    assert_eq!((first.look, second.look, second.total_rows), (1, 2, 1600));
    let arm = |o: &weighbridge_tasks::evaluate_variants::EvaluateVariantsOutput, n: &str| {
        o.variants.iter().find(|v| v.variant == n).unwrap().clone()
    };
    for out in [&first, &second] {
        let (champion, challenger) = (arm(out, "champion"), arm(out, "challenger"));
        assert!(challenger.metrics["auc"] > champion.metrics["auc"], "{out:?}");
        for v in [&champion, &challenger] {
            let (low, high) = v.intervals["auc"];
            assert!(
                low < v.metrics["auc"] && v.metrics["auc"] < high && high <= 1.0,
                "{v:?}"
            );
            assert!(v.metrics.contains_key("log_loss") && v.metrics.contains_key("accuracy"));
        }
    }
    // A second look narrows each interval (pooled over 1600 rows instead of 800).
    let width =
        |v: &weighbridge_tasks::evaluate_variants::VariantReport| v.intervals["auc"].1 - v.intervals["auc"].0;
    assert!(width(&arm(&second, "challenger")) < width(&arm(&first, "challenger")));
    assert_ne!(second.action, Action::Rollback, "{}", second.decision.reason);
    assert!(second.decision.verdicts[0].improvement > 0.0);
}
