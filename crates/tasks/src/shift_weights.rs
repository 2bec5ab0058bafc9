//! **shift-weights**: apply a decision outside the evaluator — set weights, step toward
//! a target, promote (a new endpoint config without the losers, UpdateEndpoint), roll
//! back (challenger to weight 0, or removed), graduate a shadow variant (a production
//! variant at `initialShare`, or the only one) or remove it — and clean up superseded
//! configs and models, but only once the endpoint is InService on its new config.
//!
//! A config switch carries autoscaling through ([`crate::scaling`]): the removed scaled
//! variants deregistered first, a promoted winner staged with the champion's scaling and
//! sized for its load, and `restoreScaling` registering the rest after the wait.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use weighbridge_core::policy::normalise;

use crate::alarms::{self, AlarmSettings};
use crate::endpoint::{live_config, weight_for_share};
use crate::error::{port, tolerate_existing, tolerate_missing};
use crate::functions::Ports;
use crate::interventions;
use crate::names::readable_unique;
use crate::ports::{
    Alarms, Autoscaling, EndpointConfig, EndpointDescription, EndpointStatus, EndpointUpdate, Registry,
    SageMaker, VariantSpec,
};
use crate::scaling::{self, ScalingReport, ScalingRestore};
use crate::verdicts::{self, RegistryVerdict, VerdictKind, Why};
use crate::{validation, TaskError};

/// What to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action", deny_unknown_fields)]
pub enum ShiftAction {
    /// Set these weights (every variant of the endpoint, relative values).
    Set {
        /// Relative weight per variant (every variant of the endpoint).
        weights: BTreeMap<String, f64>,
    },
    /// Move each variant's share toward `target` by at most `step`.
    Step {
        /// The target weight per variant.
        target: BTreeMap<String, f64>,
        /// The largest change of any share, in (0, 1].
        step: f64,
    },
    /// Keep only `winner`: a new config with it alone, then UpdateEndpoint. A winner
    /// deployed from the Model Registry gets its package `Approved` with `reason`.
    Promote {
        /// The variant that keeps all the traffic.
        winner: String,
        /// The decision's reason (the registry's approval description).
        #[serde(default)]
        reason: Option<String>,
        /// The decision's evidence (any JSON object: the registry's customer metadata).
        #[serde(default)]
        evidence: Option<serde_json::Value>,
    },
    /// Take `loser` out of traffic: weight 0, or with `remove` a config without it. A
    /// loser deployed from the Model Registry gets its package `Rejected` with `reason`.
    Rollback {
        /// The variant to take out of traffic.
        loser: String,
        /// Also remove it from the endpoint (a new config without it).
        #[serde(default)]
        remove: bool,
        /// The decision's reason (the registry's approval description).
        #[serde(default)]
        reason: Option<String>,
        /// The decision's evidence (the registry's customer metadata).
        #[serde(default)]
        evidence: Option<serde_json::Value>,
    },
    /// The shadow variant becomes a production variant: at `initialShare` of the traffic
    /// beside the production variant (a weighted A/B follows), or with `promote` the
    /// only one. A new config, then UpdateEndpoint.
    #[serde(rename_all = "camelCase")]
    Graduate {
        /// The shadow variant.
        shadow: String,
        /// Its share of the traffic as a production variant, in (0, 1) (default 0.1).
        #[serde(default = "ten_percent")]
        initial_share: f64,
        /// Replace the production variant at once instead of starting an A/B (its
        /// registry package, if any, is then `Approved` with `reason`).
        #[serde(default)]
        promote: bool,
        /// Alarms on it as a weighted challenger (not with `promote`), put before the
        /// endpoint routes to it, as deploy's `alarms`.
        #[serde(default)]
        alarms: Option<AlarmSettings>,
        /// The decision's reason (the registry's approval description).
        #[serde(default)]
        reason: Option<String>,
        /// The decision's evidence (the registry's customer metadata).
        #[serde(default)]
        evidence: Option<serde_json::Value>,
    },
    /// Take the shadow variant off the endpoint: a new config without it (its registry
    /// package, if any, `Rejected` with `reason`).
    RemoveShadow {
        /// The shadow variant.
        shadow: String,
        /// The decision's reason (the registry's approval description).
        #[serde(default)]
        reason: Option<String>,
        /// The decision's evidence (the registry's customer metadata).
        #[serde(default)]
        evidence: Option<serde_json::Value>,
    },
    /// Register each variant's autoscaling (unsuspended, with its policies) once the
    /// endpoint is InService on the config that keeps it: the `scaling.restore` list of
    /// the deploy or shift that changed the endpoint.
    RestoreScaling {
        /// What to register.
        restore: Vec<ScalingRestore>,
    },
    /// Record an alarm rollback of `variant` in the endpoint's live experiment record
    /// (the alarm-rollback workflow, between taking it out of traffic and removing it).
    #[serde(rename_all = "camelCase")]
    RecordAlarmRollback {
        /// The variant taken out of traffic.
        variant: String,
        /// The alarm that fired.
        alarm_name: String,
        /// The alarm's reason.
        reason: String,
        /// When (`$$.State.EnteredTime`, RFC 3339).
        as_of: String,
    },
    /// Delete a variant's Weighbridge alarms (a candidate whose deploy failed or was rolled
    /// back by SageMaker); the endpoint may be in any state.
    DeleteAlarms {
        /// The variant whose alarms go.
        variant: String,
    },
    /// Delete a superseded config and models once the endpoint is InService on another.
    #[serde(rename_all = "camelCase")]
    Cleanup {
        /// The endpoint config to delete.
        superseded_config: String,
        /// Models to delete with it (never one the live config uses).
        #[serde(default)]
        models: Vec<String>,
    },
}

