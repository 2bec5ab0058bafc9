//! End to end: the project's two state machines (the real ASL files and template, the
//! real task code) run by the interpreter over the simulated backend, which really trains,
//! hosts and routes, on a virtual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use weighbridge_asl::interpreter::{Clock, ExecutionResult, Status, VirtualClock};
use weighbridge_local::demo::{self, function_env, salary_rows};
use weighbridge_local::functions::{invoke, FunctionEnv};
use weighbridge_local::workflows::{run_machine, run_started, Deployment};
use weighbridge_local::{Fault, MemoryBackend, Timing};
use weighbridge_tasks::ports::{
    Autoscaling, PolicyKind, SageMaker, ScalingPolicy, TrackedMetric, VariantScaling,
    INVOCATIONS_PER_INSTANCE,
};

const BUCKET: &str = "data";

/// The demo's deployment, on the test bucket, with the gate threshold under test and a
/// challenger share of 20 %.
fn env(threshold: f64) -> FunctionEnv {
    function_env(BUCKET, threshold, 0.2)
}

fn backend() -> MemoryBackend {
    let clock = Arc::new(VirtualClock::starting_at(
        Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap(),
    ));
    let b = MemoryBackend::simulated(clock, Timing::default(), 11);
    b.put(BUCKET, "validation/v.csv", &salary_rows(200, 99, 0.0));
    b
}

fn object_created(key: &str, etag: &str) -> Value {
    demo::object_created(BUCKET, key, etag, 1, "2026-11-24T08:00:00Z")
}

/// Uploads a data set and delivers its S3 event: start-retraining, then the execution it
/// started, as Step Functions would.
async fn upload(
    b: &MemoryBackend,
    env: &FunctionEnv,
    key: &str,
    body: &str,
) -> Vec<(String, ExecutionResult)> {
    b.put(BUCKET, key, body);
    let etag = format!("{:x}", body.len());
    invoke(b, env, "start-retraining", object_created(key, &etag))
        .await
        .unwrap();
    run_started(b, &Deployment::embedded(), env)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.result))
        .collect()
}

fn kinds(r: &ExecutionResult) -> Vec<&str> {
    r.history.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test]
