//! Application Auto Scaling for endpoint variants: scalable targets and their policies
//! (`ServiceNamespace: sagemaker`), the errors the service answers, and scaling on the
//! virtual clock — a target-tracking policy on `SageMakerVariantInvocationsPerInstance`
//! sets the variant's instance count from its invocations in the last full hour.
//! SageMaker's side of the contract lives in `sagemaker.rs`: UpdateEndpoint fails when it
//! would remove or retype a variant that is still a scalable target.

use super::*;
use weighbridge_tasks::ports::{
    variant_resource_id, Autoscaling, PolicyKind, ScalingPolicy, TrackedMetric, VariantScaling,
    INVOCATIONS_PER_INSTANCE, VARIANT_DIMENSION,
};

impl MemoryBackend {
    /// Every scalable target, by resource ID (`endpoint/<e>/variant/<v>`).
    pub fn scalable_targets(&self) -> BTreeMap<String, VariantScaling> {
        self.with(|s| s.world.scaling.clone())
    }
}

fn no_target(resource: &str) -> PortError {
    PortError::NotFound(format!(
        "No scalable target found for service namespace: sagemaker, resource ID: {resource}, scalable dimension: {VARIANT_DIMENSION}"
    ))
}

/// The variants of `endpoint` that are scalable targets and an update would lose: gone
/// from `next`, or on another instance type there.
pub(super) fn blocked_by_scaling(s: &State, endpoint: &str, next: &EndpointConfig) -> Vec<String> {
    let Some(e) = s.world.endpoints.get(endpoint) else {
        return Vec::new();
    };
    let live = s.world.configs.get(&e.config_name);
    e.variants
        .iter()
        .chain(&e.shadow_variants)
        .filter(|v| {
            s.world
                .scaling
                .contains_key(&variant_resource_id(endpoint, &v.name))
        })
        .filter(|v| {
            let now_type = live
                .and_then(|c| {
                    c.variants
                        .iter()
                        .chain(&c.shadow_variants)
                        .find(|x| x.name == v.name)
                })
                .map(|x| x.instance_type.as_str());
            let next_type = next
                .variants
                .iter()
                .chain(&next.shadow_variants)
                .find(|x| x.name == v.name)
                .map(|x| x.instance_type.as_str());
            next_type.is_none() || next_type != now_type
        })
        .map(|v| v.name.clone())
        .collect()
}

/// What Application Auto Scaling does to an endpoint's targets when it is deleted:
/// deregisters them without telling anyone.
pub(super) fn forget_endpoint(s: &mut State, endpoint: &str) {
    let prefix = format!("endpoint/{endpoint}/variant/");
    s.world
        .scaling
        .retain(|resource, _| !resource.starts_with(&prefix));
}

/// One scaling evaluation at `now`: each unsuspended target tracking invocations per
/// instance gets the count its last full hour of traffic asks for, within its bounds.
pub(super) fn scale(s: &mut State, now: DateTime<Utc>) {
    let hour = now.timestamp().div_euclid(3600) - 1;
    for (resource, scaling) in &s.world.scaling {
        let Some((endpoint, variant)) = resource
            .strip_prefix("endpoint/")
            .and_then(|rest| rest.split_once("/variant/"))
        else {
            continue;
        };
        let Some(target) = invocations_target(scaling) else {
            continue;
        };
        let per_minute = s
            .world
            .invocations
            .get(endpoint)
            .and_then(|variants| variants.get(variant))
            .and_then(|hours| hours.get(&hour))
            .map_or(0.0, |h| h.invocations() as f64 / 60.0);
        let Some(e) = s.world.endpoints.get_mut(endpoint) else {
            continue;
        };
        if e.status != EndpointStatus::InService {
            continue; // scaling is blocked while the endpoint changes
        }
        let wanted = ((per_minute / target).ceil() as i32).clamp(scaling.min_capacity, scaling.max_capacity);
        if let Some(v) = e
            .variants
            .iter_mut()
            .chain(e.shadow_variants.iter_mut())
            .find(|v| v.name == variant)
        {
            v.current_instance_count = wanted;
        }
    }
}