fn ten_percent() -> f64 {
    0.1
}

impl ShiftAction {
    /// The registry verdict this action carries: which variant, and what for it.
    fn verdict(&self) -> Option<(&str, VerdictKind)> {
        match self {
            Self::Promote { winner, .. } => Some((winner, VerdictKind::Promoted)),
            Self::Rollback { loser, .. } => Some((loser, VerdictKind::RolledBack)),
            Self::Graduate {
                shadow,
                promote: true,
                ..
            } => Some((shadow, VerdictKind::Promoted)),
            Self::RemoveShadow { shadow, .. } => Some((shadow, VerdictKind::RolledBack)),
            _ => None,
        }
    }

    /// The reason and evidence given with it.
    fn why(&self) -> Why<'_> {
        match self {
            Self::Promote { reason, evidence, .. }
            | Self::Rollback { reason, evidence, .. }
            | Self::Graduate { reason, evidence, .. }
            | Self::RemoveShadow { reason, evidence, .. } => Why {
                reason: reason.as_deref(),
                evidence: evidence.as_ref(),
            },
            _ => Why {
                reason: None,
                evidence: None,
            },
        }
    }
}

/// The task's input: `endpointName`, `executionName` and the action's fields side by side
/// (`{"endpointName": …, "action": "rollback", "loser": …}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftWeightsInput {
    /// The endpoint.
    pub endpoint_name: String,
    /// `$$.Execution.Name`: new config names derive from it (promote, rollback with remove).
    pub execution_name: String,
    /// What to do, and its fields.
    #[serde(flatten)]
    pub action: ShiftAction,
}

/// `#[serde(flatten)]` cannot refuse unknown fields, so the two shared fields are taken
/// out by hand and the rest must be exactly one action's fields.
impl<'de> Deserialize<'de> for ShiftWeightsInput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let mut text = |name: &str, required: bool| match fields.remove(name) {
            Some(serde_json::Value::String(s)) => Ok(s),
            None if !required => Ok(String::new()),
            None => Err(D::Error::missing_field("endpointName")),
            Some(other) => Err(D::Error::custom(format!("{name} is {other}; expected a string"))),
        };
        let endpoint_name = text("endpointName", true)?;
        let execution_name = text("executionName", false)?;
        let action = ShiftAction::deserialize(serde_json::Value::Object(fields)).map_err(D::Error::custom)?;
        Ok(Self {
            endpoint_name,
            execution_name,
            action,
        })
    }
}

