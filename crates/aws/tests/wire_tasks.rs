//! The task states over the AWS adapters, on the wire against moto server (run by
//! `.ci/run` with `MOTO_ENDPOINT` set; see `wire.rs` for what moto can and cannot answer).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use serde_json::json;
use weighbridge_aws::AwsPorts;

mod common;
use common::{config, state_machine, unique};
use weighbridge_tasks::deploy::deploy;
use weighbridge_tasks::evaluate_model::evaluate_model;
use weighbridge_tasks::parse_input;
use weighbridge_tasks::ports::{ObjectStore, PutCondition, SageMaker};
use weighbridge_tasks::shift_weights::shift_weights;
use weighbridge_tasks::start_retraining::{start_retraining, StartRetrainingConfig};
use weighbridge_tasks::train::train;

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn start_retraining_on_the_wire_starts_once_per_object_version() {
    let c = config().await;
    let p = AwsPorts::from_config(&c, true);
    let config = StartRetrainingConfig {
        state_machine_arn: state_machine(&c, "wire-tasks-retrain").await,
        key_prefix: "incoming/".into(),
        key_suffix: ".csv".into(),
        training_defaults: json!({}),
    };
    let event: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/start-retraining.json")).unwrap();
    let first = start_retraining(&p.sfn, &config, &event).await.unwrap();
    assert!(!first.started[0].duplicate);
    let again = start_retraining(&p.sfn, &config, &event).await.unwrap();
    assert!(again.started[0].duplicate, "{again:?}");
    assert_eq!(again.started[0].execution_arn, first.started[0].execution_arn);
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn train_then_gate_then_deploy_on_the_wire() {
    let c = config().await;
    let p = AwsPorts::from_config(&c, true);
    // train: a retry with the same execution name starts nothing new.
    let mut input: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/train.json")).unwrap();
    input["executionName"] = json!(unique("wire-exec"));
    let spec = parse_input(input).unwrap();
    let first = train(&p.sagemaker, &p.region, &spec).await.unwrap();
    assert!(first.created);
    let retry = train(&p.sagemaker, &p.region, &spec).await.unwrap();
    assert_eq!(
        (retry.created, &retry.training_job_name),
        (false, &first.training_job_name)
    );

    // evaluate-model on a batch transform output in S3.
    let bucket = unique("wire-tasks");
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&c)
            .force_path_style(true)
            .build(),
    )
    .create_bucket()
    .bucket(&bucket)
    .send()
    .await
    .unwrap();
    p.s3.put_object(
        &bucket,
        "test/test.csv",
        b"3,1\n5,2\n7,3\n".to_vec(),
        PutCondition::Always,
    )
    .await
    .unwrap();
    p.s3.put_object(
        &bucket,
        "out/test.csv.out",
        b"3.5\n5\n6.5\n".to_vec(),
        PutCondition::Always,
    )
    .await
    .unwrap();
    let gate = parse_input(json!({
        "source": {"kind": "batchTransform",
                   "predictionsUri": format!("s3://{bucket}/out/test.csv.out"),
                   "labelsUri": format!("s3://{bucket}/test/test.csv")},
        "metric": "rmse", "threshold": 1.0
    }))
    .unwrap();
    let verdict = evaluate_model(&p.sagemaker, &p.s3, &gate).await.unwrap();
    assert!(verdict.passed, "{}", verdict.reason);
    assert!((verdict.value - (0.5f64 / 3.0).sqrt()).abs() < 1e-12);

    // deploy: the first variant creates the endpoint.
    let mut d: serde_json::Value = serde_json::from_str(include_str!("../../../events/deploy.json")).unwrap();
    let endpoint = unique("wire-ep");
    d["endpointName"] = json!(endpoint);
    d["executionName"] = json!(unique("wire-deploy"));
    let out = deploy(&p.sagemaker, &p.region, &parse_input(d.clone()).unwrap())
        .await
        .unwrap();
    assert_eq!(out.action, "created");
    let live = p.sagemaker.describe_endpoint(&endpoint).await.unwrap();
    assert_eq!(live.config_name, out.new_config);
    // A challenger needs UpdateEndpoint, which moto answers with HTTP 500: retryable.
    d["variantName"] = json!("challenger");
    let err = deploy(&p.sagemaker, &p.region, &parse_input(d).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.ServiceUnavailable", "{err}");
    // shift-weights (set) on the one-variant endpoint goes through UpdateEndpointWeightsAndCapacities.
    let variant = live.variants[0].name.clone();
    let set =
        parse_input(json!({"endpointName": endpoint, "action": "set", "weights": {variant.clone(): 2.0}}))
            .unwrap();
    let shifted = shift_weights(&p.sagemaker, &set).await.unwrap();
    assert_eq!(shifted.weights[&variant], 1.0);
}
