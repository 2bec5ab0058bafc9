//! Application Auto Scaling for endpoint variants on `aws-sdk-applicationautoscaling`:
//! scalable targets and target-tracking or step-scaling policies, both ways. A policy
//! this adapter cannot carry (predictive scaling, metric math) is refused by name on
//! read, so a change never drops it silently.

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension, MetricStatistic,
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalingPolicy as SdkPolicy,
    ServiceNamespace, StepAdjustment as SdkStep, StepScalingPolicyConfiguration, SuspendedState,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_applicationautoscaling::Client;
use weighbridge_tasks::ports::{
    variant_resource_id, Autoscaling, PolicyKind, PortError, PortResult, ScalingPolicy, StepAdjustment,
    TrackedMetric, VariantScaling, VARIANT_DIMENSION,
};

use crate::errors::classify;

/// [`Autoscaling`] on the AWS SDK.
#[derive(Clone, Debug)]
pub struct ApplicationAutoScaling {
    client: Client,
}

impl ApplicationAutoScaling {
    /// The adapter over an Application Auto Scaling client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn dimension() -> ScalableDimension {
    ScalableDimension::from(VARIANT_DIMENSION)
}

fn built<T>(value: Result<T, aws_smithy_types::error::operation::BuildError>) -> PortResult<T> {
    value.map_err(|e| PortError::Validation(format!("scaling policy: {e}")))
}