/// Names, weights and steps by AWS's rules, before the endpoint is read.
fn validate(input: &ShiftWeightsInput) -> Result<(), TaskError> {
    validation::sagemaker_name("endpointName", &input.endpoint_name)?;
    if !input.execution_name.is_empty() {
        validation::execution_name("executionName", &input.execution_name)?;
    }
    match &input.action {
        ShiftAction::Set { weights } => validation::weights("weights", weights),
        ShiftAction::Step { target, step } => {
            if !(*step > 0.0 && *step <= 1.0) {
                return Err(TaskError::InvalidInput(format!("step {step} must be in (0, 1]")));
            }
            validation::weights("target", target)
        }
        ShiftAction::Promote { winner, .. } => validation::sagemaker_name("winner", winner),
        ShiftAction::Rollback { loser, .. } => validation::sagemaker_name("loser", loser),
        ShiftAction::Graduate {
            shadow,
            initial_share,
            alarms,
            ..
        } => {
            if let Some(alarms) = alarms {
                alarms.validate()?;
            }
            if !(*initial_share > 0.0 && *initial_share < 1.0) {
                return Err(TaskError::InvalidInput(format!(
                    "initialShare {initial_share} must be between 0 and 1 (e.g. 0.1 for 10% of the traffic)"
                )));
            }
            validation::sagemaker_name("shadow", shadow)
        }
        ShiftAction::RemoveShadow { shadow, .. } => validation::sagemaker_name("shadow", shadow),
        ShiftAction::RestoreScaling { restore } => scaling::validate_restores(restore),
        ShiftAction::DeleteAlarms { variant } => validation::sagemaker_name("variant", variant),
        ShiftAction::RecordAlarmRollback {
            variant,
            alarm_name,
            reason,
            as_of,
        } => {
            validation::sagemaker_name("variant", variant)?;
            if alarm_name.is_empty() || alarm_name.len() > 255 || reason.len() > 1023 {
                return Err(TaskError::InvalidInput(
                    "alarmName must be 1 to 255 characters and reason at most 1,023 (CloudWatch's limits)"
                        .into(),
                ));
            }
            chrono::DateTime::parse_from_rfc3339(as_of)
                .map(drop)
                .map_err(|e| TaskError::InvalidInput(format!("asOf {as_of:?} is not an RFC 3339 time: {e}")))
        }
        ShiftAction::Cleanup {
            superseded_config,
            models,
        } => {
            validation::sagemaker_name("supersededConfig", superseded_config)?;
            models
                .iter()
                .try_for_each(|m| validation::sagemaker_name("models", m))
        }
    }
}

/// The task's output.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftWeightsOutput {
    /// The endpoint.
    pub endpoint_name: String,
    /// The weights before the action.
    pub previous_weights: BTreeMap<String, f64>,
    /// Weights now (or, after UpdateEndpoint, once the update completes).
    pub weights: BTreeMap<String, f64>,
    /// Set when a new endpoint config was made (promote, rollback with remove).
    pub new_config: Option<String>,
    /// The config to clean up after InService on `newConfig`.
    pub superseded_config: Option<String>,
    /// Models no longer used by the new config (clean up with the config).
    pub retired_models: Vec<String>,
    /// Deleted by a cleanup.
    pub deleted: Vec<String>,
    /// What a config switch did to autoscaling; `scaling.restore` is the next
    /// `restoreScaling`'s input, once the endpoint is InService.
    #[serde(default)]
    pub scaling: ScalingReport,
    /// Variants whose autoscaling a `restoreScaling` registered.
    #[serde(default)]
    pub restored: Vec<String>,
    /// CloudWatch alarms deleted with the variants a config switch removed (and of a
    /// variant left alone, no one's challenger any more).
    #[serde(default)]
    pub deleted_alarms: Vec<String>,
    /// CloudWatch alarms put on a shadow that graduated into a weighted challenger.
    #[serde(default)]
    pub alarms: Vec<String>,
    /// The verdict written to the Model Registry (a promoted or rolled-back variant
    /// deployed from a model package), if any.
    #[serde(default)]
    pub registry: Option<RegistryVerdict>,
    /// The experiment record an alarm rollback was written to (`s3://…`), if any.
    #[serde(default)]
    pub experiment_record: Option<String>,
}

fn in_service(endpoint: &EndpointDescription) -> Result<(), TaskError> {
    if endpoint.status == EndpointStatus::InService {
        Ok(())
    } else {
        Err(TaskError::EndpointNotReady(format!(
            "endpoint {} is {:?}; weights can change once it is InService",
            endpoint.name, endpoint.status
        )))
    }
}

