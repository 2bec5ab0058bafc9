//! Application Auto Scaling for endpoint variants: a variant's scalable target
//! (`sagemaker:variant:DesiredInstanceCount` of `endpoint/<endpoint>/variant/<variant>`)
//! and the scaling policies attached to it, as far as deploy and shift-weights must carry
//! them through an endpoint update.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::PortResult;

/// A variant's autoscaling: its scalable target and its policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VariantScaling {
    /// `MinCapacity` (instances, ≥ 1 for a variant).
    pub min_capacity: i32,
    /// `MaxCapacity` (instances).
    pub max_capacity: i32,
    /// Dynamic scaling suspended (in and out): the target and its policies are kept, but
    /// nothing scales. Weighbridge stages a survivor's scaling this way before an update
    /// and resumes it once the endpoint is InService on the new config.
    #[serde(default)]
    pub suspended: bool,
    /// The policies attached to the target.
    #[serde(default)]
    pub policies: Vec<ScalingPolicy>,
}

/// One scaling policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingPolicy {
    /// `PolicyName` (unique per target).
    pub name: String,
    /// What the policy does.
    pub kind: PolicyKind,
}

/// `PolicyType` with its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", deny_unknown_fields)]
pub enum PolicyKind {
    /// `TargetTrackingScaling`: keep a metric at a target value.
    #[serde(rename_all = "camelCase")]
    TargetTracking {
        /// `TargetValue`.
        target_value: f64,
        /// The metric tracked.
        metric: TrackedMetric,
        /// `ScaleInCooldown` in seconds.
        #[serde(default)]
        scale_in_cooldown: Option<i32>,
        /// `ScaleOutCooldown` in seconds.
        #[serde(default)]
        scale_out_cooldown: Option<i32>,
        /// `DisableScaleIn`.
        #[serde(default)]
        disable_scale_in: bool,
    },
    /// `StepScaling`: adjustments triggered by a CloudWatch alarm the user owns.
    #[serde(rename_all = "camelCase")]
    StepScaling {
        /// `AdjustmentType` (`ChangeInCapacity`, `ExactCapacity`, `PercentChangeInCapacity`).
        adjustment_type: String,
        /// `Cooldown` in seconds.
        #[serde(default)]
        cooldown: Option<i32>,
        /// `MetricAggregationType` (`Average`, `Minimum`, `Maximum`).
        #[serde(default)]
        metric_aggregation_type: Option<String>,
        /// `MinAdjustmentMagnitude`.
        #[serde(default)]
        min_adjustment_magnitude: Option<i32>,
        /// `StepAdjustments`.
        steps: Vec<StepAdjustment>,
    },
}

/// The metric a target-tracking policy follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "source", deny_unknown_fields)]
pub enum TrackedMetric {
    /// `PredefinedMetricSpecification` (`SageMakerVariantInvocationsPerInstance`, …).
    #[serde(rename_all = "camelCase")]
    Predefined {
        /// `PredefinedMetricType`.
        metric_type: String,
        /// `ResourceLabel`, if any.
        #[serde(default)]
        resource_label: Option<String>,
    },
    /// `CustomizedMetricSpecification`: one CloudWatch metric.
    #[serde(rename_all = "camelCase")]
    Customized {
        /// `MetricName`.
        name: String,
        /// `Namespace`.
        namespace: String,
        /// `Statistic` (`Average`, `Sum`, …).
        statistic: String,
        /// `Unit`, if any.
        #[serde(default)]
        unit: Option<String>,
        /// `Dimensions` as (name, value).
        #[serde(default)]
        dimensions: Vec<(String, String)>,
    },
}

/// One `StepAdjustment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepAdjustment {
    /// `MetricIntervalLowerBound`.
    #[serde(default)]
    pub lower_bound: Option<f64>,
    /// `MetricIntervalUpperBound`.
    #[serde(default)]
    pub upper_bound: Option<f64>,
    /// `ScalingAdjustment`.
    pub adjustment: i32,
}

/// The predefined metric SageMaker variants scale on by default.
pub const INVOCATIONS_PER_INSTANCE: &str = "SageMakerVariantInvocationsPerInstance";

/// Application Auto Scaling (`ServiceNamespace: sagemaker`), per endpoint variant.
#[async_trait]
pub trait Autoscaling: Send + Sync {
    /// DescribeScalableTargets and DescribeScalingPolicies for one variant; `None` when
    /// it is not a scalable target.
    async fn variant_scaling(&self, endpoint: &str, variant: &str) -> PortResult<Option<VariantScaling>>;
    /// RegisterScalableTarget (creates or updates the target's capacities and
    /// suspension; policies are untouched).
    async fn register_target(
        &self,
        endpoint: &str,
        variant: &str,
        scaling: &VariantScaling,
    ) -> PortResult<()>;
    /// PutScalingPolicy (creates or replaces the policy of that name).
    async fn put_policy(&self, endpoint: &str, variant: &str, policy: &ScalingPolicy) -> PortResult<()>;
    /// DeleteScalingPolicy; `NotFound` when there is none of that name.
    async fn delete_policy(&self, endpoint: &str, variant: &str, name: &str) -> PortResult<()>;
    /// DeregisterScalableTarget (its policies go with it); `NotFound` when it is not one.
    async fn deregister_target(&self, endpoint: &str, variant: &str) -> PortResult<()>;
}

/// The resource ID Application Auto Scaling names a variant by.
pub fn variant_resource_id(endpoint: &str, variant: &str) -> String {
    format!("endpoint/{endpoint}/variant/{variant}")
}

/// The scalable dimension of an endpoint variant.
pub const VARIANT_DIMENSION: &str = "sagemaker:variant:DesiredInstanceCount";
