//! Every sample in `events/` is a valid input of its task, and runs over the in-memory
//! backend as far as the backend's state allows.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

mod support;
use support::event;

use serde_json::Value;
use weighbridge_local::MemoryBackend;
use weighbridge_tasks::deploy::DeployInput;
use weighbridge_tasks::evaluate_model::EvaluateModelInput;
use weighbridge_tasks::evaluate_variants::EvaluateVariantsInput;
use weighbridge_tasks::parse_input;
use weighbridge_tasks::shift_weights::ShiftWeightsInput;
use weighbridge_tasks::start_retraining::{objects_of, start_retraining, StartRetrainingConfig};
use weighbridge_tasks::train::{build_request, TrainInput};

#[test]
fn every_function_has_a_sample_event() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions");
    for f in std::fs::read_dir(dir).unwrap() {
        let name = f.unwrap().file_name().into_string().unwrap();
        event(&format!("{name}.json"));
    }
}

#[tokio::test]
async fn the_s3_samples_start_retraining() {
    let b = MemoryBackend::new();
    let config = StartRetrainingConfig {
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:retrain".into(),
        key_prefix: "incoming/".into(),
        key_suffix: ".csv".into(),
        training_defaults: Value::Null,
    };
    for sample in ["start-retraining.json", "start-retraining-s3-notification.json"] {
        let out = start_retraining(&b, &config, &event(sample)).await.unwrap();
        assert_eq!(out.started.len(), 1, "{sample}");
    }
    assert_eq!(
        objects_of(&event("start-retraining-s3-notification.json")).unwrap()[0].key,
        "incoming/salary 2026-11.csv"
    );
}

#[test]
fn the_task_samples_parse_and_validate() {
    let train: TrainInput = parse_input(event("train.json")).unwrap();
    let request = build_request(&train, "us-east-1").unwrap();
    assert_eq!(
        request.image,
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
    );
    assert!(request.name.len() <= 63);
    let _: EvaluateModelInput = parse_input(event("evaluate-model.json")).unwrap();
    let registering: EvaluateModelInput = parse_input(event("evaluate-model-registry.json")).unwrap();
    assert_eq!(registering.registry.unwrap().group, "salary-candidates");
    let _: DeployInput = parse_input(event("deploy.json")).unwrap();
    let ab: EvaluateVariantsInput = parse_input(event("evaluate-variants.json")).unwrap();
    ab.policy.validate().unwrap();
    let live: EvaluateVariantsInput = parse_input(event("evaluate-variants-capture.json")).unwrap();
    assert!(matches!(
        live.source,
        weighbridge_tasks::evaluate_variants::Source::Capture(_)
    ));
    let _: ShiftWeightsInput = parse_input(event("shift-weights.json")).unwrap();
    let shadow: DeployInput = parse_input(event("deploy-shadow.json")).unwrap();
    assert_eq!(shadow.mode, weighbridge_tasks::deploy::DeployMode::Shadow);
    let graduate: ShiftWeightsInput = parse_input(event("shift-weights-graduate.json")).unwrap();
    assert!(matches!(
        graduate.action,
        weighbridge_tasks::shift_weights::ShiftAction::Graduate { .. }
    ));
    let replace: DeployInput = parse_input(event("deploy-replace.json")).unwrap();
    assert_eq!(replace.mode, weighbridge_tasks::deploy::DeployMode::Replace);
    assert!(replace.deployment_config.is_some());
    let restore: ShiftWeightsInput = parse_input(event("shift-weights-restore-scaling.json")).unwrap();
    let weighbridge_tasks::shift_weights::ShiftAction::RestoreScaling { restore } = restore.action else {
        panic!("not a restoreScaling: {restore:?}");
    };
    assert_eq!(restore[0].scaling.policies.len(), 1);
    let verdict: ShiftWeightsInput = parse_input(event("shift-weights-promote-verdict.json")).unwrap();
    let weighbridge_tasks::shift_weights::ShiftAction::Promote { reason, evidence, .. } = verdict.action
    else {
        panic!("not a promote: {verdict:?}");
    };
    assert!(reason.unwrap().starts_with("promote "));
    assert_eq!(evidence.unwrap()["look"], 6);
    let record: ShiftWeightsInput = parse_input(event("shift-weights-record-alarm-rollback.json")).unwrap();
    assert!(matches!(
        record.action,
        weighbridge_tasks::shift_weights::ShiftAction::RecordAlarmRollback { .. }
    ));
}

/// The registry's approval event starts one retrain execution that deploys the package
/// (the name from its ARN: a second delivery is a duplicate).
#[tokio::test]
async fn the_package_approved_sample_starts_its_deploy_once() {
    let b = MemoryBackend::new();
    let config = StartRetrainingConfig {
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:retrain".into(),
        key_prefix: "incoming/".into(),
        key_suffix: ".csv".into(),
        training_defaults: serde_json::json!({"deploy": {"endpointName": "salary"}}),
    };
    let sample = event("start-retraining-package-approved.json");
    let first = start_retraining(&b, &config, &sample).await.unwrap();
    assert_eq!((first.started.len(), first.approved.len()), (0, 1));
    assert!(!first.approved[0].duplicate);
    let input: Value = serde_json::from_str(&b.executions()[&first.approved[0].execution_name].1).unwrap();
    assert_eq!(
        input["approvedModelPackage"]["trainingJobName"],
        "wb-management-experience-2026-12-02-5d41402a"
    );
    assert_eq!(input["training"]["deploy"]["endpointName"], "salary");
    let again = start_retraining(&b, &config, &sample).await.unwrap();
    assert!(again.approved[0].duplicate);
    let mut pending = sample.clone();
    pending["detail"]["ModelApprovalStatus"] = "PendingManualApproval".into();
    let skipped = start_retraining(&b, &config, &pending).await.unwrap();
    assert!(skipped.approved.is_empty() && skipped.skipped[0].reason.contains("not Approved"));
    let mut hostile = sample;
    hostile["detail"]["ModelPackageArn"] = "arn:aws:s3:::not-a-package".into();
    let err = start_retraining(&b, &config, &hostile).await.unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InvalidInput");
}

