//! **deploy**: CreateModel → a new endpoint config → CreateEndpoint, or UpdateEndpoint
//! that keeps the live variants (at their current weights) and adds the candidate as a
//! challenger at a configured share of the traffic — or, with `mode: shadow`, as the
//! endpoint's **shadow variant**: it answers a mirrored copy of `shadowSamplingPercentage`
//! of the production variant's requests, its responses captured and never returned.
//! With `mode: replace` the candidate takes the place of an existing variant's model
//! under the same name — the one update SageMaker's deployment guardrails apply to, so
//! the one a `deploymentConfig` (blue/green canary or linear, rolling, auto-rollback
//! alarms) is accepted for ([`crate::guardrails`] refuses it for any other).
//!
//! Autoscaling is carried through ([`crate::scaling`]): the new config gives every live
//! variant its live instance count and UpdateEndpoint retains it, and with
//! `copyScalingToChallenger` the challenger gets the champion's scalable target and
//! policies once the endpoint is InService (the output's `scaling.restore`).
//!
//! SageMaker's rules for a shadow, checked before anything is created: at most one shadow
//! variant per endpoint, and then exactly one production variant; not on a multi-model
//! endpoint; the shadow's `InitialVariantWeight` over the production variant's is the
//! share of requests mirrored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alarms::{self, AlarmSettings};
use crate::endpoint::{live_config, weight_for_share};
use crate::error::{port, tolerate_existing};
use crate::functions::Ports;
use crate::guardrails::{self, UpdateKind};
use crate::image_uris::{builtin_image, ImageScope};
use crate::names::readable_unique;
use crate::ports::{
    DataCapture, EndpointConfig, EndpointDescription, EndpointStatus, EndpointUpdate, ModelRequest,
    PortError, SageMaker, VariantSpec,
};
use crate::scaling::{self, ScalingReport};
use crate::{validation, TaskError};

/// The most production variants one endpoint may have (an API limit).
pub const MAX_VARIANTS: usize = 10;

/// The serving container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
pub enum ServingImage {
    /// A built-in algorithm's inference image, resolved for the region.
    Builtin {
        /// Its name (`linear-learner`, `xgboost`, …).
        name: String,
        /// Its version (`1`, `1.7-1`; default `latest`).
        #[serde(default = "latest")]
        version: String,
    },
    /// Any inference image.
    Image {
        /// The image's ECR URI.
        uri: String,
    },
}

fn latest() -> String {
    "latest".into()
}

