//! The Model Registry round trip, end to end over the embedded backend: the quality gate
//! registers the candidate, the retrain workflow waits for a person's approval (polled,
//! or the registry's event through start-retraining), deploys the package with its
//! lineage tag, and the scheduled evaluation's promotion or rollback writes its verdict
//! back — Approved or Rejected, with the decision's reason and evidence.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use weighbridge_asl::interpreter::{ExecutionResult, Status, VirtualClock};
use weighbridge_local::demo::{self, function_env, salary_rows};
use weighbridge_local::functions::{invoke, FunctionEnv};
use weighbridge_local::workflows::{deliver_package_approvals, run_machine, run_started, Deployment};
use weighbridge_local::{MemoryBackend, Timing};
use weighbridge_tasks::ports::{ApprovalStatus, ApprovalUpdate, ModelPackage, Registry, SageMaker};

const BUCKET: &str = "data";
const GROUP: &str = "salary-candidates";

fn backend() -> MemoryBackend {
    let clock = Arc::new(VirtualClock::starting_at(
        Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap(),
    ));
    let b = MemoryBackend::simulated(clock, Timing::default(), 11);
    b.put(BUCKET, "validation/v.csv", &salary_rows(200, 99, 0.0));
    b
}

/// Uploads a data set and runs the retrain execution its S3 event starts.
async fn upload(b: &MemoryBackend, env: &FunctionEnv, key: &str, body: &str) -> ExecutionResult {
    b.put(BUCKET, key, body);
    let event = demo::object_created(
        BUCKET,
        key,
        &format!("{:x}", body.len()),
        1,
        "2026-11-24T08:00:00Z",
    );
    invoke(b, env, "start-retraining", event).await.unwrap();
    let mut runs = run_started(b, &Deployment::embedded(), env).await.unwrap();
    assert_eq!(runs.len(), 1);
    runs.remove(0).result
}

fn out(r: &ExecutionResult) -> &Value {
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.error);
    r.output.as_ref().unwrap()
}

fn entered(r: &ExecutionResult, state: &str) -> usize {
    r.history
        .iter()
        .filter(|e| e.kind.ends_with("StateEntered") && e.state.as_deref() == Some(state))
        .count()
}

/// A champion deployed without the registry, then the registry switched on.
async fn champion_then_registry(champion_noise: f64, registry: Value) -> (MemoryBackend, FunctionEnv) {
    let b = backend();
    let mut env = function_env(BUCKET, 1_000_000.0, 0.2);
    let first = upload(&b, &env, "incoming/v1.csv", &salary_rows(400, 1, champion_noise)).await;
    assert_eq!(out(&first)["modelPackageArn"], Value::Null);
    env.start_retraining.training_defaults["gate"]["registry"] = registry;
    (b, env)
}

fn package(b: &MemoryBackend, arn: &Value) -> ModelPackage {
    b.model_packages()[arn.as_str().expect("a package ARN")].clone()
}

/// Scheduled looks until the policy acts (promote or rollback).
async fn looks_until_decided(b: &MemoryBackend, env: &FunctionEnv) -> String {
    for n in 1..=8u64 {
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
        let outcome = out(&r)["outcome"].as_str().unwrap().to_string();
        if outcome == "promote" || outcome == "rollback" {
            return outcome;
        }
    }
    panic!("no decision in 8 looks")
}