/// The target value of an unsuspended invocations-per-instance policy, if the target has one.
fn invocations_target(scaling: &VariantScaling) -> Option<f64> {
    if scaling.suspended {
        return None;
    }
    scaling.policies.iter().find_map(|p| match &p.kind {
        PolicyKind::TargetTracking {
            target_value,
            metric: TrackedMetric::Predefined { metric_type, .. },
            ..
        } if metric_type == INVOCATIONS_PER_INSTANCE && *target_value > 0.0 => Some(*target_value),
        _ => None,
    })
}

/// RegisterScalableTarget's checks: the variant exists on the endpoint, 1 ≤ min ≤ max.
fn check_registration(s: &State, endpoint: &str, variant: &str, scaling: &VariantScaling) -> PortResult<()> {
    let exists = s.world.endpoints.get(endpoint).is_some_and(|e| {
        e.variants
            .iter()
            .chain(&e.shadow_variants)
            .any(|v| v.name == variant)
    });
    if !exists {
        return Err(PortError::Validation(format!(
            "The variant {variant} of endpoint {endpoint} does not exist; a scalable target must be a live endpoint variant."
        )));
    }
    if scaling.min_capacity < 1 || scaling.max_capacity < scaling.min_capacity {
        return Err(PortError::Validation(format!(
            "Minimum capacity {} and maximum capacity {} are not valid: 1 <= min <= max.",
            scaling.min_capacity, scaling.max_capacity
        )));
    }
    Ok(())
}

#[async_trait]
impl Autoscaling for MemoryBackend {
    async fn variant_scaling(&self, endpoint: &str, variant: &str) -> PortResult<Option<VariantScaling>> {
        self.call("DescribeScalableTargets")?;
        self.call("DescribeScalingPolicies")?;
        let resource = variant_resource_id(endpoint, variant);
        self.with(|s| Ok(s.world.scaling.get(&resource).cloned()))
    }

    async fn register_target(
        &self,
        endpoint: &str,
        variant: &str,
        scaling: &VariantScaling,
    ) -> PortResult<()> {
        self.call("RegisterScalableTarget")?;
        let resource = variant_resource_id(endpoint, variant);
        self.with(|s| {
            check_registration(s, endpoint, variant, scaling)?;
            let target = s.world.scaling.entry(resource).or_insert_with(|| VariantScaling {
                policies: Vec::new(),
                ..scaling.clone()
            });
            target.min_capacity = scaling.min_capacity;
            target.max_capacity = scaling.max_capacity;
            target.suspended = scaling.suspended;
            Ok(())
        })
    }

    async fn put_policy(&self, endpoint: &str, variant: &str, policy: &ScalingPolicy) -> PortResult<()> {
        self.call("PutScalingPolicy")?;
        let resource = variant_resource_id(endpoint, variant);
        self.with(|s| {
            let target = s
                .world
                .scaling
                .get_mut(&resource)
                .ok_or_else(|| no_target(&resource))?;
            target.policies.retain(|p| p.name != policy.name);
            target.policies.push(policy.clone());
            Ok(())
        })
    }

    async fn delete_policy(&self, endpoint: &str, variant: &str, name: &str) -> PortResult<()> {
        self.call("DeleteScalingPolicy")?;
        let resource = variant_resource_id(endpoint, variant);
        self.with(|s| {
            let target = s.world.scaling.get_mut(&resource).ok_or_else(|| no_target(&resource))?;
            let before = target.policies.len();
            target.policies.retain(|p| p.name != name);
            if target.policies.len() == before {
                return Err(PortError::NotFound(format!(
                    "No scaling policy found for service namespace: sagemaker, resource ID: {resource}, scalable dimension: {VARIANT_DIMENSION}, policy name: {name}"
                )));
            }
            Ok(())
        })
    }

    async fn deregister_target(&self, endpoint: &str, variant: &str) -> PortResult<()> {
        self.call("DeregisterScalableTarget")?;
        let resource = variant_resource_id(endpoint, variant);
        self.with(|s| {
            s.world
                .scaling
                .remove(&resource)
                .map(drop)
                .ok_or_else(|| no_target(&resource))
        })
    }
}