fn known(endpoint: &EndpointDescription, name: &str) -> Result<(), TaskError> {
    if endpoint.variants.iter().any(|v| v.name == name) {
        Ok(())
    } else {
        Err(TaskError::InvalidInput(format!(
            "variant {name:?} is not on endpoint {} (variants: {})",
            endpoint.name,
            endpoint
                .variants
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// The services an action calls and the input it serves.
struct Ctx<'a> {
    sagemaker: &'a dyn SageMaker,
    autoscaling: &'a dyn Autoscaling,
    alarms: &'a dyn Alarms,
    registry: &'a dyn Registry,
    input: &'a ShiftWeightsInput,
}

/// Applies the action.
pub async fn shift_weights(
    ports: Ports<'_>,
    input: &ShiftWeightsInput,
) -> Result<ShiftWeightsOutput, TaskError> {
    validate(input)?;
    let (sagemaker, autoscaling) = (ports.sagemaker, ports.autoscaling);
    let ctx = &Ctx {
        sagemaker,
        autoscaling,
        alarms: ports.alarms,
        registry: ports.registry,
        input,
    };
    if let ShiftAction::DeleteAlarms { variant } = &input.action {
        return delete_alarms(ports.alarms, input, variant).await;
    }
    let endpoint = sagemaker
        .describe_endpoint(&input.endpoint_name)
        .await
        .map_err(port(format!("DescribeEndpoint {}", input.endpoint_name)))?;
    let current: BTreeMap<String, f64> = endpoint
        .variants
        .iter()
        .map(|v| (v.name.clone(), v.current_weight))
        .collect();
    let previous = normalise(&current)?;
    let mut out = ShiftWeightsOutput {
        endpoint_name: input.endpoint_name.clone(),
        previous_weights: previous.clone(),
        weights: previous.clone(),
        ..ShiftWeightsOutput::default()
    };
    let live = Live {
        endpoint: &endpoint,
        current: &current,
        previous: &previous,
    };
    match &input.action {
        ShiftAction::Set { weights } => set(ctx, &live, weights, &mut out).await?,
        ShiftAction::Step { target, step } => step_toward(ctx, &live, target, *step, &mut out).await?,
        ShiftAction::Promote { winner, .. } => promote(ctx, &live, winner, &mut out).await?,
        ShiftAction::Rollback { loser, remove, .. } => rollback(ctx, &live, loser, *remove, &mut out).await?,
        ShiftAction::Graduate {
            shadow,
            initial_share,
            promote,
            alarms,
            ..
        } => {
            let plan = Graduation {
                shadow,
                initial_share: *initial_share,
                promote: *promote,
                alarms: alarms.as_ref(),
            };
            graduate(ctx, &live, &plan, &mut out).await?
        }
        ShiftAction::RemoveShadow { shadow, .. } => remove_shadow(ctx, &live, shadow, &mut out).await?,
        ShiftAction::Cleanup {
            superseded_config,
            models,
        } => cleanup(ctx, &live, superseded_config, models, &mut out).await?,
        // Answered before the endpoint is read (it may be gone); here for completeness.
        ShiftAction::DeleteAlarms { variant } => {
            out.deleted_alarms =
                alarms::delete_for(ports.alarms, &input.endpoint_name, std::slice::from_ref(variant)).await?;
        }
        ShiftAction::RecordAlarmRollback {
            variant,
            alarm_name,
            reason,
            as_of,
        } => {
            known(&endpoint, variant)?;
            let what = interventions::AlarmRollback {
                variant,
                alarm: alarm_name,
                reason,
                at: as_of,
            };
            out.experiment_record =
                interventions::record_alarm_rollback(sagemaker, ports.s3, &endpoint, &what).await?;
        }
        ShiftAction::RestoreScaling { restore } => {
            in_service(&endpoint)?;
            out.restored = scaling::restore(autoscaling, &endpoint, restore).await?;
        }
    }
    Ok(out)
}

/// `deleteAlarms`: a variant's alarms, whatever the endpoint's state (it may be gone).
async fn delete_alarms(
    alarms: &dyn Alarms,
    input: &ShiftWeightsInput,
    variant: &str,
) -> Result<ShiftWeightsOutput, TaskError> {
    let deleted = alarms::delete_for(alarms, &input.endpoint_name, &[variant.to_string()]).await?;
    Ok(ShiftWeightsOutput {
        endpoint_name: input.endpoint_name.clone(),
        deleted_alarms: deleted,
        ..ShiftWeightsOutput::default()
    })
}

/// The endpoint as the action found it.
struct Live<'a> {
    endpoint: &'a EndpointDescription,
    /// Current weights as SageMaker reports them.
    current: &'a BTreeMap<String, f64>,
    /// The same, normalised.
    previous: &'a BTreeMap<String, f64>,
}

/// `set`: these weights for every variant.
async fn set(
    ctx: &Ctx<'_>,
    live: &Live<'_>,
    weights: &BTreeMap<String, f64>,
    out: &mut ShiftWeightsOutput,
) -> Result<(), TaskError> {
    let endpoint = live.endpoint;
    in_service(endpoint)?;
    for name in weights.keys() {
        known(endpoint, name)?;
    }
    if weights.len() != live.current.len() {
        return Err(TaskError::InvalidInput(format!(
            "set gives {} weights for {} variants; give every variant a weight",
            weights.len(),
            live.current.len()
        )));
    }
    out.weights = normalise(weights)?;
    apply_weights(ctx.sagemaker, &ctx.input.endpoint_name, &out.weights).await?;
    Ok(())
}

/// `step`: each share toward the target by at most `step`.
async fn step_toward(
    ctx: &Ctx<'_>,
    live: &Live<'_>,
    target: &BTreeMap<String, f64>,
    step: f64,
    out: &mut ShiftWeightsOutput,
) -> Result<(), TaskError> {
    let endpoint = live.endpoint;
    in_service(endpoint)?;
    if !(step > 0.0 && step <= 1.0) {
        return Err(TaskError::InvalidInput(format!("step {step} must be in (0, 1]")));
    }
    for name in target.keys() {
        known(endpoint, name)?;
    }
    let target = normalise(target)?;
    let stepped: BTreeMap<String, f64> = live
        .previous
        .iter()
        .map(|(k, &w)| {
            let t = target.get(k).copied().unwrap_or(0.0);
            (k.clone(), w + (t - w).clamp(-step, step))
        })
        .collect();
    out.weights = normalise(&stepped)?;
    apply_weights(ctx.sagemaker, &ctx.input.endpoint_name, &out.weights).await?;
    Ok(())
}

/// `promote`: a config with the winner alone, then UpdateEndpoint.
async fn promote(
    ctx: &Ctx<'_>,
    live: &Live<'_>,
    winner: &str,
    out: &mut ShiftWeightsOutput,
) -> Result<(), TaskError> {
    let endpoint = live.endpoint;
    in_service(endpoint)?;
    known(endpoint, winner)?;
    let keep = |v: &str| v == winner;
    replace_config(ctx, endpoint, keep, Load::TakeOver, out).await?;
    Ok(())
}

/// `rollback`: the loser to weight 0, or out of the endpoint with `remove`.
async fn rollback(
    ctx: &Ctx<'_>,
    live: &Live<'_>,
    loser: &str,
    remove: bool,
    out: &mut ShiftWeightsOutput,
) -> Result<(), TaskError> {
    let endpoint = live.endpoint;
    in_service(endpoint)?;
    known(endpoint, loser)?;
    if live.current.len() < 2 {
        return Err(TaskError::InvalidInput(format!(
            "{loser} is the endpoint's only variant; there is nothing to roll back to"
        )));
    }
    // Whether removed or set to 0, the others must be serving something already:
    // a rollback never hands all traffic to variants that had none.
    let mut weights = live.previous.clone();
    weights.insert(loser.to_string(), 0.0);
    let rest = normalise(&weights).map_err(|_| {
        TaskError::InvalidInput(format!(
            "{loser} holds all the traffic; promote another variant instead"
        ))
    })?;
    if remove {
        replace_config(ctx, endpoint, |v| v != loser, Load::Keep, out).await?;
    } else {
        let config = live_config(ctx.sagemaker, endpoint).await?;
        out.registry = record_verdict(ctx, &endpoint.name, config.variants.iter()).await?;
        out.weights = rest;
        apply_weights(ctx.sagemaker, &ctx.input.endpoint_name, &out.weights).await?;
    }
    Ok(())
}

/// The action's verdict written to the registry, looked up among `specs` (step 1 of a
/// change: before the endpoint changes, see [`crate::verdicts`]).
async fn record_verdict<'s>(
    ctx: &Ctx<'_>,
    endpoint: &str,
    specs: impl IntoIterator<Item = &'s VariantSpec>,
) -> Result<Option<RegistryVerdict>, TaskError> {
    let Some(verdict) = ctx.input.action.verdict() else {
        return Ok(None);
    };
    verdicts::write_back(
        ctx.sagemaker,
        ctx.registry,
        endpoint,
        specs,
        verdict,
        ctx.input.action.why(),
    )
    .await
}

/// `cleanup`: the superseded config and models, once the endpoint serves another config.
async fn cleanup(
    ctx: &Ctx<'_>,
    live: &Live<'_>,
    superseded_config: &str,
    models: &[String],
    out: &mut ShiftWeightsOutput,
) -> Result<(), TaskError> {
    let endpoint = live.endpoint;
    if endpoint.status != EndpointStatus::InService || endpoint.config_name == superseded_config {
        return Err(TaskError::EndpointNotReady(format!(
            "endpoint {} is {:?} on config {}; superseded resources are deleted only once it is InService on a new config",
            endpoint.name, endpoint.status, endpoint.config_name
        )));
    }
    let serving = ctx
        .sagemaker
        .describe_endpoint_config(&endpoint.config_name)
        .await
        .map_err(port(format!("DescribeEndpointConfig {}", endpoint.config_name)))?;
    for model in models {
        if serving
            .variants
            .iter()
            .chain(&serving.shadow_variants)
            .any(|v| v.model_name == *model)
        {
            return Err(TaskError::InvalidInput(format!(
                "model {model} is still used by the live config {}; not deleting it",
                serving.name
            )));
        }
    }
    tolerate_missing(
        ctx.sagemaker.delete_endpoint_config(superseded_config).await,
        &format!("DeleteEndpointConfig {superseded_config}"),
    )?;
    out.deleted.push(superseded_config.to_string());
    for model in models {
        tolerate_missing(
            ctx.sagemaker.delete_model(model).await,
            &format!("DeleteModel {model}"),
        )?;
        out.deleted.push(model.clone());
    }
    Ok(())
}

async fn apply_weights(
    sagemaker: &dyn SageMaker,
    endpoint: &str,
    weights: &BTreeMap<String, f64>,
) -> Result<(), TaskError> {
    sagemaker
        .update_endpoint_weights(endpoint, weights)
        .await
        .map_err(port(format!("UpdateEndpointWeightsAndCapacities {endpoint}")))
}

/// Whether the variants a switch keeps take over the removed ones' load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    /// They keep their own counts (a loser removed: it served little).
    Keep,
    /// Each gets at least the largest removed variant's count (a promotion: the winner
    /// serves everything from the moment the update completes).
    TakeOver,
}

fn take_over_capacity(kept: &mut [VariantSpec], retired: &[VariantSpec]) {
    let load = retired
        .iter()
        .map(|v| v.initial_instance_count)
        .max()
        .unwrap_or(1);
    for v in kept {
        v.initial_instance_count = v.initial_instance_count.max(load);
    }
}

/// A new config with the variants `keep` accepts (weights renormalised, the shadow
/// kept), then UpdateEndpoint.
async fn replace_config(
    ctx: &Ctx<'_>,
    endpoint: &EndpointDescription,
    keep: impl Fn(&str) -> bool,
    load: Load,
    out: &mut ShiftWeightsOutput,
) -> Result<(), TaskError> {
    let mut next = live_config(ctx.sagemaker, endpoint).await?;
    let (mut kept, retired): (Vec<_>, Vec<_>) = std::mem::take(&mut next.variants)
        .into_iter()
        .partition(|v| keep(&v.name));
    if load == Load::TakeOver {
        take_over_capacity(&mut kept, &retired);
    }
    next.variants = kept;
    switch_config(ctx, endpoint, next, &retired, out).await
}

/// Creates `next` (named after the execution and its variants; weights renormalised),
/// carries autoscaling through ([`scaling`]), moves the endpoint to it, and reports the
/// models of `retired` it no longer uses.
async fn switch_config(
    ctx: &Ctx<'_>,
    endpoint: &EndpointDescription,
    mut next: EndpointConfig,
    retired: &[VariantSpec],
    out: &mut ShiftWeightsOutput,
) -> Result<(), TaskError> {
    let execution_name = &ctx.input.execution_name;
    if execution_name.trim().is_empty() {
        return Err(TaskError::InvalidInput(
            "executionName is empty; promote, graduate and the removals name a new config after it".into(),
        ));
    }
    renormalise(&mut next.variants);
    let fingerprint = serde_json::to_string(&(&next.variants, &next.shadow_variants))
        .map_err(crate::error::unserialisable)?;
    next.name = readable_unique(&endpoint.name, &[execution_name, &fingerprint], 63, false);
    let plan = scaling::plan(ctx.autoscaling, endpoint, &next, None).await?;
    tolerate_existing(
        ctx.sagemaker.create_endpoint_config(&next).await,
        &format!("CreateEndpointConfig {}", next.name),
    )?;
    out.scaling = scaling::before_update(ctx.autoscaling, &endpoint.name, &plan).await?;
    let specs = next.variants.iter().chain(&next.shadow_variants).chain(retired);
    out.registry = record_verdict(ctx, &endpoint.name, specs).await?;
    if endpoint.config_name == next.name {
        // A re-run after the update went through: nothing left to change.
        report_switch(endpoint, next, retired, out);
        return Ok(());
    }
    let update = EndpointUpdate {
        name: &endpoint.name,
        config_name: &next.name,
        deployment_config: None,
        retain_instance_counts: keeps_live_counts(endpoint, &next),
    };
    ctx.sagemaker
        .update_endpoint(&update)
        .await
        .map_err(port(format!("UpdateEndpoint {}", endpoint.name)))?;
    out.deleted_alarms = alarms::delete_for(ctx.alarms, &endpoint.name, &unwatched(endpoint, &next)).await?;
    report_switch(endpoint, next, retired, out);
    Ok(())
}

/// The variants whose challenger alarms go with this switch: the ones it removes, and a
/// production variant left alone (nobody's challenger any more).
fn unwatched(endpoint: &EndpointDescription, next: &EndpointConfig) -> Vec<String> {
    let kept = |name: &str| {
        next.variants
            .iter()
            .chain(&next.shadow_variants)
            .any(|v| v.name == name)
    };
    let mut gone: Vec<String> = endpoint
        .variants
        .iter()
        .chain(&endpoint.shadow_variants)
        .filter(|v| !kept(&v.name))
        .map(|v| v.name.clone())
        .collect();
    if let [alone] = next.variants.as_slice() {
        gone.push(alone.name.clone());
    }
    gone
}

/// Weights as shares summing to 1 (equal shares when they sum to nothing).
fn renormalise(variants: &mut [VariantSpec]) {
    let total: f64 = variants.iter().map(|v| v.initial_weight).sum();
    let count = variants.len() as f64;
    for v in variants {
        v.initial_weight = if total > 0.0 {
            v.initial_weight / total
        } else {
            1.0 / count
        };
    }
}

/// Whether UpdateEndpoint should retain the live instance counts: yes, unless the new
/// config deliberately sizes a kept variant otherwise (a promoted winner that takes the
/// champion's load) — then every count comes from the config, which carries the live
/// counts of the rest.
fn keeps_live_counts(endpoint: &EndpointDescription, next: &EndpointConfig) -> bool {
    // A graduating shadow is matched by name too: retention may apply to it.
    next.variants.iter().all(|v| {
        endpoint
            .variants
            .iter()
            .chain(&endpoint.shadow_variants)
            .find(|live| live.name == v.name)
            .is_none_or(|live| live.current_instance_count == v.initial_instance_count)
    })
}

/// The output of a config switch: the new weights and config, and the retired models.
fn report_switch(
    endpoint: &EndpointDescription,
    next: EndpointConfig,
    retired: &[VariantSpec],
    out: &mut ShiftWeightsOutput,
) {
    let in_use = |m: &str| {
        next.variants
            .iter()
            .chain(&next.shadow_variants)
            .any(|k| k.model_name == m)
    };
    out.retired_models = retired
        .iter()
        .map(|v| v.model_name.clone())
        .filter(|m| !in_use(m))
        .collect();
    out.weights = next
        .variants
        .iter()
        .map(|v| (v.name.clone(), v.initial_weight))
        .collect();
    out.superseded_config = (endpoint.config_name != next.name).then(|| endpoint.config_name.clone());
    out.new_config = Some(next.name);
}

/// How a shadow graduates.
struct Graduation<'a> {
    shadow: &'a str,
    initial_share: f64,
    promote: bool,
    alarms: Option<&'a AlarmSettings>,
}