#[test]
fn training_job_names_keep_their_prefix_and_fit() {
    let train: TrainInput = parse_input(event("train.json")).unwrap();
    let name = build_request(&train, "us-east-1").unwrap().name;
    assert!(name.starts_with("wb-") && name.len() <= 63, "{name}");
    let mut long = train.clone();
    long.execution_name = "x".repeat(200);
    assert!(
        build_request(&long, "us-east-1").is_err(),
        "Step Functions names are at most 80"
    );
    long.execution_name = "x".repeat(80);
    let name = build_request(&long, "us-east-1").unwrap().name;
    assert!(name.starts_with("wb-x") && name.len() <= 63, "{name}");
    long.job_prefix = "bad prefix".into();
    assert!(build_request(&long, "us-east-1")
        .unwrap_err()
        .to_string()
        .contains("jobPrefix"));
}

/// The alarm-rollback sample is what the template's EventBridge rule makes of the alarm
/// state change sample: its input transformer's paths, applied here, give it exactly.
#[test]
fn the_alarm_event_sample_transforms_into_the_alarm_rollback_input() {
    let change = event("cloudwatch-alarm-state-change.json");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let template: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(root.join("template.yaml")).unwrap()).unwrap();
    let rule = &template["Resources"]["AlarmRollbackStateMachine"]["Properties"]["Events"]["ChallengerAlarm"]
        ["Properties"];
    let mut input = serde_json::Map::new();
    let fields = [
        ("endpoint", "endpointName"),
        ("variant", "variantName"),
        ("alarm", "alarmName"),
        ("reason", "reason"),
    ];
    for (placeholder, field) in fields {
        let path = rule["InputTransformer"]["InputPathsMap"][placeholder]
            .as_str()
            .unwrap();
        assert!(
            rule["InputTransformer"]["InputTemplate"]
                .as_str()
                .unwrap()
                .contains(&format!("\"{field}\": <{placeholder}>")),
            "{field}"
        );
        let mut at = &change;
        for step in path.trim_start_matches("$.").split('.') {
            at = match step.split_once('[') {
                Some((key, index)) => &at[key][index.trim_end_matches(']').parse::<usize>().unwrap()],
                None => &at[step],
            };
        }
        input.insert(field.to_string(), at.clone());
    }
    assert_eq!(Value::Object(input), event("alarm-rollback-execution.json"));
    let prefix = rule["Pattern"]["detail"]["alarmName"][0]["prefix"].clone();
    assert!(
        !prefix.is_null(),
        "the rule matches Weighbridge's alarms by prefix"
    );
}

/// The state machines' samples: what each Task state builds from them (the same merges
/// the ASL does with `States.JsonMerge`) is a valid input of its function.
#[test]
fn the_execution_samples_feed_every_task_state() {
    let merge = |base: &Value, extra: Value| {
        let mut out = base.clone();
        out.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        out
    };
    let retrain = event("retrain-execution.json");
    let training = &retrain["training"];
    let train: TrainInput = parse_input(merge(
        &training["train"],
        serde_json::json!({"executionName": "exec", "trainDataUri": retrain["dataUri"]}),
    ))
    .unwrap();
    let request = build_request(&train, "us-east-1").unwrap();
    assert_eq!(request.channels[0].s3_uri, retrain["dataUri"].as_str().unwrap());
    let _: EvaluateModelInput = parse_input(merge(
        &training["gate"],
        serde_json::json!({"source": {"kind": "trainingJob", "trainingJobName": request.name}}),
    ))
    .unwrap();
    let _: DeployInput = parse_input(merge(
        &training["deploy"],
        serde_json::json!({"executionName": "exec", "variantName": request.name, "modelDataUrl": "s3://b/m/model.tar.gz"}),
    ))
    .unwrap();
    let ab: EvaluateVariantsInput = parse_input(event("ab-evaluation-execution.json")).unwrap();
    ab.policy.validate().unwrap();
}

/// Each Lambda's `main.rs` runs the entrypoint layer under its own folder's name, and the
/// layer knows that name (a typo would fail every invocation with "no function").
#[test]
fn every_lambda_runs_its_own_function() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions");
    let mut seen = Vec::new();
    for f in std::fs::read_dir(dir).unwrap() {
        let f = f.unwrap();
        let name = f.file_name().into_string().unwrap();
        let main = std::fs::read_to_string(f.path().join("src/main.rs")).unwrap();
        assert!(
            main.contains(&format!("weighbridge_lambda::run(\"{name}\")")),
            "{name}: {main}"
        );
        assert!(
            weighbridge_tasks::functions::FUNCTIONS.contains(&name.as_str()),
            "{name}"
        );
        seen.push(name);
    }
    seen.sort();
    let mut all = weighbridge_tasks::functions::FUNCTIONS.map(String::from).to_vec();
    all.sort();
    assert_eq!(
        seen, all,
        "a function without a Lambda, or a Lambda without a function"
    );
}