/// The task's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployInput {
    /// `$$.Execution.Name`: model and config names derive from it.
    pub execution_name: String,
    /// The endpoint to create, or to add the candidate to.
    pub endpoint_name: String,
    /// The new variant's name (unique on the endpoint); in `replace` mode, the existing
    /// production variant whose model the candidate replaces.
    pub variant_name: String,
    /// The serving container.
    pub image: ServingImage,
    /// `s3://…/model.tar.gz` (the training job's `ModelArtifacts`); the prefix for `multiModel`.
    pub model_data_url: String,
    /// The SageMaker execution role (an IAM role ARN).
    pub role_arn: String,
    /// `Mode: MultiModel` container (a multi-model endpoint).
    #[serde(default)]
    pub multi_model: bool,
    /// Environment variables of the container (at most 100).
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// The new variant's instance type (default `ml.m5.large`). `replace` keeps the
    /// replaced variant's type and refuses another (a retype is not a model swap).
    #[serde(default)]
    pub instance_type: Option<String>,
    /// Instances behind a new variant (default 1; `replace` keeps the live count).
    #[serde(default = "one")]
    pub initial_instance_count: i32,
    /// The challenger's share of traffic when added to a live endpoint (0 < share < 1).
    #[serde(default = "share")]
    pub initial_share: f64,
    /// SageMaker's `DeploymentConfig` for UpdateEndpoint (`BlueGreenUpdatePolicy` or
    /// `RollingUpdatePolicy`, `AutoRollbackConfiguration`), checked against the update:
    /// only `replace` keeps the variant names, which guardrails require; any other
    /// update is refused with `Weighbridge.InvalidInput` rather than silently unguarded.
    #[serde(default)]
    pub deployment_config: Option<Value>,
    /// Give a new weighted challenger a copy of the champion's autoscaling (scalable
    /// target and policies) once the endpoint is InService (default false: the
    /// challenger runs its `initialInstanceCount` until it wins, and a promotion moves
    /// the champion's scaling to it).
    #[serde(default)]
    pub copy_scaling_to_challenger: bool,
    /// CloudWatch alarms on a weighted challenger (5xx rate, p99 latency against the
    /// champion's, optionally a metric of yours), put before the endpoint routes to it;
    /// in ALARM, EventBridge starts the alarm-rollback workflow. Absent: none.
    #[serde(default)]
    pub alarms: Option<AlarmSettings>,
    /// Data Capture for the new config (the live A/B evidence). Absent: a live endpoint
    /// keeps the capture it has, a new one captures nothing.
    #[serde(default)]
    pub data_capture: Option<CaptureInput>,
    /// `weighted` (default): the candidate joins as a production variant at
    /// `initialShare`. `shadow`: it joins as the endpoint's shadow variant and serves no
    /// one until it graduates (the endpoint must have exactly one production variant, no
    /// shadow, and Data Capture on — the captures are its evidence). The first model has
    /// nothing to shadow and creates the endpoint in either mode.
    #[serde(default)]
    pub mode: DeployMode,
    /// The Model Registry's package this candidate is (the gate's `modelPackageArn`, or an
    /// approved package): the model is tagged with it, so a promotion or rollback of the
    /// variant writes its verdict back to the registry. Absent or null: no registry.
    #[serde(default)]
    pub model_package_arn: Option<String>,
    /// `shadow` mode: the percentage of the production variant's requests mirrored to the
    /// shadow, 1 to 100 (default 100: the most paired evidence per hour; lower it when the
    /// shadow's instances cannot take the whole load).
    #[serde(default = "all_requests")]
    pub shadow_sampling_percentage: u32,
}

/// How the candidate joins a live endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeployMode {
    /// As a production variant with a share of the traffic (an A/B challenger).
    #[default]
    Weighted,
    /// As the shadow variant: mirrored requests, responses captured, never returned.
    Shadow,
    /// In place of an existing production variant's model, under the same name, at its
    /// weight, type and count: a blue/green update that `deploymentConfig` can guard.
    Replace,
}

impl DeployMode {
    fn name(self) -> &'static str {
        match self {
            Self::Weighted => "weighted",
            Self::Shadow => "shadow",
            Self::Replace => "replace",
        }
    }
}

/// Data Capture as the input asks for it (`DataCaptureConfig` with SageMaker's limits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaptureInput {
    /// `s3://bucket/prefix` for the captures (at most 512 characters).
    pub destination_s3_uri: String,
    /// Percentage of requests captured, 0 to 100 (default 100: every request is
    /// evidence; lower it on endpoints with heavy traffic to save storage).
    #[serde(default = "all_requests")]
    pub sampling_percentage: u32,
    /// Capture request bodies as well as responses (default true; the evaluator reads
    /// only responses, so false halves the storage).
    #[serde(default = "yes")]
    pub capture_input: bool,
    /// KMS key for the captures at rest; empty or absent: S3's default encryption.
    #[serde(default)]
    pub kms_key_id: Option<String>,
}

fn all_requests() -> u32 {
    100
}
fn yes() -> bool {
    true
}

