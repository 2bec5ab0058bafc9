//! Wire tests: every adapter operation the tasks use, on the real SDK, against moto
//! server on 127.0.0.1. `bash .ci/run` starts moto and runs these with
//! `MOTO_ENDPOINT=http://127.0.0.1:PORT cargo test -p weighbridge-aws --test wire -- --ignored`.
//!
//! What moto answers, and so what is tested here rather than over the in-memory ports:
//! S3 (get/put/list, conditional puts), CloudWatch PutMetricData, Step Functions
//! StartExecution/DescribeExecution, SageMaker training jobs, models, endpoint configs,
//! endpoints, UpdateEndpointWeightsAndCapacities, and InvokeEndpoint with queued bodies.
//! moto answers UpdateEndpoint with HTTP 500, so its happy path is covered by the
//! in-memory tests; here we check that the 500 becomes a retryable error. moto accepts
//! `ShadowProductionVariants` but neither stores nor returns them: what the adapter sends
//! is read from moto's request recorder, and shadow serving, capture and the shadow
//! workflow are tested over the embedded backend. GetMetricStatistics is served.
//! Application Auto Scaling (targets with suspension, target-tracking and step policies)
//! is served; UpdateEndpoint's RetainAllVariantProperties is read from the recorder.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::collections::BTreeMap;
use std::io::{Read, Write};

use weighbridge_aws::AwsPorts;

mod common;
use common::{config, moto, state_machine, unique};
use weighbridge_tasks::ports::{
    AlarmState, Alarms, ApprovalStatus, ApprovalUpdate, Autoscaling, DataCapture, EndpointConfig,
    EndpointStatus, EndpointUpdate, InvokeRequest, MetricDatum, MetricQuery, MetricSink, ModelPackageRequest,
    ModelRequest, ObjectStore, PolicyKind, PortError, PutCondition, Registry, Runtime, SageMaker,
    ScalingPolicy, StepAdjustment, TrackedMetric, TrainingJobRequest, VariantScaling, VariantSpec, Workflows,
    INVOCATIONS_PER_INSTANCE,
};

/// moto's request recorder is one per server: tests that read it take turns.
static RECORDER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The recorded JSON bodies with `target` sent while `calls` ran.
async fn recording<F: std::future::Future<Output = ()>>(target: &str, calls: F) -> Vec<serde_json::Value> {
    let _turn = RECORDER.lock().await;
    moto_api_post("/moto-api/recorder/reset-recording", "");
    moto_api_post("/moto-api/recorder/start-recording", "");
    calls.await;
    moto_api_post("/moto-api/recorder/stop-recording", "");
    let recording = moto_api("GET", "/moto-api/recorder/download-recording", "");
    recorded_bodies(&recording, target)
}

const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker";

async fn ports() -> AwsPorts {
    AwsPorts::from_config(&config().await, true)
}

/// A plain HTTP POST to moto's own API (no client library needed for one call).
fn moto_api_post(path: &str, body: &str) {
    moto_api("POST", path, body);
}

/// The JSON bodies of the recorded requests with this `X-Amz-Target`.
fn recorded_bodies(recording: &str, target: &str) -> Vec<serde_json::Value> {
    use base64::Engine;
    recording
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["headers"]["X-Amz-Target"] == target)
        .filter_map(|r| {
            let body = r["body"].as_str()?;
            let bytes = if r["body_encoded"] == true {
                base64::engine::general_purpose::STANDARD.decode(body).ok()?
            } else {
                body.as_bytes().to_vec()
            };
            serde_json::from_slice(&bytes).ok()
        })
        .collect()
}

