//! Alarm rollback between looks, over the embedded backend and the real alarm-rollback
//! state machine: a challenger deployed with alarms starts answering 500s; its 5xx-rate
//! alarm goes to ALARM at the next minute, the EventBridge rule starts alarm-rollback,
//! which takes the challenger out of traffic at once and then off the endpoint (its
//! alarms with it) — while the champion keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use weighbridge_asl::interpreter::{Clock, Status, VirtualClock};
use weighbridge_local::demo::function_env;
use weighbridge_local::workflows::{run_started, state_machine_arn, Deployment};
use weighbridge_local::{MemoryBackend, ResponseStyle, Timing};
use weighbridge_tasks::deploy::{deploy, DeployInput, DeployOutput};
use weighbridge_tasks::parse_input;
use weighbridge_tasks::ports::{AlarmState, EndpointStatus, InvokeRequest, Runtime, SageMaker};

fn deploy_input(variant: &str, execution: &str, extra: Value) -> DeployInput {
    let mut input = json!({
        "executionName": execution,
        "endpointName": "salary",
        "variantName": variant,
        "image": {"kind": "builtin", "name": "xgboost", "version": "1.7-1"},
        "modelDataUrl": format!("s3://data/models/{variant}/model.tar.gz"),
        "roleArn": "arn:aws:iam::000000000000:role/sagemaker",
        "initialShare": 0.3,
    });
    input
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    parse_input(input).unwrap()
}

async fn deployed(b: &MemoryBackend, variant: &str, execution: &str, extra: Value) -> DeployOutput {
    let out = deploy(b.ports(), "us-east-1", &deploy_input(variant, execution, extra))
        .await
        .unwrap();
    b.serve(&out.model_name, ResponseStyle::Xgboost, |x| x[0]);
    for _ in 0..30 {
        if b.describe_endpoint("salary").await.unwrap().status == EndpointStatus::InService {
            return out;
        }
        b.clock().advance(Duration::seconds(30));
    }
    panic!("salary never reached InService");
}

/// `n` requests spread over `over`; answers (served by the champion, failed).
async fn requests(b: &MemoryBackend, n: usize, over: Duration) -> (usize, usize) {
    let step = over / n as i32;
    let (mut champion, mut failed) = (0, 0);
    for i in 0..n {
        b.clock().advance(step);
        let answer = b
            .invoke_endpoint(&InvokeRequest {
                endpoint: "salary".into(),
                body: b"3.0,0.5".to_vec(),
                content_type: "text/csv".into(),
                accept: None,
                target_variant: None,
                target_model: None,
                inference_id: Some(format!("req-{i}")),
            })
            .await;
        match answer {
            Ok(a) if a.invoked_variant.as_deref() == Some("champion") => champion += 1,
            Ok(_) => {}
            Err(_) => failed += 1,
        }
    }
    (champion, failed)
}

#[tokio::test]
async fn a_failing_challenger_is_rolled_back_within_two_minutes_while_the_champion_serves() {
    let start: DateTime<Utc> = DateTime::UNIX_EPOCH + Duration::days(20_000);
    let b = MemoryBackend::simulated(Arc::new(VirtualClock::starting_at(start)), Timing::default(), 3);
    b.route_alarms("weighbridge-salary-", &state_machine_arn("alarm-rollback"));
    let env = function_env("data", 1.0, 0.3);
    deployed(&b, "champion", "e1", json!({})).await;
    let out = deployed(&b, "challenger", "e2", json!({"alarms": {}})).await;
    assert_eq!(
        out.alarms,
        [
            "weighbridge-salary-challenger-5xx",
            "weighbridge-salary-challenger-latency"
        ]
    );
    // Healthy traffic: the alarms are evaluated every minute and stay OK.
    let (_, failed) = requests(&b, 120, Duration::minutes(3)).await;
    assert_eq!(failed, 0);
    assert!(run_started(&b, &Deployment::embedded(), &env)
        .await
        .unwrap()
        .is_empty());
    assert!(
        b.alarm_states().values().all(|s| *s == AlarmState::Ok),
        "{:?}",
        b.alarm_states()
    );

    // The challenger's container starts failing.
    let fault = b.clock().now();
    b.fail_variant("challenger");
    let mut runs = Vec::new();
    let mut served_by_champion = 0;
    while runs.is_empty() {
        assert!(
            b.clock().now() - fault < Duration::minutes(5),
            "no rollback started"
        );
        let (champion, _) = requests(&b, 10, Duration::seconds(15)).await;
        served_by_champion += champion;
        runs = run_started(&b, &Deployment::embedded(), &env).await.unwrap();
    }
    assert!(
        served_by_champion > 0,
        "the champion kept serving during the fault"
    );
    let run = &runs[0].result;
    assert_eq!(run.status, Status::Succeeded, "{:?}", run.error);
    let taken_out = run
        .history
        .iter()
        .find(|e| e.state.as_deref() == Some("TakeOutOfTraffic"))
        .expect("the challenger was taken out of traffic")
        .timestamp;
    assert!(
        taken_out - fault <= Duration::minutes(2),
        "out of traffic {} s after the fault",
        (taken_out - fault).num_seconds()
    );
    let output = run.output.as_ref().unwrap();
    assert_eq!(output["outcome"], "alarm-rollback");
    assert_eq!(output["variantName"], "challenger");
    assert_eq!(output["alarmName"], "weighbridge-salary-challenger-5xx");
    assert_eq!(output["weights"]["challenger"], 0.0);

    // The challenger is gone, with its alarms; every request now succeeds.
    let endpoint = b.describe_endpoint("salary").await.unwrap();
    assert_eq!(endpoint.variants.len(), 1, "{endpoint:?}");
    assert_eq!(endpoint.variants[0].name, "champion");
    assert!(b.alarm_states().is_empty(), "{:?}", b.alarm_states());
    let (champion, failed) = requests(&b, 50, Duration::minutes(1)).await;
    assert_eq!((champion, failed), (50, 0));
    let event = &b.events()[0];
    assert_eq!(event["detail-type"], "CloudWatch Alarm State Change");
    assert_eq!(
        event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["VariantName"],
        "challenger"
    );
}