impl CaptureInput {
    /// Checked against `DataCaptureConfig`'s limits.
    fn validate(&self) -> Result<(), TaskError> {
        validation::s3_uri("dataCapture.destinationS3Uri", &self.destination_s3_uri)?;
        if self.destination_s3_uri.len() > 512 {
            return Err(TaskError::InvalidInput(
                "dataCapture.destinationS3Uri is longer than DataCaptureConfig's 512 characters".into(),
            ));
        }
        validation::bounded(
            "dataCapture.samplingPercentage",
            self.sampling_percentage as usize,
            0..=100,
        )?;
        if let Some(key) = self
            .kms_key()
            .filter(|k| k.len() > 2048 || !k.chars().all(|c| c.is_ascii_alphanumeric() || ":/_-".contains(c)))
        {
            return Err(TaskError::InvalidInput(format!(
                "dataCapture.kmsKeyId {} is not a KMS key ID, ARN or alias",
                validation::shown(key)
            )));
        }
        Ok(())
    }

    fn kms_key(&self) -> Option<&str> {
        self.kms_key_id.as_deref().filter(|k| !k.is_empty())
    }

    /// The port's Data Capture: CSV and JSON bodies captured as text, so the evaluator
    /// (and a person) can read them without decoding base64.
    fn to_port(&self) -> DataCapture {
        DataCapture {
            destination_s3_uri: self.destination_s3_uri.trim_end_matches('/').to_string(),
            sampling_percentage: self.sampling_percentage,
            capture_input: self.capture_input,
            kms_key_id: self.kms_key().map(str::to_string),
            csv_content_types: vec!["text/csv".into()],
            json_content_types: vec!["application/json".into(), "application/jsonlines".into()],
        }
    }
}

/// The default instance type of a new variant.
const DEFAULT_INSTANCE_TYPE: &str = "ml.m5.large";

fn one() -> i32 {
    1
}
fn share() -> f64 {
    0.1
}

/// The task's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployOutput {
    /// The endpoint.
    pub endpoint_name: String,
    /// `created` (a new endpoint), `updated` (a challenger added), `shadowed` (the
    /// candidate added as the shadow variant) or `replaced` (a variant's model swapped).
    pub action: String,
    /// The SageMaker model created for the candidate.
    pub model_name: String,
    /// The endpoint config created (the endpoint moves to it).
    pub new_config: String,
    /// The config the endpoint ran before; delete it only after InService on the new one.
    pub superseded_config: Option<String>,
    /// Initial weights in the new config (production variants).
    pub weights: BTreeMap<String, f64>,
    /// The shadow variant the candidate became, in `shadow` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_variant: Option<String>,
    /// What the update did to autoscaling; `scaling.restore` is applied by shift-weights
    /// `restoreScaling` once the endpoint is InService.
    #[serde(default)]
    pub scaling: ScalingReport,
    /// How many of the workflow's 30-second polls the change may take: an hour, or a
    /// guarded update's `MaximumExecutionTimeoutInSeconds` plus ten minutes.
    pub endpoint_polls: i64,
    /// The CloudWatch alarms put on the challenger (with `alarms`); the workflow deletes
    /// them if the change fails, a config switch when the variant goes.
    #[serde(default)]
    pub alarms: Vec<String>,
    /// The registry's package the model was tagged with (lineage), or null.
    #[serde(default)]
    pub model_package_arn: Option<String>,
}

/// Polls of 30 seconds the workflow allows an unguarded create or update (an hour).
const DEFAULT_POLLS: i64 = 120;