/// `graduate`: the shadow becomes a production variant — beside the production variant
/// at `initialShare`, or alone with `promote`.
async fn graduate(
    ctx: &Ctx<'_>,
    live: &Live<'_>,
    plan: &Graduation<'_>,
    out: &mut ShiftWeightsOutput,
) -> Result<(), TaskError> {
    let endpoint = live.endpoint;
    in_service(endpoint)?;
    known_shadow(endpoint, plan.shadow)?;
    let config = live_config(ctx.sagemaker, endpoint).await?;
    let (mut shadow, others): (Vec<_>, Vec<_>) = config
        .shadow_variants
        .iter()
        .cloned()
        .partition(|v| v.name == plan.shadow);
    let Some(mut graduate) = shadow.pop() else {
        return Err(not_a_shadow(endpoint, plan.shadow));
    };
    let (variants, retired) = if plan.promote {
        graduate.initial_weight = 1.0;
        let mut alone = vec![graduate];
        take_over_capacity(&mut alone, &config.variants);
        (alone, config.variants.clone())
    } else {
        let production: f64 = config.variants.iter().map(|v| v.initial_weight).sum();
        graduate.initial_weight = weight_for_share(plan.initial_share, production);
        // Watched from its first routed request, as a deployed challenger is.
        if let (Some(settings), Some(champion)) = (plan.alarms, heaviest(&config.variants)) {
            let specs = alarms::challenger_alarms(&endpoint.name, plan.shadow, champion, settings);
            out.alarms = alarms::put_all(ctx.alarms, &specs).await?;
        }
        let mut variants = config.variants.clone();
        variants.push(graduate);
        (variants, Vec::new())
    };
    let next = EndpointConfig {
        variants,
        shadow_variants: others,
        ..config
    };
    switch_config(ctx, endpoint, next, &retired, out).await
}

