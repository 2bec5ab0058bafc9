//! Carrying Application Auto Scaling through an endpoint update, as SageMaker's "Update
//! endpoints that use auto scaling" requires: a scaled variant that an update removes
//! must lose its policies and be deregistered first (or UpdateEndpoint fails), and
//! scaling is restored once the endpoint is InService on the new config.
//!
//! The order makes every step idempotent and a crash between any two harmless:
//!
//! 1. **stage** — a survivor that takes over a removed variant's scaling (the winner of a
//!    promotion) is registered with that scaling *suspended* and its policies attached,
//!    before anything is removed: from here on the policies live on the survivor, so a
//!    crash loses nothing, and a suspended target scales nothing during the update;
//! 2. **deregister** the removed scaled variants (policies deleted, target deregistered);
//! 3. **update** the endpoint (the caller; surviving variants keep their live counts);
//! 4. after the wait, **restore** ([`restore`], shift-weights' `restoreScaling`):
//!    staged targets resumed, and a new challenger given a copy of the champion's scaling
//!    when deploy was asked to (`copyScalingToChallenger`).
//!
//! A re-run after a crash reads the scaling again: a staged (suspended) survivor is found
//! and kept in the restore list, a variant already deregistered is simply not scaled any
//! more. Weighbridge never changes a live variant's instance type, so the retype case of
//! the procedure does not arise.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{port, tolerate_missing};
use crate::ports::{Autoscaling, EndpointConfig, EndpointDescription, VariantScaling};
use crate::TaskError;

/// A variant whose scaling is to be (re)applied once the endpoint is InService.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingRestore {
    /// The variant.
    pub variant: String,
    /// Its scalable target and policies (registered unsuspended).
    pub scaling: VariantScaling,
}

/// What an update did to autoscaling, and what is left for after the wait.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingReport {
    /// Scaled variants deregistered because the update removes them.
    pub deregistered: Vec<String>,
    /// Survivors registered (suspended) with a removed variant's scaling.
    pub staged: Vec<String>,
    /// To apply once the endpoint is InService (shift-weights `restoreScaling`).
    pub restore: Vec<ScalingRestore>,
}

/// The plan for one update, from the scaling read before it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ScalingPlan {
    /// Scaled variants the update removes, with their scaling.
    deregister: Vec<(String, VariantScaling)>,
    /// Survivors to register suspended now, resumed after the update.
    stage: Vec<ScalingRestore>,
    /// Survivors found staged by an earlier, interrupted run.
    resume: Vec<ScalingRestore>,
    /// A new variant that gets a copy after the update.
    copy: Option<ScalingRestore>,
}

/// Reads the scaling of every live variant and plans the update to `next`: what to
/// deregister, what a surviving production variant inherits when every scaled
/// production variant goes, and (with `copy_to`) the copy a new challenger gets.
pub(crate) async fn plan(
    autoscaling: &dyn Autoscaling,
    endpoint: &EndpointDescription,
    next: &EndpointConfig,
    copy_to: Option<&str>,
) -> Result<ScalingPlan, TaskError> {
    let live = read(autoscaling, endpoint).await?;
    let kept = |name: &str| {
        next.variants
            .iter()
            .chain(&next.shadow_variants)
            .any(|v| v.name == name)
    };
    let production = |name: &str| endpoint.variants.iter().any(|v| v.name == name);
    let mut plan = ScalingPlan::default();
    for (name, scaling) in &live {
        if !kept(name) {
            plan.deregister.push((name.clone(), scaling.clone()));
        }
    }
    // A suspended survivor was staged by an interrupted run: it is not scaled yet.
    let survivor_scaled = next
        .variants
        .iter()
        .any(|v| live.get(&v.name).is_some_and(|s| !s.suspended));
    // The removed production variant with the most room passes its scaling on.
    let inherited = plan
        .deregister
        .iter()
        .filter(|(name, _)| production(name))
        .max_by_key(|(_, s)| s.max_capacity)
        .map(|(_, s)| s.clone());
    // A survivor can be staged only if it already exists (a graduating shadow does; a
    // new variant does not).
    let on_endpoint =
        |name: &str| production(name) || endpoint.shadow_variants.iter().any(|v| v.name == name);
    if let (false, Some(scaling)) = (survivor_scaled, inherited) {
        plan.stage = next
            .variants
            .iter()
            .filter(|v| on_endpoint(&v.name))
            .map(|v| restored(&v.name, &with_staged_policies(&scaling, live.get(&v.name))))
            .collect();
    }
    let staged = |name: &str| plan.stage.iter().any(|s| s.variant == name);
    plan.resume = live
        .iter()
        .filter(|(name, s)| s.suspended && kept(name) && !staged(name))
        .map(|(name, s)| restored(name, s))
        .collect();
    if let Some(challenger) = copy_to {
        plan.copy = champion_scaling(endpoint, &live).map(|s| restored(challenger, s));
    }
    Ok(plan)
}

/// The scaling of each live variant that is a scalable target.
async fn read(
    autoscaling: &dyn Autoscaling,
    endpoint: &EndpointDescription,
) -> Result<BTreeMap<String, VariantScaling>, TaskError> {
    let mut scaled = BTreeMap::new();
    for variant in endpoint.variants.iter().chain(&endpoint.shadow_variants) {
        let found = autoscaling
            .variant_scaling(&endpoint.name, &variant.name)
            .await
            .map_err(port(format!(
                "DescribeScalableTargets {}/{}",
                endpoint.name, variant.name
            )))?;
        if let Some(scaling) = found {
            scaled.insert(variant.name.clone(), scaling);
        }
    }
    Ok(scaled)
}