fn validate(input: &DeployInput) -> Result<(), TaskError> {
    validation::execution_name("executionName", &input.execution_name)?;
    validation::sagemaker_name("endpointName", &input.endpoint_name)?;
    validation::sagemaker_name("variantName", &input.variant_name)?;
    validation::role_arn("roleArn", &input.role_arn)?;
    if let Some(instance_type) = &input.instance_type {
        validation::instance_type("instanceType", instance_type)?;
    }
    if input.multi_model {
        validation::s3_uri("modelDataUrl", &input.model_data_url)?;
    } else {
        validation::s3_object_uri("modelDataUrl", &input.model_data_url)?;
    }
    if input.environment.len() > 100
        || input
            .environment
            .iter()
            .any(|(k, v)| k.is_empty() || k.len() > 1024 || v.len() > 1024)
    {
        return Err(TaskError::InvalidInput(
            "environment: SageMaker takes at most 100 variables, names of 1 to 1024 characters, values up to 1024".into(),
        ));
    }
    if !(input.initial_share > 0.0 && input.initial_share < 1.0) {
        return Err(TaskError::InvalidInput(format!(
            "initialShare {} must be between 0 and 1 (e.g. 0.1 for 10% of the traffic)",
            input.initial_share
        )));
    }
    if input.initial_instance_count < 1 {
        return Err(TaskError::InvalidInput("initialInstanceCount must be ≥ 1".into()));
    }
    if let Some(capture) = &input.data_capture {
        capture.validate()?;
    }
    if let Some(alarms) = &input.alarms {
        alarms.validate()?;
    }
    if let Some(arn) = &input.model_package_arn {
        validation::model_package_arn("modelPackageArn", arn)?;
    }
    if input.mode == DeployMode::Shadow {
        validation::bounded(
            "shadowSamplingPercentage",
            input.shadow_sampling_percentage as usize,
            1..=100,
        )?;
        if input.multi_model {
            return Err(TaskError::InvalidInput(
                "mode shadow: SageMaker does not shadow multi-model endpoints; deploy weighted or compare targetModels on a test set".into(),
            ));
        }
    }
    Ok(())
}

/// Deploys the candidate: a new endpoint, a challenger (or shadow) on a live one, or a
/// variant's model replaced.
pub async fn deploy(ports: Ports<'_>, region: &str, input: &DeployInput) -> Result<DeployOutput, TaskError> {
    let (sagemaker, autoscaling) = (ports.sagemaker, ports.autoscaling);
    validate(input)?;
    let image = serving_image(input, region)?;
    let model_name = readable_unique(
        &format!("{}-{}", input.endpoint_name, input.variant_name),
        &[&input.execution_name, &input.variant_name, &input.model_data_url],
        63,
        false,
    );
    // Read everything and validate against it before the first mutating call.
    let live = describe_if_any(sagemaker, &input.endpoint_name).await?;
    let target = plan_target(sagemaker, input, &model_name, live.as_ref()).await?;
    let scaling_plan = match &live {
        Some(endpoint) => {
            let copy_to = (input.copy_scaling_to_challenger && input.mode == DeployMode::Weighted)
                .then_some(input.variant_name.as_str());
            Some(scaling::plan(autoscaling, endpoint, &target.config, copy_to).await?)
        }
        None => None,
    };
    create_model(sagemaker, input, &model_name, image).await?;
    tolerate_existing(
        sagemaker.create_endpoint_config(&target.config).await,
        &format!("CreateEndpointConfig {}", target.config.name),
    )?;
    let scaling = match &scaling_plan {
        Some(plan) => scaling::before_update(autoscaling, &input.endpoint_name, plan).await?,
        None => ScalingReport::default(),
    };
    // Watched from its first request: the alarms go up before the endpoint routes to it.
    let alarm_names = match (&input.alarms, &live) {
        (Some(settings), Some(endpoint)) if input.mode == DeployMode::Weighted => {
            let champion = champion_of(endpoint);
            let specs =
                alarms::challenger_alarms(&input.endpoint_name, &input.variant_name, champion, settings);
            alarms::put_all(ports.alarms, &specs).await?
        }
        _ => Vec::new(),
    };
    let action = create_or_update(sagemaker, input, &target.config.name, live.is_none()).await?;
    tracing::info!(endpoint = %input.endpoint_name, action, config = %target.config.name, "deployed");
    let mut output = target.output(input, action, model_name, scaling);
    output.alarms = alarm_names;
    Ok(output)
}