async fn retrain_creates_the_endpoint_then_adds_a_challenger_and_ignores_a_duplicate_event() {
    let b = backend();
    let env = env(1000.0);
    let start = b.clock().now();
    let first = upload(&b, &env, "incoming/v1.csv", &salary_rows(300, 1, 0.0)).await;
    assert_eq!(first.len(), 1);
    let r = &first[0].1;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.error);
    let out = r.output.as_ref().unwrap();
    assert_eq!(
        (out["outcome"].as_str(), out["action"].as_str()),
        (Some("deployed"), Some("created"))
    );
    // Training (4 min) and the endpoint (6 min) took virtual time, polled by Wait states.
    assert!(b.clock().now() - start >= Duration::minutes(10));
    assert!(kinds(r).iter().filter(|k| **k == "WaitStateEntered").count() >= 2);
    let endpoint = b.endpoint("salary").unwrap();
    assert_eq!(endpoint.variants.len(), 1);
    // The hosted model is the trained one: it predicts the salary.
    let answer = weighbridge_tasks::ports::Runtime::invoke_endpoint(
        &b,
        &weighbridge_tasks::ports::InvokeRequest {
            endpoint: "salary".into(),
            body: b"60,0.5\n".to_vec(),
            content_type: "text/csv".into(),
            accept: None,
            target_variant: None,
            target_model: None,
            inference_id: None,
        },
    )
    .await
    .unwrap();
    let score = serde_json::from_slice::<Value>(&answer.body).unwrap()["predictions"][0]["score"]
        .as_f64()
        .unwrap();
    assert!((score - 2350.0).abs() < 30.0, "{score}");

    let second = upload(&b, &env, "incoming/v2.csv", &salary_rows(300, 2, 0.0)).await;
    let r = &second[0].1;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.error);
    assert_eq!(r.output.as_ref().unwrap()["action"], "updated");
    let endpoint = b.endpoint("salary").unwrap();
    assert_eq!(endpoint.variants.len(), 2);
    let challenger = endpoint
        .variants
        .iter()
        .find(|v| v.name == r.output.as_ref().unwrap()["variantName"])
        .unwrap();
    let total: f64 = endpoint.variants.iter().map(|v| v.current_weight).sum();
    assert!((challenger.current_weight / total - 0.2).abs() < 1e-9);
    // The superseded config was deleted once the endpoint was InService on the new one.
    assert!(b.calls().contains(&"DeleteEndpointConfig".to_string()));

    // The same object version delivered again starts nothing.
    let again = invoke(
        &b,
        &env,
        "start-retraining",
        object_created(
            "incoming/v2.csv",
            &format!("{:x}", salary_rows(300, 2, 0.0).len()),
        ),
    )
    .await
    .unwrap();
    assert_eq!(again["started"][0]["duplicate"], true, "{again}");
    assert!(run_started(&b, &Deployment::embedded(), &env)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_candidate_that_misses_the_gate_is_rejected_and_nothing_is_deployed() {
    let b = backend();
    let r = upload(&b, &env(1.0), "incoming/v1.csv", &salary_rows(300, 1, 0.0))
        .await
        .remove(0)
        .1;
    assert_eq!(r.status, Status::Succeeded);
    let out = r.output.unwrap();
    assert_eq!(out["outcome"], "rejected");
    assert!(
        out["reason"].as_str().unwrap().contains("misses the threshold"),
        "{out}"
    );
    assert!(b.endpoint("salary").is_none());
}

#[tokio::test]
async fn a_failed_training_job_fails_the_execution_with_its_reason() {
    let b = backend();
    b.fail_next_training_job("ClientError: simulated bad data");
    let r = upload(&b, &env(1000.0), "incoming/v1.csv", &salary_rows(50, 1, 0.0))
        .await
        .remove(0)
        .1;
    assert_eq!(r.status, Status::Failed);
    let f = r.error.unwrap();
    assert_eq!(
        (f.error.as_str(), f.cause.as_str()),
        ("Weighbridge.TrainingFailed", "ClientError: simulated bad data")
    );
    // Bad rows fail the job the same way, with the line named.
    let r = upload(&b, &env(1000.0), "incoming/v2.csv", "1,2,3\n4,x,6\n")
        .await
        .remove(0)
        .1;
    assert_eq!(
        r.error.unwrap().cause,
        "ClientError: channel train: malformed payload at line 2: \"x\" is not a number"
    );
    assert!(b.endpoint("salary").is_none());
}

#[tokio::test]
async fn a_rolled_back_endpoint_update_cleans_up_the_candidate() {
    let b = backend();
    let mut env = env(1000.0);
    env.start_retraining.training_defaults["deploy"]["alarms"] = json!({});
    upload(&b, &env, "incoming/v1.csv", &salary_rows(300, 1, 0.0)).await;
    let before = b.endpoint("salary").unwrap();
    b.fail_next_endpoint_change("simulated: the new variant failed its health check");
    let r = upload(&b, &env, "incoming/v2.csv", &salary_rows(300, 2, 0.0))
        .await
        .remove(0)
        .1;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_ref().unwrap().error, "Weighbridge.EndpointFailed");
    let after = b.endpoint("salary").unwrap();
    assert_eq!((after.config_name, after.variants.len()), (before.config_name, 1));
    let calls = b.calls();
    assert!(
        calls.contains(&"DeleteEndpointConfig".to_string()) && calls.contains(&"DeleteModel".to_string())
    );
    assert!(
        !calls.contains(&"DeleteEndpoint".to_string()),
        "the endpoint existed before: kept"
    );
    // The candidate's alarms were put before the update and deleted with it.
    assert!(calls.contains(&"PutMetricAlarm".to_string()));
    assert!(b.alarm_states().is_empty(), "{:?}", b.alarm_states());
}