/// `removeShadow`: a config without the shadow variant.
async fn remove_shadow(
    ctx: &Ctx<'_>,
    live: &Live<'_>,
    shadow: &str,
    out: &mut ShiftWeightsOutput,
) -> Result<(), TaskError> {
    let endpoint = live.endpoint;
    in_service(endpoint)?;
    known_shadow(endpoint, shadow)?;
    let config = live_config(ctx.sagemaker, endpoint).await?;
    let (removed, kept): (Vec<_>, Vec<_>) = config
        .shadow_variants
        .iter()
        .cloned()
        .partition(|v| v.name == shadow);
    let next = EndpointConfig {
        shadow_variants: kept,
        ..config
    };
    switch_config(ctx, endpoint, next, &removed, out).await
}

/// The production variant with the most weight (the champion a challenger is held to).
fn heaviest(variants: &[VariantSpec]) -> Option<&str> {
    variants
        .iter()
        .max_by(|a, b| a.initial_weight.total_cmp(&b.initial_weight))
        .map(|v| v.name.as_str())
}

/// The endpoint has this shadow variant.
fn known_shadow(endpoint: &EndpointDescription, name: &str) -> Result<(), TaskError> {
    if endpoint.shadow_variants.iter().any(|v| v.name == name) {
        Ok(())
    } else {
        Err(not_a_shadow(endpoint, name))
    }
}

fn not_a_shadow(endpoint: &EndpointDescription, name: &str) -> TaskError {
    let shadows: Vec<&str> = endpoint.shadow_variants.iter().map(|v| v.name.as_str()).collect();
    TaskError::InvalidInput(format!(
        "{name:?} is not a shadow variant of endpoint {} (shadow variants: {})",
        endpoint.name,
        if shadows.is_empty() {
            "none".to_string()
        } else {
            shadows.join(", ")
        }
    ))
}