/// The scaling a new challenger copies: the scaled production variant with the most
/// traffic (the champion).
fn champion_scaling<'a>(
    endpoint: &EndpointDescription,
    live: &'a BTreeMap<String, VariantScaling>,
) -> Option<&'a VariantScaling> {
    endpoint
        .variants
        .iter()
        .filter(|v| live.contains_key(&v.name))
        .max_by(|a, b| a.current_weight.total_cmp(&b.current_weight))
        .and_then(|v| live.get(&v.name))
}

/// `scaling` with any policy an interrupted run already staged on the survivor (whose
/// source may since have lost it to the deregistration).
fn with_staged_policies(scaling: &VariantScaling, staged: Option<&VariantScaling>) -> VariantScaling {
    let mut merged = scaling.clone();
    for policy in staged.map(|s| s.policies.as_slice()).unwrap_or_default() {
        if !merged.policies.iter().any(|p| p.name == policy.name) {
            merged.policies.push(policy.clone());
        }
    }
    merged
}

fn restored(variant: &str, scaling: &VariantScaling) -> ScalingRestore {
    ScalingRestore {
        variant: variant.to_string(),
        scaling: VariantScaling {
            suspended: false,
            ..scaling.clone()
        },
    }
}

/// Steps 1 and 2, before UpdateEndpoint: survivors staged (suspended, policies attached),
/// then the removed scaled variants' policies deleted and their targets deregistered.
/// Answers the report, whose `restore` is step 4's input.
pub(crate) async fn before_update(
    autoscaling: &dyn Autoscaling,
    endpoint: &str,
    plan: &ScalingPlan,
) -> Result<ScalingReport, TaskError> {
    for staged in &plan.stage {
        let suspended = VariantScaling {
            suspended: true,
            ..staged.scaling.clone()
        };
        apply(autoscaling, endpoint, &staged.variant, &suspended).await?;
    }
    for (variant, scaling) in &plan.deregister {
        for policy in &scaling.policies {
            tolerate_missing(
                autoscaling.delete_policy(endpoint, variant, &policy.name).await,
                &format!("DeleteScalingPolicy {} of {endpoint}/{variant}", policy.name),
            )?;
        }
        tolerate_missing(
            autoscaling.deregister_target(endpoint, variant).await,
            &format!("DeregisterScalableTarget {endpoint}/{variant}"),
        )?;
    }
    Ok(ScalingReport {
        deregistered: plan.deregister.iter().map(|(v, _)| v.clone()).collect(),
        staged: plan.stage.iter().map(|s| s.variant.clone()).collect(),
        restore: plan
            .stage
            .iter()
            .chain(&plan.resume)
            .chain(&plan.copy)
            .cloned()
            .collect(),
    })
}

/// Step 4: each variant registered (unsuspended) with its policies — idempotent, so the
/// workflow may retry it; the endpoint must be InService with every variant on it.
pub async fn restore(
    autoscaling: &dyn Autoscaling,
    endpoint: &EndpointDescription,
    restores: &[ScalingRestore],
) -> Result<Vec<String>, TaskError> {
    for r in restores {
        let on_endpoint = endpoint
            .variants
            .iter()
            .chain(&endpoint.shadow_variants)
            .any(|v| v.name == r.variant);
        if !on_endpoint {
            return Err(TaskError::InvalidInput(format!(
                "restoreScaling: variant {:?} is not on endpoint {}; scaling is restored on the variants the update kept",
                r.variant, endpoint.name
            )));
        }
        apply(autoscaling, &endpoint.name, &r.variant, &r.scaling).await?;
    }
    Ok(restores.iter().map(|r| r.variant.clone()).collect())
}

/// RegisterScalableTarget, then every policy (both create or replace).
async fn apply(
    autoscaling: &dyn Autoscaling,
    endpoint: &str,
    variant: &str,
    scaling: &VariantScaling,
) -> Result<(), TaskError> {
    autoscaling
        .register_target(endpoint, variant, scaling)
        .await
        .map_err(port(format!("RegisterScalableTarget {endpoint}/{variant}")))?;
    for policy in &scaling.policies {
        autoscaling
            .put_policy(endpoint, variant, policy)
            .await
            .map_err(port(format!(
                "PutScalingPolicy {} on {endpoint}/{variant}",
                policy.name
            )))?;
    }
    Ok(())
}

/// Checks a `scaling` restore list from the workflow against Application Auto Scaling's
/// rules before anything is registered.
pub(crate) fn validate_restores(restores: &[ScalingRestore]) -> Result<(), TaskError> {
    for r in restores {
        crate::validation::sagemaker_name("restore.variant", &r.variant)?;
        let s = &r.scaling;
        if s.min_capacity < 1 || s.max_capacity < s.min_capacity {
            return Err(TaskError::InvalidInput(format!(
                "restore {}: minCapacity {} and maxCapacity {} must satisfy 1 ≤ min ≤ max for an endpoint variant",
                r.variant, s.min_capacity, s.max_capacity
            )));
        }
        for p in &s.policies {
            let ok = !p.name.is_empty()
                && p.name.len() <= 256
                && !p.name.chars().any(|c| c.is_control() || c == ':' || c == '/');
            if !ok {
                return Err(TaskError::InvalidInput(format!(
                    "restore {}: policy name {} must be 1 to 256 characters without ':', '/' or control characters",
                    r.variant,
                    crate::validation::shown(&p.name)
                )));
            }
        }
    }
    Ok(())
}