#[tokio::test]
async fn a_failed_endpoint_creation_deletes_what_the_execution_created() {
    let b = backend();
    b.fail_next_endpoint_change("simulated: capacity");
    let r = upload(&b, &env(1000.0), "incoming/v1.csv", &salary_rows(300, 1, 0.0))
        .await
        .remove(0)
        .1;
    assert_eq!(r.error.as_ref().unwrap().error, "Weighbridge.EndpointFailed");
    assert!(b.endpoint("salary").is_none());
}

#[tokio::test]
async fn throttling_is_absorbed_by_retry() {
    let b = backend();
    b.inject("CreateTrainingJob", [Fault::Throttle, Fault::Throttle]);
    // The train task looks before it creates, once per attempt (three attempts: two are
    // throttled); the workflow's first poll after them is throttled too.
    b.inject_after("DescribeTrainingJob", 3, [Fault::Throttle]);
    let r = upload(&b, &env(1000.0), "incoming/v1.csv", &salary_rows(300, 1, 0.0))
        .await
        .remove(0)
        .1;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.error);
    let failed: Vec<&Value> = r
        .history
        .iter()
        .filter(|e| e.kind == "TaskFailed")
        .map(|e| &e.details["error"])
        .collect();
    assert_eq!(
        failed.iter().filter(|e| **e == "Weighbridge.Throttled").count(),
        2,
        "{failed:?}"
    );
    assert!(
        failed.iter().any(|e| *e == "SageMaker.ThrottlingException"),
        "{failed:?}"
    );
}