/// The production variant with the most traffic: the champion a challenger is held to.
fn champion_of(endpoint: &EndpointDescription) -> &str {
    endpoint
        .variants
        .iter()
        .max_by(|a, b| a.current_weight.total_cmp(&b.current_weight))
        .map_or("", |v| v.name.as_str())
}

/// The config the endpoint moves to, and what the output reports about it.
struct Target {
    config: EndpointConfig,
    superseded: Option<String>,
    endpoint_polls: i64,
}

impl Target {
    fn output(
        self,
        input: &DeployInput,
        action: &str,
        model_name: String,
        scaling: ScalingReport,
    ) -> DeployOutput {
        let variants = &self.config.variants;
        let total: f64 = variants.iter().map(|v| v.initial_weight).sum();
        let shadow_variant = self.config.shadow_variants.first().map(|v| v.name.clone());
        let action = match input.mode {
            DeployMode::Shadow if action == "updated" => "shadowed",
            DeployMode::Replace if action == "updated" => "replaced",
            _ => action,
        };
        DeployOutput {
            endpoint_name: input.endpoint_name.clone(),
            action: action.into(),
            model_name,
            new_config: self.config.name.clone(),
            superseded_config: self.superseded,
            weights: variants
                .iter()
                .map(|v| (v.name.clone(), v.initial_weight / total))
                .collect(),
            shadow_variant: shadow_variant.filter(|_| input.mode == DeployMode::Shadow),
            scaling,
            endpoint_polls: self.endpoint_polls,
            alarms: Vec::new(),
            model_package_arn: input.model_package_arn.clone(),
        }
    }
}

/// The new config — its variants, capture and deterministic name — checked against
/// SageMaker's rules for shadows and guardrails.
async fn plan_target(
    sagemaker: &dyn SageMaker,
    input: &DeployInput,
    model_name: &str,
    live: Option<&EndpointDescription>,
) -> Result<Target, TaskError> {
    let Planned {
        variants,
        shadows,
        superseded,
        capture: live_capture,
    } = plan_variants(sagemaker, input, model_name, live).await?;
    let data_capture = input
        .data_capture
        .as_ref()
        .map(CaptureInput::to_port)
        .or(live_capture);
    if input.mode == DeployMode::Shadow && !shadows.is_empty() && data_capture.is_none() {
        return Err(TaskError::InvalidInput(format!(
            "mode shadow: endpoint {} does not capture, and a shadow's evidence is its captured responses; set dataCapture",
            input.endpoint_name
        )));
    }
    let endpoint_polls = match &input.deployment_config {
        Some(config) => {
            let kind = update_kind(input, live, &variants);
            let timeout = guardrails::check(config, &kind)?;
            ((timeout + 600) / 30).max(DEFAULT_POLLS)
        }
        None => DEFAULT_POLLS,
    };
    let fingerprint = serde_json::to_string(&(&variants, &shadows)).map_err(crate::error::unserialisable)?;
    let name = readable_unique(
        &input.endpoint_name,
        &[&input.execution_name, &fingerprint],
        63,
        false,
    );
    Ok(Target {
        config: EndpointConfig {
            name,
            variants,
            shadow_variants: shadows,
            data_capture,
        },
        superseded,
        endpoint_polls,
    })
}

/// What kind of change the deploy makes, as guardrails see it.
fn update_kind<'a>(
    input: &'a DeployInput,
    live: Option<&EndpointDescription>,
    variants: &'a [VariantSpec],
) -> UpdateKind<'a> {
    match (live, input.mode) {
        (None, _) => UpdateKind::Create,
        (Some(endpoint), DeployMode::Replace) => UpdateKind::SameVariants {
            variant_count: endpoint.variants.len(),
            instance_types: variants.iter().map(|v| v.instance_type.as_str()).collect(),
        },
        (Some(_), mode) => UpdateKind::VariantsChange {
            added: &input.variant_name,
            mode: mode.name(),
        },
    }
}