/// A plain HTTP call to moto's own API; answers the response, headers and body.
fn moto_api(method: &str, path: &str, body: &str) -> String {
    let url = moto();
    let host = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).expect("moto is listening");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 20"),
        "moto API answered: {response}"
    );
    response
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn s3_objects_etags_conditional_puts_and_listing() {
    let p = ports().await;
    let bucket = common::bucket(&config().await, "wire-s3").await;
    let bucket = bucket.as_str();
    let etag =
        p.s3.put_object(bucket, "ab/look1.csv", b"1,2\n".to_vec(), PutCondition::Always)
            .await
            .unwrap();
    let got = p.s3.get_object(bucket, "ab/look1.csv").await.unwrap();
    assert_eq!(
        (got.body.as_slice(), got.etag.as_str()),
        (&b"1,2\n"[..], etag.as_str())
    );
    for i in 0..3 {
        p.s3.put_object(
            bucket,
            &format!("ab/more{i}.csv"),
            vec![b'x'; i + 1],
            PutCondition::Always,
        )
        .await
        .unwrap();
    }
    let listed = p.s3.list_objects(bucket, "ab/").await.unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed[1].size, 1);
    // The experiment record's conditional writes.
    let first =
        p.s3.put_object(
            bucket,
            "ab/_experiment/e.json",
            b"{}".to_vec(),
            PutCondition::IfAbsent,
        )
        .await
        .unwrap();
    let again =
        p.s3.put_object(
            bucket,
            "ab/_experiment/e.json",
            b"{}".to_vec(),
            PutCondition::IfAbsent,
        )
        .await;
    assert!(
        matches!(again, Err(PortError::PreconditionFailed(_))),
        "{again:?}"
    );
    let stale =
        p.s3.put_object(
            bucket,
            "ab/_experiment/e.json",
            b"{1}".to_vec(),
            PutCondition::IfMatch("\"stale\"".into()),
        )
        .await;
    assert!(
        matches!(stale, Err(PortError::PreconditionFailed(_))),
        "{stale:?}"
    );
    p.s3.put_object(
        bucket,
        "ab/_experiment/e.json",
        b"{2}".to_vec(),
        PutCondition::IfMatch(first),
    )
    .await
    .unwrap();
    let missing = p.s3.get_object(bucket, "nope").await;
    assert!(matches!(missing, Err(PortError::NotFound(_))), "{missing:?}");
    // A streamed read of a 3 MB object: every byte, in order, with the same ETag.
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| b"0123456789,\n"[(i % 12) as usize])
        .collect();
    let etag =
        p.s3.put_object(bucket, "ab/big.csv", big.clone(), PutCondition::Always)
            .await
            .unwrap();
    let mut streamed = p.s3.get_object_chunks(bucket, "ab/big.csv").await.unwrap();
    assert_eq!(streamed.etag, etag);
    let (mut body, mut chunks) = (Vec::new(), 0);
    while let Some(chunk) = futures::StreamExt::next(&mut streamed.chunks).await {
        body.extend(chunk.unwrap());
        chunks += 1;
    }
    assert_eq!(body, big);
    assert!(chunks >= 1);
    let missing = p.s3.get_object_chunks(bucket, "nope").await.map(|o| o.etag);
    assert!(matches!(missing, Err(PortError::NotFound(_))), "{missing:?}");
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn cloudwatch_put_metric_data_with_dimensions() {
    let p = ports().await;
    let datum = MetricDatum {
        name: "RMSE".into(),
        value: 1.25,
        unit: "None".into(),
        dimensions: vec![
            ("EndpointName".into(), "wire-ep".into()),
            ("VariantName".into(), "challenger".into()),
        ],
    };
    let namespace = unique("WeighbridgeWire");
    p.cloudwatch.put_metric_data(&namespace, &[datum]).await.unwrap();
    let cw = aws_sdk_cloudwatch::Client::new(&config().await);
    let listed = cw.list_metrics().namespace(&namespace).send().await.unwrap();
    let m = &listed.metrics()[0];
    assert_eq!(m.metric_name(), Some("RMSE"));
    assert_eq!(m.dimensions().len(), 2);
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn cloudwatch_metric_totals_sum_the_range() {
    let p = ports().await;
    let namespace = unique("WeighbridgeWire");
    let dimensions = vec![
        ("EndpointName".to_string(), "wire-ep".to_string()),
        ("VariantName".to_string(), "shadow".to_string()),
    ];
    let datum = |value: f64| MetricDatum {
        name: "ModelLatency".into(),
        value,
        unit: "None".into(),
        dimensions: dimensions.clone(),
    };
    p.cloudwatch
        .put_metric_data(&namespace, &[datum(1000.0), datum(3000.0)])
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let query = MetricQuery {
        namespace: namespace.clone(),
        name: "ModelLatency".into(),
        dimensions: dimensions.clone(),
        start: now - chrono::Duration::hours(2),
        end: now + chrono::Duration::hours(1),
    };
    let totals = p.cloudwatch.metric_totals(&query).await.unwrap();
    assert_eq!(totals.sample_count, 2.0, "{totals:?}");
    assert_eq!(totals.sum, 4000.0);
    assert_eq!(totals.mean(), Some(2000.0));
    let other = MetricQuery {
        name: "Invocation5XXErrors".into(),
        ..query
    };
    let none = p.cloudwatch.metric_totals(&other).await.unwrap();
    assert_eq!((none.sample_count, none.mean()), (0.0, None));
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn sagemaker_shadow_variants_round_trip() {
    let p = ports().await;
    let sm = &p.sagemaker;
    let (model_a, model_b) = (unique("wire-prod"), unique("wire-shadow"));
    create_models(sm, &[&model_a, &model_b]).await;
    let variant = |name: &str, model: &str, weight: f64| VariantSpec {
        name: name.into(),
        model_name: model.into(),
        instance_type: "ml.m5.large".into(),
        initial_instance_count: 1,
        initial_weight: weight,
    };
    let config_name = unique("wire-shadow-config");
    let config = EndpointConfig {
        name: config_name.clone(),
        variants: vec![variant("production", &model_a, 1.0)],
        shadow_variants: vec![variant("shadow", &model_b, 0.25)],
        data_capture: None,
    };
    // moto accepts ShadowProductionVariants but neither stores nor returns them, so
    // what the adapter sends is read from moto's request recorder.
    let sent = recording("SageMaker.CreateEndpointConfig", async {
        sm.create_endpoint_config(&config).await.unwrap();
    })
    .await
    .into_iter()
    .find(|b| b["EndpointConfigName"] == config_name.as_str())
    .unwrap_or_else(|| panic!("CreateEndpointConfig {config_name} is not recorded"));
    assert_eq!(
        sent["ShadowProductionVariants"],
        serde_json::json!([{"VariantName": "shadow", "ModelName": model_b, "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large", "InitialVariantWeight": 0.25}]),
        "the adapter sends the shadow variant, its weight the share mirrored: {sent}"
    );
    assert_eq!(sent["ProductionVariants"].as_array().map(Vec::len), Some(1));
    let back = sm.describe_endpoint_config(&config_name).await.unwrap();
    assert_eq!(
        back.variants, config.variants,
        "the production variant round trip"
    );
    let endpoint = unique("wire-shadow-endpoint");
    sm.create_endpoint(&endpoint, &config_name).await.unwrap();
    let live = sm.describe_endpoint(&endpoint).await.unwrap();
    assert_eq!(live.variants.len(), 1);
    sm.delete_endpoint(&endpoint).await.unwrap();
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn step_functions_start_and_describe() {
    let p = ports().await;
    let arn = &state_machine(&config().await, "wire-retrain").await;
    let exec = p
        .sfn
        .start_execution(arn, "object-1", r#"{"a":1}"#)
        .await
        .unwrap();
    assert!(exec.ends_with(":object-1"), "{exec}");
    assert!(p.sfn.execution_status(&exec).await.unwrap().is_some());
    let missing = arn.replacen(":stateMachine:", ":execution:", 1) + ":never-started";
    assert_eq!(p.sfn.execution_status(&missing).await.unwrap(), None);
}

fn training_request(name: &str) -> TrainingJobRequest {
    TrainingJobRequest {
        name: name.into(),
        image: "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1".into(),
        role_arn: ROLE.into(),
        hyperparameters: BTreeMap::from([("num_round".to_string(), "50".to_string())]),
        channels: vec![weighbridge_tasks::ports::Channel {
            name: "train".into(),
            s3_uri: "s3://wire-data/train/".into(),
            content_type: Some("text/csv".into()),
        }],
        output_path: "s3://wire-data/models/".into(),
        instance_type: "ml.m5.large".into(),
        instance_count: 1,
        volume_gb: 10,
        max_runtime_seconds: 3600,
        spot: None,
        tags: BTreeMap::from([("project".to_string(), "weighbridge".to_string())]),
    }
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn sagemaker_training_jobs() {
    let p = ports().await;
    let job = unique("wire-job");
    let arn = p
        .sagemaker
        .create_training_job(&training_request(&job))
        .await
        .unwrap();
    assert!(arn.contains(&job), "{arn}");
    let d = p.sagemaker.describe_training_job(&job).await.unwrap();
    assert_eq!(d.hyperparameters["num_round"], "50");
    assert_eq!(d.output_path, "s3://wire-data/models/");
    let missing = p.sagemaker.describe_training_job("wire-no-such-job").await;
    assert!(matches!(missing, Err(PortError::NotFound(_))), "{missing:?}");
    // moto answers StopTrainingJob with HTTP 500: it arrives as retryable.
    let stop = p.sagemaker.stop_training_job(&job).await;
    assert!(matches!(stop, Err(PortError::Unavailable(_))), "{stop:?}");
}

/// CreateModel for each name (an xgboost image, an artifact under `s3://wire-data/<name>/`).
async fn create_models(sm: &impl SageMaker, names: &[&String]) {
    for name in names {
        sm.create_model(&ModelRequest {
            name: name.to_string(),
            image: "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1".into(),
            model_data_url: Some(format!("s3://wire-data/{name}/model.tar.gz")),
            role_arn: ROLE.into(),
            multi_model: false,
            environment: BTreeMap::new(),
            tags: BTreeMap::from([(
                "weighbridge:modelPackageArn".to_string(),
                format!(
                    "arn:aws:sagemaker:us-east-1:123456789012:model-package/wire/{}",
                    name.len()
                ),
            )]),
        })
        .await
        .unwrap();
    }
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn sagemaker_models_configs_endpoints_and_weights() {
    let p = ports().await;
    let sm = &p.sagemaker;
    let (model_a, model_b) = (unique("wire-model-a"), unique("wire-model-b"));
    let (config_name, endpoint) = (unique("wire-config"), unique("wire-endpoint"));
    create_models(sm, &[&model_a, &model_b]).await;
    // Lineage: CreateModel's tags come back through DescribeModel + ListTags.
    let tags = sm.model_tags(&model_a).await.unwrap();
    assert_eq!(
        tags.get("weighbridge:modelPackageArn").map(String::as_str),
        Some(
            format!(
                "arn:aws:sagemaker:us-east-1:123456789012:model-package/wire/{}",
                model_a.len()
            )
            .as_str()
        )
    );
    assert!(matches!(
        sm.model_tags("wire-no-such-model").await,
        Err(PortError::NotFound(_))
    ));
    let config = EndpointConfig {
        name: config_name.clone(),
        variants: ["a", "b"]
            .iter()
            .map(|v| VariantSpec {
                name: format!("variant-{v}"),
                model_name: if *v == "a" {
                    model_a.clone()
                } else {
                    model_b.clone()
                },
                instance_type: "ml.m5.large".into(),
                initial_instance_count: 1,
                initial_weight: if *v == "a" { 0.9 } else { 0.1 },
            })
            .collect(),
        shadow_variants: vec![],
        data_capture: Some(DataCapture {
            destination_s3_uri: "s3://wire-data/capture".into(),
            sampling_percentage: 25,
            capture_input: false,
            kms_key_id: Some("alias/wire-capture".into()),
            csv_content_types: vec!["text/csv".into()],
            json_content_types: vec!["application/json".into(), "application/jsonlines".into()],
        }),
    };
    sm.create_endpoint_config(&config).await.unwrap();
    let back = sm.describe_endpoint_config(&config_name).await.unwrap();
    assert_eq!(
        back.data_capture, config.data_capture,
        "DataCaptureConfig round trip"
    );
    assert_eq!(back.variants.len(), 2);
    assert_eq!(back.variants[1].model_name, model_b);
    assert!((back.variants[0].initial_weight - 0.9).abs() < 1e-6);
    sm.create_endpoint(&endpoint, &config_name).await.unwrap();
    let live = sm.describe_endpoint(&endpoint).await.unwrap();
    assert_eq!(live.config_name, config_name);
    assert_eq!(
        live.status,
        EndpointStatus::InService,
        "moto's endpoints are InService at once"
    );
    let weights = BTreeMap::from([("variant-a".to_string(), 0.5), ("variant-b".to_string(), 0.5)]);
    sm.update_endpoint_weights(&endpoint, &weights).await.unwrap();
    let live = sm.describe_endpoint(&endpoint).await.unwrap();
    assert!(
        live.variants
            .iter()
            .all(|v| (v.current_weight - 0.5).abs() < 1e-6),
        "{:?}",
        live.variants
    );
    // moto answers UpdateEndpoint with HTTP 500: it must arrive as retryable, not as a
    // panic. What the adapter sent is read from the recorder: the live instance counts
    // retained, the weights and capture taken from the new config.
    let sent = recording("SageMaker.UpdateEndpoint", async {
        let update = sm
            .update_endpoint(&EndpointUpdate {
                name: &endpoint,
                config_name: &config_name,
                deployment_config: None,
                retain_instance_counts: true,
            })
            .await;
        assert!(matches!(update, Err(PortError::Unavailable(_))), "{update:?}");
    })
    .await;
    let sent = sent
        .iter()
        .find(|b| b["EndpointName"] == endpoint.as_str())
        .unwrap_or_else(|| panic!("UpdateEndpoint {endpoint} is not recorded: {sent:?}"));
    assert_eq!(sent["RetainAllVariantProperties"], true, "{sent}");
    assert_eq!(
        sent["ExcludeRetainedVariantProperties"],
        serde_json::json!([{"VariantPropertyType": "DesiredWeight"}, {"VariantPropertyType": "DataCaptureConfig"}]),
        "{sent}"
    );
    let missing = sm.describe_endpoint("wire-no-such-endpoint").await;
    assert!(matches!(missing, Err(PortError::NotFound(_))), "{missing:?}");
    sm.delete_endpoint(&endpoint).await.unwrap();
    let gone = sm.describe_endpoint(&endpoint).await;
    assert!(matches!(gone, Err(PortError::NotFound(_))), "{gone:?}");
    sm.delete_endpoint_config(&config_name).await.unwrap();
    sm.delete_model(&model_b).await.unwrap();
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn runtime_invoke_endpoint_returns_queued_bodies() {
    let p = ports().await;
    moto_api_post(
        "/moto-api/static/sagemaker/endpoint-results",
        r#"{"results":[{"Body":"0.25\n0.75\n","ContentType":"text/csv","InvokedProductionVariant":"challenger"}]}"#,
    );
    let answer = p
        .runtime
        .invoke_endpoint(&InvokeRequest {
            endpoint: "wire-runtime".into(),
            body: b"1.0,2.0\n3.0,4.0\n".to_vec(),
            content_type: "text/csv".into(),
            accept: Some("text/csv".into()),
            target_variant: Some("challenger".into()),
            target_model: None,
            inference_id: Some("wire-inference-1".into()),
        })
        .await
        .unwrap();
    assert_eq!(answer.invoked_variant.as_deref(), Some("challenger"));
    let text = String::from_utf8(answer.body).unwrap();
    let decoded =
        weighbridge_core::codec::decode_predictions(&text, weighbridge_core::codec::Format::Csv).unwrap();
    assert_eq!(decoded, vec![0.25, 0.75]);
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn autoscaling_targets_and_policies_round_trip() {
    let p = ports().await;
    let a = &p.autoscaling;
    let endpoint = unique("wire-scaled");
    assert_eq!(a.variant_scaling(&endpoint, "champion").await.unwrap(), None);
    let staged = VariantScaling {
        min_capacity: 2,
        max_capacity: 6,
        suspended: true,
        policies: Vec::new(),
    };
    a.register_target(&endpoint, "champion", &staged).await.unwrap();
    let policies = vec![
        ScalingPolicy {
            name: "invocations".into(),
            kind: PolicyKind::TargetTracking {
                target_value: 70.0,
                metric: TrackedMetric::Predefined {
                    metric_type: INVOCATIONS_PER_INSTANCE.into(),
                    resource_label: None,
                },
                scale_in_cooldown: Some(300),
                scale_out_cooldown: Some(60),
                disable_scale_in: false,
            },
        },
        ScalingPolicy {
            name: "latency".into(),
            kind: PolicyKind::TargetTracking {
                target_value: 50_000.0,
                metric: TrackedMetric::Customized {
                    name: "ModelLatency".into(),
                    namespace: "AWS/SageMaker".into(),
                    statistic: "Average".into(),
                    unit: Some("Microseconds".into()),
                    dimensions: vec![
                        ("EndpointName".into(), endpoint.clone()),
                        ("VariantName".into(), "champion".into()),
                    ],
                },
                scale_in_cooldown: None,
                scale_out_cooldown: None,
                disable_scale_in: true,
            },
        },
        ScalingPolicy {
            name: "steps".into(),
            kind: PolicyKind::StepScaling {
                adjustment_type: "ChangeInCapacity".into(),
                cooldown: Some(120),
                metric_aggregation_type: Some("Average".into()),
                min_adjustment_magnitude: None,
                steps: vec![
                    StepAdjustment {
                        lower_bound: None,
                        upper_bound: Some(0.0),
                        adjustment: -1,
                    },
                    StepAdjustment {
                        lower_bound: Some(0.0),
                        upper_bound: None,
                        adjustment: 2,
                    },
                ],
            },
        },
    ];
    for policy in &policies {
        a.put_policy(&endpoint, "champion", policy).await.unwrap();
    }
    let mut back = a.variant_scaling(&endpoint, "champion").await.unwrap().unwrap();
    back.policies.sort_by(|x, y| x.name.cmp(&y.name));
    assert_eq!(
        back,
        VariantScaling {
            policies: policies.clone(),
            ..staged.clone()
        }
    );
    // Registering again resumes the target and keeps its policies.
    let resumed = VariantScaling {
        suspended: false,
        ..staged
    };
    a.register_target(&endpoint, "champion", &resumed).await.unwrap();
    let back = a.variant_scaling(&endpoint, "champion").await.unwrap().unwrap();
    assert!(!back.suspended && back.policies.len() == 3, "{back:?}");
    a.delete_policy(&endpoint, "champion", "steps").await.unwrap();
    let again = a.delete_policy(&endpoint, "champion", "steps").await;
    assert!(matches!(again, Err(PortError::NotFound(_))), "{again:?}");
    a.deregister_target(&endpoint, "champion").await.unwrap();
    assert_eq!(a.variant_scaling(&endpoint, "champion").await.unwrap(), None);
    let again = a.deregister_target(&endpoint, "champion").await;
    assert!(matches!(again, Err(PortError::NotFound(_))), "{again:?}");
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn alarms_on_a_challenger_are_put_listed_and_deleted() {
    let p = ports().await;
    let endpoint = unique("wire-alarmed");
    let settings = serde_json::from_value(serde_json::json!({"custom": {
        "namespace": "Weighbridge", "metricName": "Drift", "threshold": 0.2}}))
    .unwrap();
    let specs = weighbridge_tasks::alarms::challenger_alarms(&endpoint, "challenger", "champion", &settings);
    assert_eq!(specs.len(), 3);
    for spec in &specs {
        p.cloudwatch.put_alarm(spec).await.unwrap();
    }
    let prefix = weighbridge_tasks::alarms::alarm_prefix(&endpoint, "challenger");
    let mut listed = p.cloudwatch.alarms_with_prefix(&prefix).await.unwrap();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            format!("{prefix}5xx"),
            format!("{prefix}custom"),
            format!("{prefix}latency")
        ]
    );
    assert!(listed.iter().all(|(_, s)| *s != AlarmState::Alarm), "{listed:?}");
    let others = p
        .cloudwatch
        .alarms_with_prefix(&weighbridge_tasks::alarms::alarm_prefix(&endpoint, "champion"))
        .await
        .unwrap();
    assert!(others.is_empty(), "{others:?}");
    p.cloudwatch
        .delete_alarms(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .await
        .unwrap();
    assert!(p.cloudwatch.alarms_with_prefix(&prefix).await.unwrap().is_empty());
    // Deleting what is gone is not an error, as on CloudWatch.
    p.cloudwatch
        .delete_alarms(&[format!("{prefix}5xx")])
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs moto server: run by .ci/run"]
async fn model_registry_packages_and_approvals_round_trip() {
    let p = ports().await;
    let sm = &p.sagemaker;
    let group = unique("wire-group");
    sm.create_group(&group, "the salary endpoint's candidates")
        .await
        .unwrap();
    // moto answers a second CreateModelPackageGroup of the same name with success where
    // SageMaker refuses it; the duplicate is covered over the embedded backend.
    let request = ModelPackageRequest {
        group: group.clone(),
        description: "trained on incoming/salary-batch-2.csv".into(),
        image: "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1".into(),
        model_data_url: "s3://data/models/wb-2/output/model.tar.gz".into(),
        content_types: vec!["text/csv".into()],
        approval: ApprovalStatus::PendingManualApproval,
        metadata: BTreeMap::from([("weighbridge:trainingJob".to_string(), "wb-2".to_string())]),
        client_token: unique("token"),
    };
    let arn = sm.create_model_package(&request).await.unwrap();
    let described = sm.describe_model_package(&arn).await.unwrap();
    assert_eq!(described.group, group);
    assert_eq!(described.version, 1);
    assert_eq!(described.approval, ApprovalStatus::PendingManualApproval);
    assert_eq!(described.model_data_url, request.model_data_url);
    assert_eq!(described.image, request.image);
    assert_eq!(described.metadata, request.metadata);
    sm.update_approval(&ApprovalUpdate {
        arn: arn.clone(),
        approval: ApprovalStatus::Approved,
        description: "promoted: RMSE 14.5 vs 63.4".into(),
        metadata: BTreeMap::from([("weighbridge:experiment".to_string(), "look-006".to_string())]),
    })
    .await
    .unwrap();
    let approved = sm.describe_model_package(&arn).await.unwrap();
    assert_eq!(approved.approval, ApprovalStatus::Approved);
    assert_eq!(
        approved.approval_description.as_deref(),
        Some("promoted: RMSE 14.5 vs 63.4")
    );
    assert_eq!(approved.metadata["weighbridge:experiment"], "look-006");
}