/// An endpoint with a champion trained on noisy features and a challenger trained on
/// clean ones (`challenger_noise` decides which is better), at 80/20.
async fn ab_endpoint_trained_by_retrain(
    champion_noise: f64,
    challenger_noise: f64,
) -> (MemoryBackend, FunctionEnv, String, String) {
    let b = backend();
    let env = env(1_000_000.0);
    let name = |r: Vec<(String, ExecutionResult)>| {
        r[0].1.output.as_ref().unwrap()["variantName"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let champion = name(upload(&b, &env, "incoming/v1.csv", &salary_rows(400, 1, champion_noise)).await);
    let challenger = name(
        upload(
            &b,
            &env,
            "incoming/v2.csv",
            &salary_rows(400, 2, challenger_noise),
        )
        .await,
    );
    assert_eq!(b.endpoint("salary").unwrap().variants.len(), 2);
    (b, env, champion, challenger)
}

async fn look(b: &MemoryBackend, env: &FunctionEnv, n: u64) -> ExecutionResult {
    b.put(
        BUCKET,
        &format!("ab-tests/look{n}.csv"),
        &salary_rows(300, 100 + n, 0.0),
    );
    let input = json!({"endpointName": "salary", "testBucket": BUCKET, "testPrefix": "ab-tests/",
                       "policy": {"primaryMetric": "rmse", "maxStep": 0.3}});
    let r = run_machine(
        b,
        &Deployment::embedded(),
        env,
        "ab-evaluation",
        &format!("look-{n}"),
        input,
    )
    .await
    .unwrap();
    assert_eq!(r.status, Status::Succeeded, "look {n}: {:?}", r.error);
    r
}

#[tokio::test]
async fn scheduled_looks_shift_then_promote_the_better_challenger() {
    let (b, env, _, challenger) = ab_endpoint_trained_by_retrain(0.8, 0.0).await;
    let mut outcomes = Vec::new();
    for n in 1..=8 {
        let r = look(&b, &env, n).await;
        let outcome = r.output.unwrap()["outcome"].as_str().unwrap().to_string();
        outcomes.push(outcome.clone());
        if outcome == "promote" {
            break;
        }
    }
    assert_eq!(
        outcomes.last().map(String::as_str),
        Some("promote"),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|o| o == "shift"),
        "stepwise first: {outcomes:?}"
    );
    let endpoint = b.endpoint("salary").unwrap();
    assert_eq!(endpoint.variants.len(), 1, "the loser's variant is gone");
    assert_eq!(endpoint.variants[0].name, challenger);
    assert!(
        b.calls().contains(&"DeleteModel".to_string()),
        "the champion's model was cleaned up"
    );
}

/// Min 1, max 4 instances, tracking invocations per instance.
fn scaling() -> VariantScaling {
    VariantScaling {
        min_capacity: 1,
        max_capacity: 4,
        suspended: false,
        policies: vec![ScalingPolicy {
            name: "invocations-per-instance".into(),
            kind: PolicyKind::TargetTracking {
                target_value: 70.0,
                metric: TrackedMetric::Predefined {
                    metric_type: INVOCATIONS_PER_INSTANCE.into(),
                    resource_label: None,
                },
                scale_in_cooldown: None,
                scale_out_cooldown: None,
                disable_scale_in: false,
            },
        }],
    }
}

fn entered(r: &ExecutionResult, state: &str) -> bool {
    r.history
        .iter()
        .any(|e| e.kind.ends_with("StateEntered") && e.state.as_deref() == Some(state))
}

async fn scaled_champion(b: &MemoryBackend, env: &FunctionEnv) -> String {
    let first = upload(b, env, "incoming/v1.csv", &salary_rows(400, 1, 0.8)).await;
    let champion = first[0].1.output.as_ref().unwrap()["variantName"]
        .as_str()
        .unwrap()
        .to_string();
    b.register_target("salary", &champion, &scaling()).await.unwrap();
    b.put_policy("salary", &champion, &scaling().policies[0])
        .await
        .unwrap();
    champion
}

#[tokio::test]
async fn the_promotion_workflow_moves_the_champions_autoscaling_to_the_winner() {
    let b = backend();
    let env = env(1_000_000.0);
    let champion = scaled_champion(&b, &env).await;
    let second = upload(&b, &env, "incoming/v2.csv", &salary_rows(400, 2, 0.0)).await;
    assert!(
        !entered(&second[0].1, "RestoreScaling"),
        "no copy asked, nothing to restore"
    );
    let challenger = second[0].1.output.as_ref().unwrap()["variantName"]
        .as_str()
        .unwrap()
        .to_string();
    let mut promoted = None;
    for n in 1..=8 {
        let r = look(&b, &env, n).await;
        if r.output.as_ref().unwrap()["outcome"] == "promote" {
            promoted = Some(r);
            break;
        }
    }
    let r = promoted.expect("the better challenger is promoted");
    assert!(entered(&r, "RestoreScaling"), "{:?}", kinds(&r));
    assert_eq!(
        b.variant_scaling("salary", &challenger).await.unwrap(),
        Some(scaling())
    );
    assert_eq!(b.variant_scaling("salary", &champion).await.unwrap(), None);
}

#[tokio::test]
async fn the_retrain_workflow_copies_autoscaling_to_a_new_challenger_when_asked() {
    let b = backend();
    let mut env = env(1_000_000.0);
    env.start_retraining.training_defaults["deploy"]["copyScalingToChallenger"] = json!(true);
    scaled_champion(&b, &env).await;
    let second = upload(&b, &env, "incoming/v2.csv", &salary_rows(400, 2, 0.0)).await;
    let r = &second[0].1;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.error);
    assert!(entered(r, "RestoreScaling"), "{:?}", kinds(r));
    let challenger = r.output.as_ref().unwrap()["variantName"].as_str().unwrap();
    assert_eq!(
        b.variant_scaling("salary", challenger).await.unwrap(),
        Some(scaling())
    );
}

