//! The task states over the AWS adapters, on the wire against moto server (run by
//! `.ci/run` with `MOTO_ENDPOINT` set; see `wire.rs` for what moto can and cannot answer).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use serde_json::json;
use weighbridge_aws::AwsPorts;

mod common;
use common::{bucket, config, state_machine, unique};
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
    let bucket = bucket(&c, "wire-tasks").await;
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
    let verdict = evaluate_model(p.ports(), &gate).await.unwrap();
    assert!(verdict.passed, "{}", verdict.reason);
    assert!((verdict.value - (0.5f64 / 3.0).sqrt()).abs() < 1e-12);

    // deploy: the first variant creates the endpoint.
    let mut d: serde_json::Value = serde_json::from_str(include_str!("../../../events/deploy.json")).unwrap();
    let endpoint = unique("wire-ep");
    d["endpointName"] = json!(endpoint);
    d["executionName"] = json!(unique("wire-deploy"));
    let out = deploy(p.ports(), &p.region, &parse_input(d.clone()).unwrap())
        .await
        .unwrap();
    assert_eq!(out.action, "created");
    let live = p.sagemaker.describe_endpoint(&endpoint).await.unwrap();
    assert_eq!(live.config_name, out.new_config);
    // A challenger needs UpdateEndpoint, which moto answers with HTTP 500: retryable.
    d["variantName"] = json!("challenger");
    let err = deploy(p.ports(), &p.region, &parse_input(d).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.ServiceUnavailable", "{err}");
    // shift-weights (set) on the one-variant endpoint goes through UpdateEndpointWeightsAndCapacities.
    let variant = live.variants[0].name.clone();
    let set =
        parse_input(json!({"endpointName": endpoint, "action": "set", "weights": {variant.clone(): 2.0}}))
            .unwrap();
    let shifted = shift_weights(p.ports(), &set).await.unwrap();
    assert_eq!(shifted.weights[&variant], 1.0);
}

/// One capture line as SageMaker writes it (CSV output, the caller's InferenceId).
fn capture_line(id: &str, prediction: f64) -> String {
    json!({
        "captureData": {"endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                                           "data": prediction.to_string(), "encoding": "CSV"}},
        "eventMetadata": {"eventId": format!("ev-{id}"), "inferenceId": id, "inferenceTime": "2026-12-01T10:30:00Z"},
        "eventVersion": "0"
    })
    .to_string()
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn a_live_look_on_the_wire_reads_capture_hours_and_ground_truth() {
    let c = config().await;
    let p = AwsPorts::from_config(&c, true);
    let bucket = bucket(&c, "wire-live").await;
    // An endpoint with two variants and Data Capture (CreateEndpoint: moto serves it).
    let endpoint = unique("wire-live-ep");
    let mut variants = Vec::new();
    for (variant, weight) in [("champion", 0.8), ("challenger", 0.2)] {
        let model = unique(&format!("wire-live-{variant}"));
        p.sagemaker
            .create_model(&weighbridge_tasks::ports::ModelRequest {
                name: model.clone(),
                image: "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1".into(),
                model_data_url: Some(format!("s3://{bucket}/{variant}/model.tar.gz")),
                role_arn: "arn:aws:iam::123456789012:role/sagemaker".into(),
                multi_model: false,
                environment: Default::default(),
                tags: Default::default(),
            })
            .await
            .unwrap();
        variants.push(weighbridge_tasks::ports::VariantSpec {
            name: variant.into(),
            model_name: model,
            instance_type: "ml.m5.large".into(),
            initial_instance_count: 1,
            initial_weight: weight,
        });
    }
    let config_name = unique("wire-live-config");
    p.sagemaker
        .create_endpoint_config(&weighbridge_tasks::ports::EndpointConfig {
            name: config_name.clone(),
            variants,
            shadow_variants: vec![],
            data_capture: Some(weighbridge_tasks::ports::DataCapture {
                destination_s3_uri: format!("s3://{bucket}/capture"),
                sampling_percentage: 50,
                capture_input: false,
                kms_key_id: None,
                csv_content_types: vec!["text/csv".into()],
                json_content_types: vec![],
            }),
        })
        .await
        .unwrap();
    p.sagemaker
        .create_endpoint(&endpoint, &config_name)
        .await
        .unwrap();

    // Hours 10 and 11 of 2026-12-01 captured; labels for them written at hour 12.
    let mut labels = String::new();
    for (hour, offset) in [("10", 0), ("11", 1000)] {
        for (variant, share, error) in [("champion", 80, 0.5), ("challenger", 20, 0.1)] {
            let mut body = String::new();
            for i in 0..share {
                let id = format!("{variant}-{}", offset + i);
                let label = f64::from(i % 10);
                body.push_str(&capture_line(
                    &id,
                    label + if i % 2 == 0 { error } else { -error },
                ));
                body.push('\n');
                labels.push_str(
                    &json!({"groundTruthData": {"data": label.to_string(), "encoding": "CSV"},
                                        "eventMetadata": {"eventId": id}, "eventVersion": "0"})
                    .to_string(),
                );
                labels.push('\n');
            }
            let key = format!("capture/{endpoint}/{variant}/2026/12/01/{hour}/00-00-000-wire.jsonl");
            p.s3.put_object(&bucket, &key, body.into_bytes(), PutCondition::Always)
                .await
                .unwrap();
        }
    }
    p.s3.put_object(
        &bucket,
        "gt/2026/12/01/12/labels.jsonl",
        labels.into_bytes(),
        PutCondition::Always,
    )
    .await
    .unwrap();
    // Listing by hour prefix returns exactly that hour.
    let hour10 =
        p.s3.list_objects(&bucket, &format!("capture/{endpoint}/champion/2026/12/01/10/"))
            .await
            .unwrap();
    assert_eq!(hour10.len(), 1, "{hour10:?}");

    let input = parse_input(json!({
        "endpointName": endpoint,
        "source": {"type": "capture", "groundTruthUri": format!("s3://{bucket}/gt/"), "maxLabelDelayHours": 2,
                   "startAt": "2026-12-01T10:00:00Z"},
        "asOf": "2026-12-01T14:30:00Z",
        "policy": {"primaryMetric": "rmse", "minRows": 50}
    }))
    .unwrap();
    let out = weighbridge_tasks::evaluate_variants::evaluate_variants(
        &p.sagemaker,
        &p.runtime,
        &p.s3,
        &p.cloudwatch,
        &input,
    )
    .await
    .unwrap();
    let live = out.live.as_ref().unwrap();
    let rows: Vec<(String, u64)> = live
        .variants
        .iter()
        .map(|v| (v.variant.clone(), v.labelled_rows))
        .collect();
    assert!(
        rows.contains(&("champion".into(), 160)) && rows.contains(&("challenger".into(), 40)),
        "{rows:?}"
    );
    assert!(!live.srm.flagged, "{live:?}");
    let champion = live.variants.iter().find(|v| v.variant == "champion").unwrap();
    assert_eq!(
        champion.estimated_requests, 320.0,
        "captured 160 at 50 % sampling"
    );
    assert!(
        out.experiment_key.starts_with("capture/_experiment/"),
        "{}",
        out.experiment_key
    );
    assert!(p.s3.get_object(&bucket, &out.experiment_key).await.is_ok());
    if out.applied {
        let after = p.sagemaker.describe_endpoint(&endpoint).await.unwrap();
        let challenger = after.variants.iter().find(|v| v.name == "challenger").unwrap();
        assert!(challenger.current_weight > 0.2, "{after:?}");
    }
}