/// The serving image: a built-in algorithm's for the region, or the one given.
fn serving_image(input: &DeployInput, region: &str) -> Result<String, TaskError> {
    match &input.image {
        ServingImage::Builtin { name, version } => {
            builtin_image(name, version, region, ImageScope::Inference)
        }
        ServingImage::Image { uri } => Ok(uri.clone()),
    }
}

/// DescribeEndpoint, or `None` when there is no endpoint of that name yet.
async fn describe_if_any(
    sagemaker: &dyn SageMaker,
    name: &str,
) -> Result<Option<EndpointDescription>, TaskError> {
    match sagemaker.describe_endpoint(name).await {
        Ok(d) => Ok(Some(d)),
        Err(PortError::NotFound(_)) => Ok(None),
        Err(e) => Err(port(format!("DescribeEndpoint {name}"))(e)),
    }
}

/// The new config's variants and what it replaces.
struct Planned {
    /// Production variants.
    variants: Vec<VariantSpec>,
    /// The shadow variant (`shadow` mode), else empty.
    shadows: Vec<VariantSpec>,
    /// The config the new one supersedes.
    superseded: Option<String>,
    /// That config's Data Capture (kept unless the input sets another).
    capture: Option<DataCapture>,
}

/// The new config's variants — the candidate alone for a new endpoint; the live
/// variants plus the candidate at `initialShare`; or, in `shadow` mode, the production
/// variant with the candidate as its shadow.
async fn plan_variants(
    sagemaker: &dyn SageMaker,
    input: &DeployInput,
    model_name: &str,
    live: Option<&EndpointDescription>,
) -> Result<Planned, TaskError> {
    let candidate = |weight: f64| VariantSpec {
        name: input.variant_name.clone(),
        model_name: model_name.to_string(),
        instance_type: input
            .instance_type
            .clone()
            .unwrap_or_else(|| DEFAULT_INSTANCE_TYPE.to_string()),
        initial_instance_count: input.initial_instance_count,
        initial_weight: weight,
    };
    // The first model has nothing to shadow: it creates the endpoint in either mode.
    let Some(endpoint) = live else {
        return Ok(Planned {
            variants: vec![candidate(1.0)],
            shadows: Vec::new(),
            superseded: None,
            capture: None,
        });
    };
    check_room_for_challenger(input, endpoint)?;
    let live = live_config(sagemaker, endpoint).await?;
    let mut variants = live.variants;
    let total: f64 = variants.iter().map(|v| v.initial_weight).sum();
    let mut shadows = live.shadow_variants;
    if input.mode == DeployMode::Replace {
        replace_model(input, endpoint, &mut variants, model_name)?;
    } else if input.mode == DeployMode::Shadow {
        // The shadow's weight over the production variant's is the share mirrored.
        let production = if total > 0.0 { total } else { 1.0 };
        shadows.push(candidate(
            production * f64::from(input.shadow_sampling_percentage) / 100.0,
        ));
    } else {
        variants.push(candidate(weight_for_share(input.initial_share, total)));
    }
    Ok(Planned {
        variants,
        shadows,
        superseded: Some(endpoint.config_name.clone()),
        capture: live.data_capture,
    })
}

/// `replace`: the named production variant serves the candidate's model, at its own
/// weight, type and count.
fn replace_model(
    input: &DeployInput,
    endpoint: &EndpointDescription,
    variants: &mut [VariantSpec],
    model_name: &str,
) -> Result<(), TaskError> {
    let names: Vec<String> = variants.iter().map(|v| v.name.clone()).collect();
    let Some(slot) = variants.iter_mut().find(|v| v.name == input.variant_name) else {
        return Err(TaskError::InvalidInput(format!(
            "mode replace: endpoint {} has no production variant {:?} (it has {}); name the variant whose model the candidate replaces",
            endpoint.name,
            input.variant_name,
            names.join(", ")
        )));
    };
    if let Some(asked) = input.instance_type.as_ref().filter(|t| **t != slot.instance_type) {
        return Err(TaskError::InvalidInput(format!(
            "mode replace keeps variant {} on {}; instanceType {asked} would change its instance type, which is not a model swap (deploy a new variant instead)",
            slot.name, slot.instance_type
        )));
    }
    slot.model_name = model_name.to_string();
    Ok(())
}