#[tokio::test]
async fn a_guarded_model_replacement_waits_out_its_canary_and_bake() {
    let b = backend();
    let mut env = env(1_000_000.0);
    let first = upload(&b, &env, "incoming/v1.csv", &salary_rows(400, 1, 0.8)).await;
    let champion = first[0].1.output.as_ref().unwrap()["variantName"]
        .as_str()
        .unwrap()
        .to_string();
    // 40 minutes of canary and 20 of baking: longer than the unguarded hour of polls
    // allows once the update's own 6 minutes are added.
    let canary = json!({"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 2400,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}},
        "TerminationWaitInSeconds": 1200, "MaximumExecutionTimeoutInSeconds": 7200}});
    let deploy = &mut env.start_retraining.training_defaults["deploy"];
    deploy["mode"] = json!("replace");
    deploy["variantName"] = json!(champion);
    deploy["deploymentConfig"] = canary;
    let started = b.clock().now();
    let second = upload(&b, &env, "incoming/v2.csv", &salary_rows(400, 2, 0.0)).await;
    let r = &second[0].1;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.error);
    let out = r.output.as_ref().unwrap();
    assert_eq!(
        (out["action"].as_str(), out["variantName"].as_str()),
        (Some("replaced"), Some(champion.as_str()))
    );
    assert!(
        b.clock().now() - started >= Duration::minutes(66),
        "waited out canary and bake"
    );
    let endpoint = b.endpoint("salary").unwrap();
    assert_eq!(endpoint.variants.len(), 1);
    assert_eq!(endpoint.config_name, out["endpointConfig"].as_str().unwrap());

    // The same config on a challenger (a new variant) is refused before anything changes.
    env.start_retraining.training_defaults["deploy"]
        .as_object_mut()
        .unwrap()
        .remove("variantName");
    env.start_retraining.training_defaults["deploy"]["mode"] = json!("weighted");
    let third = upload(&b, &env, "incoming/v3.csv", &salary_rows(400, 3, 0.0)).await;
    let r = &third[0].1;
    assert_eq!(r.status, Status::Failed);
    let error = r.error.as_ref().unwrap();
    assert!(format!("{error:?}").contains("same variant names"), "{error:?}");
    assert_eq!(
        b.endpoint("salary").unwrap(),
        endpoint,
        "the endpoint is untouched"
    );
}

#[tokio::test]
async fn a_registered_candidate_is_linked_to_its_training_job_and_variant_in_the_output() {
    let b = backend();
    let mut env = env(1000.0);
    let first = upload(&b, &env, "incoming/v1.csv", &salary_rows(300, 1, 0.0)).await;
    assert_eq!(
        first[0].1.output.as_ref().unwrap()["modelPackageArn"],
        Value::Null
    );
    env.start_retraining.training_defaults["gate"]["registry"] =
        json!({"group": "salary-candidates", "approval": "approved"});
    let second = upload(&b, &env, "incoming/v2.csv", &salary_rows(300, 2, 0.0)).await;
    let r = &second[0].1;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.error);
    let out = r.output.as_ref().unwrap();
    let arn = out["modelPackageArn"].as_str().expect("registered");
    let package = b.model_packages()[arn].clone();
    assert_eq!(
        package.metadata["weighbridge:trainingJob"],
        out["trainingJobName"]
    );
    assert_eq!(
        out["variantName"], out["trainingJobName"],
        "the variant is named after the job"
    );
    assert_eq!(
        package.approval,
        weighbridge_tasks::ports::ApprovalStatus::Approved
    );
}

#[tokio::test]
async fn a_worse_challenger_is_rolled_back_and_removed() {
    let (b, env, champion, _) = ab_endpoint_trained_by_retrain(0.0, 1.5).await;
    let r = look(&b, &env, 1).await;
    let kinds = kinds(&r);
    assert_eq!(
        r.output.as_ref().unwrap()["outcome"],
        "rollback",
        "{:?}",
        r.output
    );
    assert!(kinds.contains(&"MapIterationStarted"), "one rollback per loser");
    let endpoint = b.endpoint("salary").unwrap();
    assert_eq!(endpoint.variants.len(), 1);
    assert_eq!(endpoint.variants[0].name, champion);
}

#[tokio::test]
async fn the_embedded_definitions_validate_against_the_template() {
    let d = Deployment::embedded();
    assert_eq!(
        d.machine_names(),
        vec![
            "ab-evaluation".to_string(),
            "alarm-rollback".to_string(),
            "retrain".to_string()
        ]
    );
    for m in d.machine_names() {
        d.definition(&m).unwrap();
    }
}

