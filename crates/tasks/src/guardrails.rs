//! Deployment guardrails checked, not assumed: SageMaker honours a `DeploymentConfig`
//! (blue/green canary or linear traffic shifting, rolling batches, auto-rollback alarms)
//! only for some updates, and silently falls back to an all-at-once blue/green without
//! baking for the others. This module reads the config strictly (the API's field names
//! and limits) and refuses it for an update SageMaker would not guard, saying what would
//! apply instead — before anything is created.
//!
//! SageMaker's exclusions (Deployment guardrails → Exclusions): the new endpoint config
//! must have the same variant names as the old one; Inf1 (Inferentia) instances and
//! Marketplace containers fall back to all-at-once; rolling deployments also exclude
//! multi-variant and serverless endpoints.

use serde::Deserialize;
use serde_json::Value;

use crate::TaskError;

/// `DeploymentConfig`, as the API spells it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct DeploymentConfig {
    #[serde(default)]
    blue_green_update_policy: Option<BlueGreen>,
    #[serde(default)]
    rolling_update_policy: Option<Rolling>,
    #[serde(default)]
    auto_rollback_configuration: Option<AutoRollback>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct BlueGreen {
    traffic_routing_configuration: TrafficRouting,
    #[serde(default)]
    termination_wait_in_seconds: Option<i64>,
    #[serde(default)]
    maximum_execution_timeout_in_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct TrafficRouting {
    #[serde(rename = "Type")]
    kind: RoutingKind,
    wait_interval_in_seconds: i64,
    #[serde(default)]
    canary_size: Option<Capacity>,
    #[serde(default)]
    linear_step_size: Option<Capacity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum RoutingKind {
    AllAtOnce,
    Canary,
    Linear,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Capacity {
    #[serde(rename = "Type")]
    kind: CapacityKind,
    value: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum CapacityKind {
    InstanceCount,
    CapacityPercent,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Rolling {
    maximum_batch_size: Capacity,
    wait_interval_in_seconds: i64,
    #[serde(default)]
    maximum_execution_timeout_in_seconds: Option<i64>,
    #[serde(default)]
    rollback_maximum_batch_size: Option<Capacity>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AutoRollback {
    alarms: Vec<Alarm>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Alarm {
    alarm_name: String,
}

/// The kind of endpoint change a deploy makes, as far as guardrails care.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum UpdateKind<'a> {
    /// CreateEndpoint: nothing to shift traffic from.
    Create,
    /// UpdateEndpoint to a config with other variant names (a challenger or a shadow added).
    VariantsChange {
        /// The variant the update adds.
        added: &'a str,
        /// How the deploy was asked to add it.
        mode: &'a str,
    },
    /// UpdateEndpoint to a config with the same variant names (a model replaced).
    SameVariants {
        /// Production variants on the endpoint.
        variant_count: usize,
        /// Instance types of the new config's variants.
        instance_types: Vec<&'a str>,
    },
}

/// How long a guarded update may take, in seconds: its `MaximumExecutionTimeoutInSeconds`
/// (SageMaker's default 28,800 when unset) — what the workflow's wait must allow.
pub(crate) type UpdateBudgetSeconds = i64;

/// Parses `config` strictly and checks it against the update; answers how long the
/// update may take.
pub(crate) fn check(config: &Value, kind: &UpdateKind<'_>) -> Result<UpdateBudgetSeconds, TaskError> {
    let parsed: DeploymentConfig = serde_json::from_value(config.clone()).map_err(|e| {
        TaskError::InvalidInput(format!(
            "deploymentConfig is not SageMaker's DeploymentConfig ({e}); it takes BlueGreenUpdatePolicy or RollingUpdatePolicy and AutoRollbackConfiguration"
        ))
    })?;
    let budget = parsed.validate()?;
    applies_to(&parsed, kind)?;
    Ok(budget)
}

impl DeploymentConfig {
    /// The API's limits; answers the update's time budget.
    fn validate(&self) -> Result<UpdateBudgetSeconds, TaskError> {
        if let Some(rollback) = &self.auto_rollback_configuration {
            if rollback.alarms.is_empty() || rollback.alarms.len() > 10 {
                return invalid("AutoRollbackConfiguration.Alarms takes 1 to 10 alarms");
            }
            if let Some(bad) = rollback
                .alarms
                .iter()
                .find(|a| a.alarm_name.is_empty() || a.alarm_name.len() > 255)
            {
                return invalid(&format!(
                    "AutoRollbackConfiguration alarm name {} must be 1 to 255 characters",
                    crate::validation::shown(&bad.alarm_name)
                ));
            }
        }
        match (&self.blue_green_update_policy, &self.rolling_update_policy) {
            (Some(_), Some(_)) => invalid(
                "deploymentConfig takes one of BlueGreenUpdatePolicy and RollingUpdatePolicy, not both",
            ),
            (Some(blue_green), None) => blue_green.validate(),
            (None, Some(rolling)) => rolling.validate(),
            (None, None) => Ok(DEFAULT_TIMEOUT),
        }
    }
}

/// SageMaker's default `MaximumExecutionTimeoutInSeconds`.
const DEFAULT_TIMEOUT: i64 = 28_800;

impl BlueGreen {
    fn validate(&self) -> Result<UpdateBudgetSeconds, TaskError> {
        let routing = &self.traffic_routing_configuration;
        within(
            "TrafficRoutingConfiguration.WaitIntervalInSeconds",
            routing.wait_interval_in_seconds,
            0,
            3600,
        )?;
        if let Some(wait) = self.termination_wait_in_seconds {
            within("BlueGreenUpdatePolicy.TerminationWaitInSeconds", wait, 0, 3600)?;
        }
        let timeout = timeout(self.maximum_execution_timeout_in_seconds)?;
        match (routing.kind, &routing.canary_size, &routing.linear_step_size) {
            (RoutingKind::Canary, Some(size), None) => size.validate("CanarySize")?,
            (RoutingKind::Linear, None, Some(size)) => size.validate("LinearStepSize")?,
            (RoutingKind::AllAtOnce, None, None) => {}
            (kind, _, _) => {
                return invalid(&format!(
                    "TrafficRoutingConfiguration Type {kind:?} takes {}",
                    match kind {
                        RoutingKind::Canary => "CanarySize and no LinearStepSize",
                        RoutingKind::Linear => "LinearStepSize and no CanarySize",
                        RoutingKind::AllAtOnce => "neither CanarySize nor LinearStepSize",
                    }
                ))
            }
        }
        Ok(timeout)
    }
}

impl Rolling {
    fn validate(&self) -> Result<UpdateBudgetSeconds, TaskError> {
        self.maximum_batch_size.validate("MaximumBatchSize")?;
        if let Some(size) = &self.rollback_maximum_batch_size {
            size.validate("RollbackMaximumBatchSize")?;
        }
        within(
            "RollingUpdatePolicy.WaitIntervalInSeconds",
            self.wait_interval_in_seconds,
            0,
            3600,
        )?;
        timeout(self.maximum_execution_timeout_in_seconds)
    }
}

impl Capacity {
    fn validate(&self, field: &str) -> Result<(), TaskError> {
        match self.kind {
            CapacityKind::InstanceCount => {
                within(&format!("{field}.Value"), self.value, 1, i64::from(i32::MAX))
            }
            CapacityKind::CapacityPercent => {
                within(&format!("{field}.Value (a percentage)"), self.value, 1, 100)
            }
        }
    }
}

fn timeout(value: Option<i64>) -> Result<UpdateBudgetSeconds, TaskError> {
    let timeout = value.unwrap_or(DEFAULT_TIMEOUT);
    within("MaximumExecutionTimeoutInSeconds", timeout, 600, 28_800)?;
    Ok(timeout)
}

fn within(field: &str, value: i64, low: i64, high: i64) -> Result<(), TaskError> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        invalid(&format!(
            "deploymentConfig {field} is {value}; SageMaker takes {low} to {high}"
        ))
    }
}

fn invalid<T>(message: &str) -> Result<T, TaskError> {
    Err(TaskError::InvalidInput(message.to_string()))
}

/// SageMaker's exclusions, each refused with what would apply instead.
fn applies_to(config: &DeploymentConfig, kind: &UpdateKind<'_>) -> Result<(), TaskError> {
    match kind {
        UpdateKind::Create => invalid(
            "deploymentConfig guards an update of a live endpoint, and this deploy creates the endpoint (there is no traffic to shift); leave it out of the first deploy",
        ),
        UpdateKind::VariantsChange { added, mode } => invalid(&format!(
            "deploymentConfig is not honoured here: guardrails need the new endpoint config to have the same variant names as the old, and mode {mode} adds variant {added:?} — SageMaker would fall back to an all-at-once update with no baking and no auto-rollback. Use mode replace (a guarded blue/green of an existing variant), or leave deploymentConfig out: the challenger is guarded by the A/B evaluation and the alarm rollback"
        )),
        UpdateKind::SameVariants {
            variant_count,
            instance_types,
        } => {
            if let Some(inf1) = instance_types.iter().find(|t| t.starts_with("ml.inf1.")) {
                return invalid(&format!(
                    "deploymentConfig is not honoured on {inf1} (Inf1 instances are excluded from guardrails): SageMaker would update all at once with no baking; leave deploymentConfig out or use another instance type"
                ));
            }
            if config.rolling_update_policy.is_some() && *variant_count > 1 {
                return invalid(&format!(
                    "RollingUpdatePolicy does not apply to a multi-variant endpoint (this one has {variant_count} production variants); use BlueGreenUpdatePolicy (canary or linear)"
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canary() -> Value {
        json!({
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 600,
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}},
                "TerminationWaitInSeconds": 300,
                "MaximumExecutionTimeoutInSeconds": 3600
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "champion-5xx"}]}
        })
    }

    fn same(count: usize, types: Vec<&str>) -> UpdateKind<'_> {
        UpdateKind::SameVariants {
            variant_count: count,
            instance_types: types,
        }
    }

    #[test]
    fn a_canary_on_the_same_variants_is_honoured_with_its_timeout() {
        assert_eq!(check(&canary(), &same(1, vec!["ml.m5.large"])).unwrap(), 3600);
    }

    #[test]
    fn updates_that_change_the_variants_or_create_are_refused_with_the_alternative() {
        let added = UpdateKind::VariantsChange {
            added: "challenger",
            mode: "weighted",
        };
        let e = check(&canary(), &added).unwrap_err().to_string();
        assert!(
            e.contains("same variant names") && e.contains("mode replace"),
            "{e}"
        );
        let e = check(&canary(), &UpdateKind::Create).unwrap_err().to_string();
        assert!(e.contains("creates the endpoint"), "{e}");
    }

    #[test]
    fn feature_exclusions_are_refused() {
        let e = check(&canary(), &same(1, vec!["ml.inf1.xlarge"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Inf1"), "{e}");
        let rolling = json!({"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
            "WaitIntervalInSeconds": 60}});
        assert_eq!(check(&rolling, &same(1, vec!["ml.m5.large"])).unwrap(), 28_800);
        let e = check(&rolling, &same(2, vec!["ml.m5.large"; 2]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("multi-variant") && e.contains("BlueGreenUpdatePolicy"),
            "{e}"
        );
    }

    #[test]
    fn the_api_limits_and_shapes_are_checked() {
        let cases = [
            (
                json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60}}}),
                "CanarySize",
            ),
            (
                json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 7200}}}),
                "0 to 3600",
            ),
            (
                json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "LINEAR", "WaitIntervalInSeconds": 60,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 150}}}}),
                "1 to 100",
            ),
            (
                json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
                "MaximumExecutionTimeoutInSeconds": 60}}),
                "600 to 28800",
            ),
            (json!({"AutoRollbackConfiguration": {"Alarms": []}}), "1 to 10"),
            (
                json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "SOMETIMES", "WaitIntervalInSeconds": 0}}}),
                "DeploymentConfig",
            ),
            (json!({"Canary": true}), "unknown field"),
            (
                json!({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}},
                "RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1}, "WaitIntervalInSeconds": 0}}),
                "not both",
            ),
        ];
        for (config, expected) in cases {
            let e = check(&config, &same(1, vec!["ml.m5.large"]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{config}: {e}");
        }
    }
}