#[tokio::test]
async fn register_wait_for_approval_deploy_promote_and_the_registry_says_approved_with_the_reason() {
    let registry = json!({"group": GROUP, "approval": "pendingManualApproval", "awaitApproval": "poll"});
    let (b, env) = champion_then_registry(0.8, registry).await;
    b.review_packages(
        GROUP,
        ApprovalStatus::Approved,
        Duration::minutes(25),
        "looks good to the ML lead",
    );
    let r = upload(&b, &env, "incoming/v2.csv", &salary_rows(400, 2, 0.0)).await;
    let deployed = out(&r);
    assert_eq!(deployed["outcome"], "deployed");
    // Registered pending, polled every 10 minutes: approved at 25, seen at the third poll.
    assert_eq!(entered(&r, "DescribeModelPackage"), 3, "{:?}", r.history.len());
    let arn = &deployed["modelPackageArn"];
    let registered = package(&b, arn);
    assert_eq!(registered.approval, ApprovalStatus::Approved);
    assert_eq!(
        registered.approval_description.as_deref(),
        Some("looks good to the ML lead")
    );
    // Lineage: package → training job (metadata) and variant → package (the model's tag).
    let variant = deployed["variantName"].as_str().unwrap();
    assert_eq!(
        registered.metadata["weighbridge:trainingJob"],
        deployed["trainingJobName"]
    );
    let config = b
        .describe_endpoint_config(&b.endpoint("salary").unwrap().config_name)
        .await
        .unwrap();
    let model = &config
        .variants
        .iter()
        .find(|v| v.name == variant)
        .unwrap()
        .model_name;
    assert_eq!(
        b.model_tags(model).await.unwrap()["weighbridge:modelPackageArn"],
        arn.as_str().unwrap()
    );

    assert_eq!(looks_until_decided(&b, &env).await, "promote");
    let promoted = package(&b, arn);
    assert_eq!(promoted.approval, ApprovalStatus::Approved);
    let description = promoted.approval_description.unwrap();
    assert!(
        description.starts_with(&format!(
            "Weighbridge promoted variant {variant} on endpoint salary: "
        )),
        "{description}"
    );
    assert!(description.len() > 60, "the decision's reason: {description}");
    assert_eq!(promoted.metadata["weighbridge:verdict"], "promoted");
    assert!(promoted.metadata.contains_key("weighbridge:evidence:look"));
    assert!(promoted.metadata.contains_key("weighbridge:evidence:totalRows"));
    // The champion had no package: nothing else was written.
    assert_eq!(b.model_packages().len(), 1);
}

#[tokio::test]
async fn a_rolled_back_candidate_is_rejected_in_the_registry_with_the_reason() {
    let registry = json!({"group": GROUP, "approval": "approved"});
    let (b, env) = champion_then_registry(0.0, registry).await;
    let r = upload(&b, &env, "incoming/v2.csv", &salary_rows(400, 2, 1.5)).await;
    let arn = out(&r)["modelPackageArn"].clone();
    assert_eq!(package(&b, &arn).approval, ApprovalStatus::Approved);
    assert_eq!(looks_until_decided(&b, &env).await, "rollback");
    let rejected = package(&b, &arn);
    assert_eq!(rejected.approval, ApprovalStatus::Rejected);
    assert!(
        rejected
            .approval_description
            .as_deref()
            .unwrap()
            .contains("rolled back variant"),
        "{:?}",
        rejected.approval_description
    );
    assert_eq!(rejected.metadata["weighbridge:verdict"], "rolled-back");
    let changes: Vec<Value> = b
        .events()
        .into_iter()
        .filter(|e| e["detail"]["ModelPackageArn"] == arn)
        .map(|e| e["detail"]["ModelApprovalStatus"].clone())
        .collect();
    assert_eq!(changes, [json!("Approved"), json!("Rejected")], "announced");
}

#[tokio::test]
async fn a_candidate_rejected_in_the_registry_is_never_deployed() {
    let registry = json!({"group": GROUP, "approval": "pendingManualApproval"});
    let (b, env) = champion_then_registry(0.8, registry).await;
    b.review_packages(
        GROUP,
        ApprovalStatus::Rejected,
        Duration::hours(3),
        "not this quarter",
    );
    let r = upload(&b, &env, "incoming/v2.csv", &salary_rows(400, 2, 0.0)).await;
    assert_eq!(out(&r)["outcome"], "rejected-in-registry");
    assert_eq!(
        entered(&r, "DescribeModelPackage"),
        18,
        "three hours of 10-minute polls"
    );
    assert_eq!(b.endpoint("salary").unwrap().variants.len(), 1);
    assert_eq!(entered(&r, "Deploy"), 0);
}