/// A challenger joins an InService endpoint, under a new name, within the variant limit;
/// a shadow joins an endpoint with exactly one production variant and no shadow; a
/// weighted challenger never joins an endpoint that has a shadow.
fn check_room_for_challenger(input: &DeployInput, endpoint: &EndpointDescription) -> Result<(), TaskError> {
    if endpoint.status != EndpointStatus::InService {
        return Err(TaskError::EndpointNotReady(format!(
            "endpoint {} is {:?}; a challenger can be added once it is InService",
            endpoint.name, endpoint.status
        )));
    }
    let names = || {
        endpoint
            .variants
            .iter()
            .chain(&endpoint.shadow_variants)
            .map(|v| v.name.as_str())
    };
    if input.mode == DeployMode::Replace {
        return Ok(());
    }
    if names().any(|v| v == input.variant_name) {
        return Err(TaskError::InvalidInput(format!(
            "endpoint {} already has a variant {:?}; choose a new variantName",
            endpoint.name, input.variant_name
        )));
    }
    if let Some(shadow) = endpoint.shadow_variants.first() {
        return Err(TaskError::InvalidInput(format!(
            "endpoint {} has the shadow variant {:?}; SageMaker allows one shadow and then one production variant: graduate or remove it first",
            endpoint.name, shadow.name
        )));
    }
    if input.mode == DeployMode::Shadow && endpoint.variants.len() != 1 {
        return Err(TaskError::InvalidInput(format!(
            "mode shadow: an endpoint with a shadow variant has exactly one production variant, and {} has {} ({}); finish its A/B first",
            endpoint.name,
            endpoint.variants.len(),
            names().collect::<Vec<_>>().join(", ")
        )));
    }
    if endpoint.variants.len() >= MAX_VARIANTS {
        return Err(TaskError::InvalidInput(format!(
            "endpoint {} has {} variants, the most SageMaker allows; promote or roll back first",
            endpoint.name,
            endpoint.variants.len()
        )));
    }
    Ok(())
}

/// CreateModel (a retry that finds its own model succeeds).
async fn create_model(
    sagemaker: &dyn SageMaker,
    input: &DeployInput,
    model_name: &str,
    image: String,
) -> Result<(), TaskError> {
    let model = ModelRequest {
        name: model_name.to_string(),
        image,
        model_data_url: Some(input.model_data_url.clone()),
        role_arn: input.role_arn.clone(),
        multi_model: input.multi_model,
        environment: input.environment.clone(),
        tags: crate::registration::lineage_tags(input.model_package_arn.as_deref()),
    };
    tolerate_existing(
        sagemaker.create_model(&model).await,
        &format!("CreateModel {model_name}"),
    )
}

/// CreateEndpoint for a new endpoint, UpdateEndpoint (with the deployment config) for a
/// live one; answers `created` or `updated`.
async fn create_or_update(
    sagemaker: &dyn SageMaker,
    input: &DeployInput,
    new_config: &str,
    new_endpoint: bool,
) -> Result<&'static str, TaskError> {
    if new_endpoint {
        sagemaker
            .create_endpoint(&input.endpoint_name, new_config)
            .await
            .map_err(port(format!("CreateEndpoint {}", input.endpoint_name)))?;
        return Ok("created");
    }
    let update = EndpointUpdate {
        name: &input.endpoint_name,
        config_name: new_config,
        deployment_config: input.deployment_config.as_ref(),
        retain_instance_counts: true,
    };
    sagemaker
        .update_endpoint(&update)
        .await
        .map_err(port(format!("UpdateEndpoint {}", input.endpoint_name)))?;
    Ok("updated")
}