#[tokio::test]
async fn a_batch_transform_of_a_trained_model_feeds_the_quality_gate() {
    let b = backend();
    let env = env(1000.0);
    upload(&b, &env, "incoming/v1.csv", &salary_rows(300, 1, 0.0)).await;
    let config = b.endpoint("salary").unwrap().config_name;
    let model = b.describe_endpoint_config(&config).await.unwrap().variants[0]
        .model_name
        .clone();
    // Labelled test rows, and the same rows without their labels for the transform.
    let labelled = salary_rows(200, 7, 0.0);
    let features: String = labelled
        .lines()
        .map(|l| format!("{}\n", l.split_once(',').unwrap().1))
        .collect();
    b.put(BUCKET, "test/labels.csv", &labelled);
    b.put(BUCKET, "test/input/features.csv", &features);
    let deployment = Deployment::embedded();
    let resources = weighbridge_local::workflows::TaskResources::local(&b, &env, &deployment);
    let task = weighbridge_asl::interpreter::TaskContext {
        execution_name: "t".into(),
        state_name: "Transform".into(),
        retry_count: 0,
        call_number: 0,
    };
    use weighbridge_asl::interpreter::Resources;
    resources
        .call(
            "arn:aws:states:::aws-sdk:sagemaker:createTransformJob",
            json!({"TransformJobName": "score-1", "ModelName": model,
                   "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": "s3://data/test/input/"}}, "ContentType": "text/csv"},
                   "TransformOutput": {"S3OutputPath": "s3://data/test/output/"}}),
            &task,
        )
        .await
        .unwrap();
    let described = resources
        .call(
            "arn:aws:states:::aws-sdk:sagemaker:describeTransformJob",
            json!({"TransformJobName": "score-1"}),
            &task,
        )
        .await
        .unwrap();
    assert_eq!(described["TransformJobStatus"], "Completed", "{described}");
    assert_eq!(
        b.text(BUCKET, "test/output/features.csv.out")
            .unwrap()
            .lines()
            .count(),
        200
    );
    let gate = invoke(
        &b,
        &env,
        "evaluate-model",
        json!({"source": {"kind": "batchTransform", "predictionsUri": "s3://data/test/output/features.csv.out",
                          "labelsUri": "s3://data/test/labels.csv"},
               "metric": "rmse", "threshold": 50.0}),
    )
    .await
    .unwrap();
    assert_eq!(gate["passed"], true, "{gate}");
    // A transform of a model with no artifact here fails like a bad job.
    let err = b.create_transform_job(&weighbridge_local::TransformJob {
        name: "score-2".into(),
        model_name: "ghost".into(),
        input_uri: "s3://data/test/input/".into(),
        output_uri: "s3://data/x/".into(),
        status: String::new(),
        failure_reason: None,
    });
    assert!(err.is_err());
}

#[tokio::test]
async fn a_multi_model_endpoint_serves_trained_artifacts_by_target_model() {
    let b = backend();
    let env = env(1000.0);
    let job = upload(&b, &env, "incoming/v1.csv", &salary_rows(300, 1, 0.0)).await[0]
        .1
        .output
        .clone()
        .unwrap()["variantName"]
        .as_str()
        .unwrap()
        .to_string();
    let mme = json!({"executionName": "mme", "endpointName": "many", "variantName": "all",
                     "image": {"kind": "builtin", "name": "xgboost", "version": "1.7-1"},
                     "modelDataUrl": "s3://data/models/", "multiModel": true,
                     "roleArn": "arn:aws:iam::123456789012:role/sagemaker"});
    invoke(&b, &env, "deploy", mme).await.unwrap();
    b.clock().advance(Duration::minutes(10));
    let answer = weighbridge_tasks::ports::Runtime::invoke_endpoint(
        &b,
        &weighbridge_tasks::ports::InvokeRequest {
            endpoint: "many".into(),
            body: b"60,0.5\n".to_vec(),
            content_type: "text/csv".into(),
            accept: None,
            target_variant: None,
            target_model: Some(format!("{job}/output/model.tar.gz")),
            inference_id: None,
        },
    )
    .await
    .unwrap();
    let score: f64 = String::from_utf8(answer.body).unwrap().trim().parse().unwrap();
    assert!((score - 2350.0).abs() < 30.0, "{score}");
}