#[tokio::test]
async fn a_challenger_slower_than_the_champion_trips_the_latency_alarm() {
    let start: DateTime<Utc> = DateTime::UNIX_EPOCH + Duration::days(20_000);
    let b = MemoryBackend::simulated(Arc::new(VirtualClock::starting_at(start)), Timing::default(), 5);
    b.route_alarms("weighbridge-salary-", &state_machine_arn("alarm-rollback"));
    let env = function_env("data", 1.0, 0.3);
    deployed(&b, "champion", "e1", json!({})).await;
    deployed(
        &b,
        "challenger",
        "e2",
        json!({"alarms": {"maxLatencyIncrease": 0.5}}),
    )
    .await;
    requests(&b, 60, Duration::minutes(2)).await;
    assert!(run_started(&b, &Deployment::embedded(), &env)
        .await
        .unwrap()
        .is_empty());
    // 40% slower: within the 50% allowed.
    b.set_model_latency("challenger", 2_800.0);
    requests(&b, 60, Duration::minutes(2)).await;
    assert!(run_started(&b, &Deployment::embedded(), &env)
        .await
        .unwrap()
        .is_empty());
    // Twice as slow: rolled back.
    b.set_model_latency("challenger", 4_000.0);
    requests(&b, 60, Duration::minutes(2)).await;
    let runs = run_started(&b, &Deployment::embedded(), &env).await.unwrap();
    assert_eq!(runs.len(), 1);
    let output = runs[0].result.output.as_ref().unwrap();
    assert_eq!(
        output["alarmName"], "weighbridge-salary-challenger-latency",
        "{output}"
    );
    assert_eq!(b.describe_endpoint("salary").await.unwrap().variants.len(), 1);
}

/// shift-weights `recordAlarmRollback`: the intervention goes into the live experiment's
/// record beside the captures (kept with its looks), once however often it is retried;
/// an endpoint without Data Capture has no live experiment and records nothing.
#[tokio::test]
async fn an_alarm_rollback_is_recorded_once_in_the_live_experiment_record() {
    use weighbridge_tasks::experiment::ExperimentRecord;
    use weighbridge_tasks::shift_weights::{shift_weights, ShiftWeightsInput};
    let start: DateTime<Utc> = DateTime::UNIX_EPOCH + Duration::days(20_000);
    let b = MemoryBackend::simulated(Arc::new(VirtualClock::starting_at(start)), Timing::default(), 3);
    let record_input = || -> ShiftWeightsInput {
        parse_input(json!({
            "endpointName": "salary", "action": "recordAlarmRollback", "variant": "challenger",
            "alarmName": "weighbridge-salary-challenger-5xx", "reason": "Threshold Crossed: 1 datapoint(s)",
            "asOf": "2024-10-04T10:00:00Z"
        }))
        .unwrap()
    };
    deployed(&b, "champion", "e1", json!({})).await;
    deployed(&b, "challenger", "e2", json!({})).await;
    let out = shift_weights(b.ports(), &record_input()).await.unwrap();
    assert_eq!(out.experiment_record, None, "no capture, no live experiment");

    let capture = json!({"dataCapture": {"destinationS3Uri": "s3://data/capture"}});
    let b = MemoryBackend::simulated(Arc::new(VirtualClock::starting_at(start)), Timing::default(), 3);
    deployed(&b, "champion", "e1", capture.clone()).await;
    deployed(&b, "challenger", "e2", capture).await;
    // The experiment already had looks: they stay.
    let mut earlier = ExperimentRecord::new("salary", "champion");
    earlier.looks = 3;
    let first = shift_weights(b.ports(), &record_input()).await.unwrap();
    let uri = first.experiment_record.clone().expect("recorded");
    let key = uri.trim_start_matches("s3://data/").to_string();
    assert!(key.starts_with("capture/_experiment/salary-"), "{uri}");
    let fresh: ExperimentRecord = serde_json::from_str(&b.text("data", &key).unwrap()).unwrap();
    assert_eq!(
        fresh.champion, "champion",
        "started with the variant that has most traffic"
    );
    b.put("data", &key, &serde_json::to_string(&earlier).unwrap());
    for _ in 0..2 {
        let again = shift_weights(b.ports(), &record_input()).await.unwrap();
        assert_eq!(again.experiment_record.as_deref(), Some(uri.as_str()));
    }
    let record: ExperimentRecord = serde_json::from_str(&b.text("data", &key).unwrap()).unwrap();
    assert_eq!(record.looks, 3);
    assert_eq!(record.interventions.len(), 1, "{:?}", record.interventions);
    assert_eq!(record.interventions[0].at, "2024-10-04T10:00:00Z");
    let mut bad = json!({"endpointName": "salary", "action": "recordAlarmRollback", "variant": "challenger",
                         "alarmName": "a", "reason": "r", "asOf": "yesterday"});
    let err = shift_weights(b.ports(), &parse_input(bad.clone()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InvalidInput");
    bad["asOf"] = json!("2024-10-04T10:00:00Z");
    bad["variant"] = json!("ghost");
    let err = shift_weights(b.ports(), &parse_input(bad).unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is not on endpoint"), "{err}");
}
