//! Autoscaled endpoints over the embedded backend: a champion scaled to 4 instances by
//! its traffic keeps them when a challenger joins; a promotion moves (or keeps a copy
//! of) its scaling on the winner; a scaled loser is removed; a crash after any step of
//! the stage → deregister → update → restore sequence is recovered by re-running it;
//! and a `deploymentConfig` SageMaker would not honour is refused before any change.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

mod traffic;
use traffic::{run_hours, traffic};

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use weighbridge_asl::interpreter::{Clock, VirtualClock};
use weighbridge_local::{MemoryBackend, ResponseStyle, Timing};
use weighbridge_tasks::deploy::{deploy, DeployInput, DeployOutput};
use weighbridge_tasks::parse_input;
use weighbridge_tasks::ports::{
    Autoscaling, EndpointDescription, EndpointStatus, EndpointUpdate, PolicyKind, SageMaker, ScalingPolicy,
    TrackedMetric, VariantScaling, INVOCATIONS_PER_INSTANCE,
};
use weighbridge_tasks::shift_weights::{shift_weights, ShiftWeightsOutput};
use weighbridge_tasks::TaskError;

const ROLE: &str = "arn:aws:iam::000000000000:role/sagemaker";

fn deploy_input(variant: &str, execution: &str, extra: Value) -> DeployInput {
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

/// Min 2, max 8, one instance per invocation a minute.
fn champion_scaling() -> VariantScaling {
    VariantScaling {
        min_capacity: 2,
        max_capacity: 8,
        suspended: false,
        policies: vec![ScalingPolicy {
            name: "invocations-per-instance".into(),
            kind: PolicyKind::TargetTracking {
                target_value: 1.0,
                metric: TrackedMetric::Predefined {
                    metric_type: INVOCATIONS_PER_INSTANCE.into(),
                    resource_label: None,
                },
                scale_in_cooldown: Some(300),
                scale_out_cooldown: Some(60),
                disable_scale_in: false,
            },
        }],
    }
}

/// Waits out an endpoint change on the virtual clock.
async fn wait_in_service(b: &MemoryBackend) -> EndpointDescription {
    for _ in 0..120 {
        let e = b.describe_endpoint("salary").await.unwrap();
        if e.status == EndpointStatus::InService {
            return e;
        }
        b.clock().advance(Duration::seconds(30));
    }
    panic!("salary never reached InService");
}

fn count(e: &EndpointDescription, variant: &str) -> i32 {
    e.variants
        .iter()
        .find(|v| v.name == variant)
        .map(|v| v.current_instance_count)
        .unwrap_or_else(|| panic!("{variant} is not on {e:?}"))
}

async fn serve(b: &MemoryBackend, out: &DeployOutput) {
    b.serve(&out.model_name, ResponseStyle::Xgboost, |x| x[0]);
}

/// `salary` with one variant, `champion`, registered for autoscaling (min 2, max 8, one
/// instance per invocation a minute) and scaled to 4 instances by two hours of 240
/// requests an hour, on a simulated backend.
async fn scaled_champion() -> MemoryBackend {
    let start: DateTime<Utc> = DateTime::UNIX_EPOCH + Duration::days(20_000);
    let b = MemoryBackend::simulated(Arc::new(VirtualClock::starting_at(start)), Timing::default(), 7);
    let out = deploy(b.ports(), "us-east-1", &deploy_input("champion", "e1", json!({})))
        .await
        .unwrap();
    serve(&b, &out).await;
    wait_in_service(&b).await;
    let scaling = champion_scaling();
    b.register_target("salary", "champion", &scaling).await.unwrap();
    b.put_policy("salary", "champion", &scaling.policies[0])
        .await
        .unwrap();
    run_hours(&b, &mut traffic(240), 2).await;
    let e = b.describe_endpoint("salary").await.unwrap();
    assert_eq!(
        count(&e, "champion"),
        4,
        "240 requests an hour at 1 per instance-minute: {e:?}"
    );
    b
}

async fn add_challenger(b: &MemoryBackend, extra: Value) -> DeployOutput {
    let out = deploy(b.ports(), "us-east-1", &deploy_input("challenger", "e2", extra))
        .await
        .unwrap();
    serve(b, &out).await;
    wait_in_service(b).await;
    out
}

async fn shift(b: &MemoryBackend, action: Value) -> Result<ShiftWeightsOutput, TaskError> {
    let mut input = json!({"endpointName": "salary", "executionName": "shift-1"});
    input
        .as_object_mut()
        .unwrap()
        .extend(action.as_object().unwrap().clone());
    shift_weights(b.ports(), &parse_input(input)?).await
}

/// What the workflow does after a change: wait for InService, then `restoreScaling`.
async fn finish(b: &MemoryBackend, restore: &impl serde::Serialize) -> ShiftWeightsOutput {
    wait_in_service(b).await;
    shift(b, json!({"action": "restoreScaling", "restore": restore}))
        .await
        .unwrap()
}

async fn scaling(b: &MemoryBackend, variant: &str) -> Option<VariantScaling> {
    b.variant_scaling("salary", variant).await.unwrap()
}

#[tokio::test]
async fn a_scaled_champion_keeps_its_four_instances_when_a_challenger_joins() {
    let b = scaled_champion().await;
    let out = add_challenger(&b, json!({})).await;
    let e = b.describe_endpoint("salary").await.unwrap();
    assert_eq!(
        count(&e, "champion"),
        4,
        "the update retained the live count: {e:?}"
    );
    assert_eq!(count(&e, "challenger"), 1);
    assert_eq!(scaling(&b, "champion").await, Some(champion_scaling()));
    assert_eq!(scaling(&b, "challenger").await, None, "no copy unless asked");
    assert!(
        out.scaling.restore.is_empty() && out.scaling.deregistered.is_empty(),
        "{:?}",
        out.scaling
    );
}

#[tokio::test]
async fn promotion_moves_the_champions_scaling_to_the_winner_and_sizes_it_for_the_load() {
    let b = scaled_champion().await;
    add_challenger(&b, json!({})).await;
    let promoted = shift(&b, json!({"action": "promote", "winner": "challenger"}))
        .await
        .unwrap();
    assert_eq!(promoted.scaling.deregistered, vec!["champion"]);
    assert_eq!(promoted.scaling.staged, vec!["challenger"]);
    let staged = scaling(&b, "challenger").await.unwrap();
    assert!(staged.suspended, "staged suspended during the update: {staged:?}");
    let e = wait_in_service(&b).await;
    assert_eq!(e.variants.len(), 1);
    assert_eq!(count(&e, "challenger"), 4, "the winner took the champion's count");
    let restored = finish(&b, &promoted.scaling.restore).await;
    assert_eq!(restored.restored, vec!["challenger"]);
    assert_eq!(
        scaling(&b, "challenger").await,
        Some(champion_scaling()),
        "moved, unsuspended"
    );
    assert_eq!(scaling(&b, "champion").await, None);
}

#[tokio::test]
async fn a_copied_scaling_travels_with_the_challenger_and_a_scaled_loser_is_removed() {
    let b = scaled_champion().await;
    let out = add_challenger(&b, json!({"copyScalingToChallenger": true})).await;
    assert_eq!(out.scaling.restore.len(), 1);
    let restored = finish(&b, &out.scaling.restore).await;
    assert_eq!(restored.restored, vec!["challenger"]);
    assert_eq!(
        scaling(&b, "challenger").await,
        Some(champion_scaling()),
        "copied"
    );

    // Without deregistering, SageMaker refuses to drop a scaled variant.
    let e = b.describe_endpoint("salary").await.unwrap();
    let direct = b
        .update_endpoint(&EndpointUpdate {
            name: "salary",
            config_name: &out.superseded_config.clone().unwrap(),
            deployment_config: None,
            retain_instance_counts: true,
        })
        .await
        .unwrap_err();
    assert!(direct.to_string().contains("scalable targets"), "{direct}");
    assert_eq!(b.describe_endpoint("salary").await.unwrap(), e, "nothing changed");

    let removed = shift(
        &b,
        json!({"action": "rollback", "loser": "challenger", "remove": true}),
    )
    .await
    .unwrap();
    assert_eq!(removed.scaling.deregistered, vec!["challenger"]);
    assert!(removed.scaling.restore.is_empty());
    let e = wait_in_service(&b).await;
    assert_eq!(e.variants.len(), 1);
    assert_eq!(count(&e, "champion"), 4);
    assert_eq!(scaling(&b, "champion").await, Some(champion_scaling()));
    assert_eq!(scaling(&b, "challenger").await, None);
}

#[tokio::test]
async fn promoting_a_challenger_with_its_own_copy_keeps_it() {
    let b = scaled_champion().await;
    let out = add_challenger(&b, json!({"copyScalingToChallenger": true})).await;
    finish(&b, &out.scaling.restore).await;
    let promoted = shift(&b, json!({"action": "promote", "winner": "challenger"}))
        .await
        .unwrap();
    assert_eq!(promoted.scaling.deregistered, vec!["champion"]);
    assert!(promoted.scaling.staged.is_empty(), "{:?}", promoted.scaling);
    finish(&b, &promoted.scaling.restore).await;
    assert_eq!(scaling(&b, "challenger").await, Some(champion_scaling()));
}

#[tokio::test]
async fn a_shadow_graduating_by_promotion_inherits_the_champions_scaling() {
    let b = scaled_champion().await;
    // A shadow needs capture: the champion's config gets it through a replace first.
    let capture = json!({"mode": "replace", "dataCapture": {"destinationS3Uri": "s3://data/capture"}});
    let replaced = deploy(b.ports(), "us-east-1", &deploy_input("champion", "e1b", capture))
        .await
        .unwrap();
    serve(&b, &replaced).await;
    wait_in_service(&b).await;
    let shadow = deploy(
        b.ports(),
        "us-east-1",
        &deploy_input("challenger", "e2", json!({"mode": "shadow"})),
    )
    .await
    .unwrap();
    serve(&b, &shadow).await;
    wait_in_service(&b).await;
    let graduated = shift(
        &b,
        json!({"action": "graduate", "shadow": "challenger", "promote": true}),
    )
    .await
    .unwrap();
    assert_eq!(graduated.scaling.deregistered, vec!["champion"]);
    assert_eq!(graduated.scaling.staged, vec!["challenger"]);
    let e = wait_in_service(&b).await;
    assert_eq!((e.variants.len(), e.shadow_variants.len()), (1, 0));
    assert_eq!(
        count(&e, "challenger"),
        4,
        "the graduate took the champion's load"
    );
    finish(&b, &graduated.scaling.restore).await;
    assert_eq!(scaling(&b, "challenger").await, Some(champion_scaling()));
    assert_eq!(scaling(&b, "champion").await, None);
}

/// The mutating calls of a promotion of `challenger` over the scaled `champion`.
const PROMOTION_STEPS: [&str; 9] = [
    "CreateEndpointConfig",
    "RegisterScalableTarget",
    "PutScalingPolicy",
    "DeleteScalingPolicy",
    "DeregisterScalableTarget",
    "UpdateEndpoint",
    // restoreScaling, after the wait
    "RegisterScalableTarget",
    "PutScalingPolicy",
    "(done)",
];

/// Promote, wait, restore, stopping at the first failure (the crash).
async fn first_attempt(b: &MemoryBackend) -> Result<(), String> {
    let promoted = shift(b, json!({"action": "promote", "winner": "challenger"}))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        let e = b.describe_endpoint("salary").await.map_err(|e| e.to_string())?;
        if e.status == EndpointStatus::InService {
            break;
        }
        b.clock().advance(Duration::seconds(30));
    }
    shift(
        b,
        json!({"action": "restoreScaling", "restore": promoted.scaling.restore}),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

#[tokio::test]
async fn a_crash_after_any_step_is_recovered_by_running_it_again() {
    for crash_after in 1..PROMOTION_STEPS.len() {
        let b = scaled_champion().await;
        add_challenger(&b, json!({})).await;
        let before = b.calls().len();
        b.crash_after(crash_after);
        // The workflow: promote, wait, restore — each stops at the crash.
        let first = first_attempt(&b).await;
        let mutating: Vec<String> = b.calls()[before..]
            .iter()
            .filter(|c| PROMOTION_STEPS.contains(&c.as_str()))
            .cloned()
            .collect();
        assert_eq!(
            mutating.len(),
            crash_after,
            "crashed right after step {crash_after} ({}): {mutating:?} {first:?}",
            PROMOTION_STEPS[crash_after - 1]
        );
        b.recover();
        // The retry, after the endpoint settled (a retried promote waits for InService).
        wait_in_service(&b).await;
        let again = shift(&b, json!({"action": "promote", "winner": "challenger"}))
            .await
            .unwrap();
        let done = finish(&b, &again.scaling.restore).await;
        let e = b.describe_endpoint("salary").await.unwrap();
        let step = PROMOTION_STEPS[crash_after - 1];
        assert_eq!(e.variants.len(), 1, "after a crash at {step}: {e:?}");
        let instances = count(&e, "challenger");
        assert!(
            (2..=8).contains(&instances),
            "after a crash at {step}: {instances} instances"
        );
        assert_eq!(
            scaling(&b, "challenger").await,
            Some(champion_scaling()),
            "after a crash at {step} the winner is scaled, unsuspended (restored {:?})",
            done.restored
        );
        assert_eq!(scaling(&b, "champion").await, None, "after a crash at {step}");
    }
}

#[tokio::test]
async fn an_unsupported_deployment_config_is_refused_before_any_change() {
    let b = scaled_champion().await;
    let canary = json!({"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 300,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}},
        "TerminationWaitInSeconds": 600, "MaximumExecutionTimeoutInSeconds": 3600},
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "salary-5xx"}]}});
    let before = b.describe_endpoint("salary").await.unwrap();
    let calls = b.calls().len();
    let err = deploy(
        b.ports(),
        "us-east-1",
        &deploy_input("challenger", "e2", json!({"deploymentConfig": canary})),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InvalidInput");
    let message = err.to_string();
    assert!(
        message.contains("same variant names") && message.contains("mode replace"),
        "{message}"
    );
    let mutated: Vec<String> = b.calls()[calls..]
        .iter()
        .filter(|c| !c.starts_with("Describe"))
        .cloned()
        .collect();
    assert!(mutated.is_empty(), "{mutated:?}");
    assert_eq!(b.describe_endpoint("salary").await.unwrap(), before);

    // The same canary on a model replacement is honoured: the update waits the bake.
    let replaced = deploy(
        b.ports(),
        "us-east-1",
        &deploy_input(
            "champion",
            "e3",
            json!({"mode": "replace", "deploymentConfig": canary}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(replaced.action, "replaced");
    assert_eq!(replaced.endpoint_polls, (3600 + 600) / 30);
    // SageMaker bakes the canary (300 s) and waits before terminating the old fleet
    // (600 s) on top of the update itself (6 min here).
    b.clock().advance(Duration::minutes(20));
    assert_eq!(
        b.describe_endpoint("salary").await.unwrap().status,
        EndpointStatus::Updating
    );
    b.clock().advance(Duration::minutes(2));
    let e = b.describe_endpoint("salary").await.unwrap();
    assert_eq!(e.status, EndpointStatus::InService);
    assert_eq!(e.config_name, replaced.new_config);
    assert_eq!(count(&e, "champion"), 4, "a model swap keeps the scaled count");
    assert_eq!(
        scaling(&b, "champion").await,
        Some(champion_scaling()),
        "and its scaling"
    );
}