#[async_trait]
impl Autoscaling for ApplicationAutoScaling {
    async fn variant_scaling(&self, endpoint: &str, variant: &str) -> PortResult<Option<VariantScaling>> {
        let resource = variant_resource_id(endpoint, variant);
        let targets = self
            .client
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_ids(&resource)
            .scalable_dimension(dimension())
            .send()
            .await
            .map_err(classify)?;
        let Some(target) = targets
            .scalable_targets()
            .iter()
            .find(|t| t.resource_id() == resource)
        else {
            return Ok(None);
        };
        let suspended = target.suspended_state().is_some_and(|s| {
            s.dynamic_scaling_in_suspended() == Some(true) && s.dynamic_scaling_out_suspended() == Some(true)
        });
        let mut policies = Vec::new();
        let mut pages = self
            .client
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&resource)
            .scalable_dimension(dimension())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for policy in page.map_err(classify)?.scaling_policies() {
                policies.push(policy_from_sdk(policy)?);
            }
        }
        Ok(Some(VariantScaling {
            min_capacity: target.min_capacity(),
            max_capacity: target.max_capacity(),
            suspended,
            policies,
        }))
    }

    async fn register_target(
        &self,
        endpoint: &str,
        variant: &str,
        scaling: &VariantScaling,
    ) -> PortResult<()> {
        let suspended = SuspendedState::builder()
            .dynamic_scaling_in_suspended(scaling.suspended)
            .dynamic_scaling_out_suspended(scaling.suspended)
            .scheduled_scaling_suspended(scaling.suspended)
            .build();
        self.client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(variant_resource_id(endpoint, variant))
            .scalable_dimension(dimension())
            .min_capacity(scaling.min_capacity)
            .max_capacity(scaling.max_capacity)
            .suspended_state(suspended)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn put_policy(&self, endpoint: &str, variant: &str, policy: &ScalingPolicy) -> PortResult<()> {
        let request = self
            .client
            .put_scaling_policy()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(variant_resource_id(endpoint, variant))
            .scalable_dimension(dimension())
            .policy_name(&policy.name);
        let request = match &policy.kind {
            PolicyKind::TargetTracking { .. } => request
                .policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(target_tracking_to_sdk(&policy.kind)?),
            PolicyKind::StepScaling { .. } => request
                .policy_type(PolicyType::StepScaling)
                .step_scaling_policy_configuration(step_scaling_to_sdk(&policy.kind)?),
        };
        request.send().await.map_err(classify)?;
        Ok(())
    }

    async fn delete_policy(&self, endpoint: &str, variant: &str, name: &str) -> PortResult<()> {
        self.client
            .delete_scaling_policy()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(variant_resource_id(endpoint, variant))
            .scalable_dimension(dimension())
            .policy_name(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn deregister_target(&self, endpoint: &str, variant: &str) -> PortResult<()> {
        self.client
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(variant_resource_id(endpoint, variant))
            .scalable_dimension(dimension())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

/// A policy as the port carries it; predictive scaling and metric math are refused.
fn policy_from_sdk(policy: &SdkPolicy) -> PortResult<ScalingPolicy> {
    let name = policy.policy_name().to_string();
    let refuse = |what: &str| {
        PortError::Validation(format!(
            "scaling policy {name} of {} is {what}, which Weighbridge cannot carry through an endpoint update; remove it or move it by hand",
            policy.resource_id()
        ))
    };
    let kind = match policy.policy_type() {
        PolicyType::TargetTrackingScaling => {
            let c = policy
                .target_tracking_scaling_policy_configuration()
                .ok_or_else(|| refuse("a target-tracking policy without its configuration"))?;
            let metric = match (
                c.predefined_metric_specification(),
                c.customized_metric_specification(),
            ) {
                (Some(p), _) => TrackedMetric::Predefined {
                    metric_type: p.predefined_metric_type().as_str().to_string(),
                    resource_label: p.resource_label().map(str::to_string),
                },
                (None, Some(m)) if m.metrics().is_empty() => TrackedMetric::Customized {
                    name: m.metric_name().unwrap_or_default().to_string(),
                    namespace: m.namespace().unwrap_or_default().to_string(),
                    statistic: m.statistic().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    unit: m.unit().map(str::to_string),
                    dimensions: m
                        .dimensions()
                        .iter()
                        .map(|d| (d.name().to_string(), d.value().to_string()))
                        .collect(),
                },
                _ => return Err(refuse("a target-tracking policy on metric math")),
            };
            PolicyKind::TargetTracking {
                target_value: c.target_value(),
                metric,
                scale_in_cooldown: c.scale_in_cooldown(),
                scale_out_cooldown: c.scale_out_cooldown(),
                disable_scale_in: c.disable_scale_in().unwrap_or(false),
            }
        }
        PolicyType::StepScaling => {
            let c = policy
                .step_scaling_policy_configuration()
                .ok_or_else(|| refuse("a step-scaling policy without its configuration"))?;
            PolicyKind::StepScaling {
                adjustment_type: c
                    .adjustment_type()
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_default(),
                cooldown: c.cooldown(),
                metric_aggregation_type: c.metric_aggregation_type().map(|a| a.as_str().to_string()),
                min_adjustment_magnitude: c.min_adjustment_magnitude(),
                steps: c
                    .step_adjustments()
                    .iter()
                    .map(|s| StepAdjustment {
                        lower_bound: s.metric_interval_lower_bound(),
                        upper_bound: s.metric_interval_upper_bound(),
                        adjustment: s.scaling_adjustment(),
                    })
                    .collect(),
            }
        }
        other => return Err(refuse(&format!("a {} policy", other.as_str()))),
    };
    Ok(ScalingPolicy { name, kind })
}

fn target_tracking_to_sdk(kind: &PolicyKind) -> PortResult<TargetTrackingScalingPolicyConfiguration> {
    let PolicyKind::TargetTracking {
        target_value,
        metric,
        scale_in_cooldown,
        scale_out_cooldown,
        disable_scale_in,
    } = kind
    else {
        return Err(PortError::Validation("not a target-tracking policy".into()));
    };
    let builder = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(*target_value)
        .set_scale_in_cooldown(*scale_in_cooldown)
        .set_scale_out_cooldown(*scale_out_cooldown)
        .disable_scale_in(*disable_scale_in);
    let builder = match metric {
        TrackedMetric::Predefined {
            metric_type,
            resource_label,
        } => builder.predefined_metric_specification(built(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::from(metric_type.as_str()))
                .set_resource_label(resource_label.clone())
                .build(),
        )?),
        TrackedMetric::Customized {
            name,
            namespace,
            statistic,
            unit,
            dimensions,
        } => {
            let dimensions = dimensions
                .iter()
                .map(|(n, v)| built(MetricDimension::builder().name(n).value(v).build()))
                .collect::<PortResult<Vec<_>>>()?;
            builder.customized_metric_specification(
                CustomizedMetricSpecification::builder()
                    .metric_name(name)
                    .namespace(namespace)
                    .statistic(MetricStatistic::from(statistic.as_str()))
                    .set_unit(unit.clone())
                    .set_dimensions(Some(dimensions))
                    .build(),
            )
        }
    };
    built(builder.build())
}

fn step_scaling_to_sdk(kind: &PolicyKind) -> PortResult<StepScalingPolicyConfiguration> {
    let PolicyKind::StepScaling {
        adjustment_type,
        cooldown,
        metric_aggregation_type,
        min_adjustment_magnitude,
        steps,
    } = kind
    else {
        return Err(PortError::Validation("not a step-scaling policy".into()));
    };
    let steps = steps
        .iter()
        .map(|s| {
            built(
                SdkStep::builder()
                    .set_metric_interval_lower_bound(s.lower_bound)
                    .set_metric_interval_upper_bound(s.upper_bound)
                    .scaling_adjustment(s.adjustment)
                    .build(),
            )
        })
        .collect::<PortResult<Vec<_>>>()?;
    Ok(StepScalingPolicyConfiguration::builder()
        .adjustment_type(AdjustmentType::from(adjustment_type.as_str()))
        .set_cooldown(*cooldown)
        .set_metric_aggregation_type(
            metric_aggregation_type
                .as_deref()
                .map(MetricAggregationType::from),
        )
        .set_min_adjustment_magnitude(*min_adjustment_magnitude)
        .set_step_adjustments(Some(steps))
        .build())
}