#[tokio::test]
async fn an_approval_event_deploys_the_package_once() {
    let registry = json!({"group": GROUP, "approval": "pendingManualApproval", "awaitApproval": "event"});
    let (b, mut env) = champion_then_registry(0.8, registry).await;
    b.route_package_approvals(GROUP);
    let r = upload(&b, &env, "incoming/v2.csv", &salary_rows(400, 2, 0.0)).await;
    let registered = out(&r);
    // Configured for another container since: the package's own serves it all the same.
    env.start_retraining.training_defaults["deploy"]["image"] =
        json!({"kind": "image", "uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/other:1"});
    assert_eq!(registered["outcome"], "registered");
    assert_eq!(
        b.endpoint("salary").unwrap().variants.len(),
        1,
        "nothing deployed yet"
    );
    let arn = registered["modelPackageArn"].as_str().unwrap().to_string();
    let deployment = Deployment::embedded();
    assert!(
        deliver_package_approvals(&b, &deployment, &env)
            .await
            .unwrap()
            .is_empty(),
        "PendingManualApproval is not routed"
    );

    // A person approves it in the registry: the rule starts one execution that deploys it.
    let approve = |description: &str| ApprovalUpdate {
        arn: arn.clone(),
        approval: ApprovalStatus::Approved,
        description: description.into(),
        metadata: BTreeMap::new(),
    };
    b.update_approval(&approve("approved in Studio")).await.unwrap();
    let runs = deliver_package_approvals(&b, &deployment, &env).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert!(
        runs[0].name.starts_with("approved-salary-candidates-v1"),
        "{}",
        runs[0].name
    );
    let deployed = out(&runs[0].result);
    assert_eq!(deployed["outcome"], "deployed");
    assert_eq!(deployed["modelPackageArn"], arn.as_str());
    assert_eq!(deployed["variantName"], registered["trainingJobName"]);
    assert_eq!(entered(&runs[0].result, "Train"), 0, "no training");
    assert_eq!(b.endpoint("salary").unwrap().variants.len(), 2);
    // Served by the package's own container (the training job's image, as registered).
    let config = b
        .describe_endpoint_config(&b.endpoint("salary").unwrap().config_name)
        .await
        .unwrap();
    let variant = deployed["variantName"].as_str().unwrap();
    let model = &config
        .variants
        .iter()
        .find(|v| v.name == variant)
        .unwrap()
        .model_name;
    assert_eq!(
        b.model_request(model).unwrap().image,
        b.model_packages()[&arn].image
    );

    // Approved again (a second edit, or a promotion's verdict): no second deploy.
    b.update_approval(&approve("approved, with a note"))
        .await
        .unwrap();
    assert!(deliver_package_approvals(&b, &deployment, &env)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(b.endpoint("salary").unwrap().variants.len(), 2);
}

#[tokio::test]
async fn an_approval_event_of_a_package_that_is_no_longer_approved_deploys_nothing() {
    let registry = json!({"group": GROUP, "approval": "pendingManualApproval", "awaitApproval": "event"});
    let (b, env) = champion_then_registry(0.8, registry).await;
    b.route_package_approvals(GROUP);
    let r = upload(&b, &env, "incoming/v2.csv", &salary_rows(400, 2, 0.0)).await;
    let arn = out(&r)["modelPackageArn"].as_str().unwrap().to_string();
    for (approval, description) in [
        (ApprovalStatus::Approved, "approved by mistake"),
        (ApprovalStatus::Rejected, "withdrawn"),
    ] {
        b.update_approval(&ApprovalUpdate {
            arn: arn.clone(),
            approval,
            description: description.into(),
            metadata: BTreeMap::new(),
        })
        .await
        .unwrap();
    }
    let runs = deliver_package_approvals(&b, &Deployment::embedded(), &env)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "the Approved event was delivered");
    assert_eq!(out(&runs[0].result)["outcome"], "approval-withdrawn");
    assert_eq!(b.endpoint("salary").unwrap().variants.len(), 1);
}
