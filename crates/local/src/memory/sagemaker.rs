//! SageMaker's control plane: training jobs (trained for real when they complete),
//! models, endpoint configs and endpoints, with statuses on the virtual clock
//! ([`MemoryBackend::tick`]) and SageMaker's validation errors.

use super::*;

impl MemoryBackend {
    /// The next training job fails with this FailureReason (as a job with bad data does).
    pub fn fail_next_training_job(&self, reason: &str) {
        self.with(|s| s.fail_training.push(reason.to_string()));
    }

    /// The next endpoint create fails (status Failed), or the next update is rolled back
    /// (InService on the previous config, with a FailureReason), as SageMaker does.
    pub fn fail_next_endpoint_change(&self, reason: &str) {
        self.with(|s| s.fail_endpoint.push(reason.to_string()));
    }

    /// Moves every simulated transition whose time has come: training jobs train (for
    /// real) and complete or fail; endpoints reach InService, Failed, or roll back.
    pub fn tick(&self) {
        let now = self.clock.now();
        self.with(|s| {
            registry::review(s, now);
            let Some(timing) = s.timing else { return };
            for name in due(&s.world.running, timing.training, now) {
                let Some((_, request)) = s.world.running.remove(&name) else {
                    continue;
                };
                let outcome = if s.fail_training.is_empty() {
                    run_training(s, &request)
                } else {
                    Err(s.fail_training.remove(0))
                };
                let Some(job) = s.world.jobs.get_mut(&name) else {
                    continue;
                };
                match outcome {
                    Ok((metrics, artifact)) => {
                        job.status = TrainingStatus::Completed;
                        job.final_metrics = metrics;
                        job.model_artifacts = Some(artifact);
                    }
                    Err(reason) => {
                        job.status = TrainingStatus::Failed;
                        job.failure_reason = Some(reason);
                    }
                }
            }
            autoscaling::scale(s, now);
            alarms::evaluate(s, now);
            for name in due(&s.world.changing, timing.endpoint, now) {
                let Some((_, previous)) = s.world.changing.remove(&name) else {
                    continue;
                };
                let failure = (!s.fail_endpoint.is_empty()).then(|| s.fail_endpoint.remove(0));
                let Some(e) = s.world.endpoints.get_mut(&name) else {
                    continue;
                };
                match (failure, previous) {
                    (None, _) => e.status = EndpointStatus::InService,
                    (Some(reason), None) => {
                        e.status = EndpointStatus::Failed;
                        e.failure_reason = Some(reason);
                    }
                    (Some(reason), Some((config, variants))) => {
                        e.status = EndpointStatus::InService;
                        e.shadow_variants = s.world.configs.get(&config).map(shadows_of).unwrap_or_default();
                        e.config_name = config;
                        e.variants = variants;
                        e.failure_reason = Some(reason);
                    }
                }
            }
        });
    }

    /// Whether any mutating SageMaker call was made (for "never a half-changed endpoint").
    pub fn mutated_endpoints(&self) -> bool {
        self.calls().iter().any(|c| {
            matches!(
                c.as_str(),
                "CreateModel"
                    | "CreateEndpointConfig"
                    | "CreateEndpoint"
                    | "UpdateEndpoint"
                    | "UpdateEndpointWeightsAndCapacities"
            )
        })
    }

    /// Finishes every pending transition: Creating/Updating endpoints become InService.
    pub fn settle(&self) {
        self.with(|s| {
            s.world.changing.clear();
            for e in s.world.endpoints.values_mut() {
                if matches!(e.status, EndpointStatus::Creating | EndpointStatus::Updating) {
                    e.status = EndpointStatus::InService;
                }
            }
        });
    }

    /// Forces an endpoint's status (e.g. Updating) for tests.
    pub fn set_endpoint_status(&self, name: &str, status: EndpointStatus) {
        self.with(|s| {
            if let Some(e) = s.world.endpoints.get_mut(name) {
                e.status = status;
            }
        });
    }

    /// Marks a training job finished with final metrics.
    pub fn complete_training_job(&self, name: &str, metrics: &[(&str, f64)]) {
        self.with(|s| {
            if let Some(j) = s.world.jobs.get_mut(name) {
                j.status = TrainingStatus::Completed;
                j.final_metrics = metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect();
                j.model_artifacts = Some(format!("{}{name}/output/model.tar.gz", j.output_path));
            }
        });
    }

    /// Every training job, by name.
    pub fn training_jobs(&self) -> Vec<TrainingJobDescription> {
        self.tick();
        self.with(|s| s.world.jobs.values().cloned().collect())
    }

    /// Every endpoint, by name.
    pub fn endpoints(&self) -> Vec<EndpointDescription> {
        self.tick();
        self.with(|s| s.world.endpoints.values().cloned().collect())
    }

    /// The endpoint as DescribeEndpoint would show it.
    pub fn endpoint(&self, name: &str) -> Option<EndpointDescription> {
        self.with(|s| s.world.endpoints.get(name).cloned())
    }

    /// As `aws sagemaker wait endpoint-in-service`: DescribeEndpoint every 30 virtual
    /// seconds (the clock moves), at most `polls` times, until InService.
    pub fn wait_in_service(&self, name: &str, polls: usize) -> Result<EndpointDescription, WaitError> {
        for _ in 0..polls {
            self.tick();
            let e = self
                .endpoint(name)
                .ok_or_else(|| WaitError::NoEndpoint(format!("Could not find endpoint \"{name}\".")))?;
            match e.status {
                EndpointStatus::InService => return Ok(e),
                EndpointStatus::Failed => {
                    return Err(WaitError::NotInService(format!(
                        "{name} failed: {}",
                        e.failure_reason.unwrap_or_default()
                    )))
                }
                _ => self.clock.advance(chrono::Duration::seconds(30)),
            }
        }
        Err(WaitError::NotInService(format!(
            "{name} is not InService after {polls} polls of 30 s"
        )))
    }

    /// A model as CreateModel made it (its image, artifact and tags).
    pub fn model_request(&self, name: &str) -> Option<ModelRequest> {
        self.with(|s| s.world.models.get(name).cloned())
    }
}

/// Why [`MemoryBackend::wait_in_service`] gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// There is no such endpoint.
    #[error("{0}")]
    NoEndpoint(String),
    /// It failed, or did not get there in time.
    #[error("{0}")]
    NotInService(String),
}

/// The names whose transition, started at the time in their entry, is over by `now`.
fn due<T>(
    started: &BTreeMap<String, (DateTime<Utc>, T)>,
    takes: Duration,
    now: DateTime<Utc>,
) -> Vec<String> {
    started
        .iter()
        .filter(|(_, (since, _))| *since + takes <= now)
        .map(|(name, _)| name.clone())
        .collect()
}

/// The text of every object under a channel's S3 URI (a prefix or one object).
fn channel_text(s: &State, channel: &str, uri: &str) -> Result<String, String> {
    let (bucket, prefix) =
        split_s3(uri).ok_or_else(|| format!("ClientError: channel {channel}: {uri} is not an S3 URI"))?;
    let mut text = String::new();
    for ((b, k), o) in &s.objects {
        if *b == bucket && k.starts_with(&prefix) && !k.ends_with('/') {
            text.push_str(&String::from_utf8_lossy(&o.body));
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
    }
    if text.trim().is_empty() {
        return Err(format!("ClientError: channel {channel}: no data under {uri}"));
    }
    Ok(text)
}

/// Trains for real from the job's channels; writes `model.tar.gz` under the output path.
/// Returns the final metrics and the artifact's URI, or the FailureReason.
fn run_training(s: &mut State, r: &TrainingJobRequest) -> Result<(BTreeMap<String, f64>, String), String> {
    let channel = |name: &str| r.channels.iter().find(|c| c.name == name);
    let train_channel = channel("train").ok_or("ClientError: the job has no train channel")?;
    let train = Dataset::from_csv(&channel_text(s, "train", &train_channel.s3_uri)?, "train")?;
    let model = training::train(&r.image, &r.hyperparameters, &train)?;
    let mut metrics = training::metrics(&model, &train, "train");
    if let Some(v) = channel("validation") {
        let validation = Dataset::from_csv(&channel_text(s, "validation", &v.s3_uri)?, "validation")?;
        metrics.extend(training::metrics(&model, &validation, "validation"));
    }
    let uri = format!("{}{}/output/model.tar.gz", with_slash(&r.output_path), r.name);
    let (bucket, key) = split_s3(&uri).ok_or("ClientError: the output path is not an S3 URI")?;
    let body = training::pack(&model, train.rows.first().map_or(0, Vec::len));
    let etag = etag_of(&body);
    s.objects.insert((bucket, key), StoredObject { body, etag });
    Ok((metrics, uri))
}

/// An endpoint that an update may change: it exists and is InService, as SageMaker
/// requires of UpdateEndpoint and UpdateEndpointWeightsAndCapacities.
fn updatable<'a>(
    endpoints: &'a mut BTreeMap<String, EndpointDescription>,
    name: &str,
) -> PortResult<&'a mut EndpointDescription> {
    let e = endpoints
        .get_mut(name)
        .ok_or_else(|| not_found("endpoint", name))?;
    if e.status != EndpointStatus::InService {
        return Err(PortError::Validation(format!(
            "Cannot update in-progress endpoint \"{name}\"."
        )));
    }
    Ok(e)
}

/// How long a guarded update's traffic shifting and baking add to it: each step's
/// `WaitIntervalInSeconds` (a canary one step, linear one per step size, all at once
/// one) plus `TerminationWaitInSeconds`; a rolling update one wait (a single batch).
fn bake_time(deployment: Option<&serde_json::Value>) -> Duration {
    let Some(config) = deployment else {
        return Duration::zero();
    };
    let seconds =
        |v: &serde_json::Value, key: &str| v.get(key).and_then(serde_json::Value::as_i64).unwrap_or(0);
    if let Some(policy) = config.get("BlueGreenUpdatePolicy") {
        let routing = &policy["TrafficRoutingConfiguration"];
        let steps = match routing.get("Type").and_then(serde_json::Value::as_str) {
            Some("LINEAR") => {
                let step = routing["LinearStepSize"]["Value"]
                    .as_i64()
                    .unwrap_or(100)
                    .clamp(1, 100);
                (100 + step - 1) / step
            }
            _ => 1,
        };
        return Duration::seconds(
            steps * seconds(routing, "WaitIntervalInSeconds") + seconds(policy, "TerminationWaitInSeconds"),
        );
    }
    config.get("RollingUpdatePolicy").map_or(Duration::zero(), |p| {
        Duration::seconds(seconds(p, "WaitIntervalInSeconds"))
    })
}

/// `RetainAllVariantProperties` (weights and capture excluded): a variant kept by name
/// keeps its live instance count.
fn retained(mut next: Vec<VariantState>, live: &[VariantState], retain: bool) -> Vec<VariantState> {
    if retain {
        for v in &mut next {
            if let Some(old) = live.iter().find(|old| old.name == v.name) {
                v.current_instance_count = old.current_instance_count;
            }
        }
    }
    next
}

fn variants_of(config: &EndpointConfig) -> Vec<VariantState> {
    config.variants.iter().map(state_of).collect()
}

fn shadows_of(config: &EndpointConfig) -> Vec<VariantState> {
    config.shadow_variants.iter().map(state_of).collect()
}

fn state_of(v: &weighbridge_tasks::ports::VariantSpec) -> VariantState {
    VariantState {
        name: v.name.clone(),
        current_weight: v.initial_weight,
        current_instance_count: v.initial_instance_count,
    }
}

/// `ShadowProductionVariants` as SageMaker validates them: at most one, and then exactly
/// one production variant; variant names unique across both lists.
fn check_shadow_variants(c: &EndpointConfig) -> PortResult<()> {
    if c.shadow_variants.is_empty() {
        return Ok(());
    }
    if c.shadow_variants.len() > 1 || c.variants.len() != 1 {
        return Err(PortError::Validation(format!(
            "Endpoint config {} has {} production and {} shadow variants; with ShadowProductionVariants, specify exactly one production variant and one shadow variant.",
            c.name,
            c.variants.len(),
            c.shadow_variants.len()
        )));
    }
    let mut names: Vec<&str> = c
        .variants
        .iter()
        .chain(&c.shadow_variants)
        .map(|v| v.name.as_str())
        .collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(PortError::Validation(
            "Variant names must be unique across ProductionVariants and ShadowProductionVariants.".into(),
        ));
    }
    Ok(())
}

#[async_trait]
#[async_trait]
impl SageMaker for MemoryBackend {
    async fn create_training_job(&self, r: &TrainingJobRequest) -> PortResult<String> {
        self.call("CreateTrainingJob")?;
        let now = self.clock.now();
        self.with(|s| {
            if s.timing.is_some() && !s.world.jobs.contains_key(&r.name) {
                s.world.running.insert(r.name.clone(), (now, r.clone()));
            }
            insert_new(
                &mut s.world.jobs,
                "training-job",
                &r.name,
                TrainingJobDescription {
                    name: r.name.clone(),
                    status: TrainingStatus::InProgress,
                    failure_reason: None,
                    final_metrics: BTreeMap::new(),
                    model_artifacts: None,
                    image: r.image.clone(),
                    hyperparameters: r.hyperparameters.clone(),
                    output_path: r.output_path.clone(),
                    instance_type: r.instance_type.clone(),
                    instance_count: r.instance_count,
                },
            )
        })
    }

    async fn describe_training_job(&self, name: &str) -> PortResult<TrainingJobDescription> {
        self.call("DescribeTrainingJob")?;
        self.tick();
        self.with(|s| get_named(&s.world.jobs, "training job", name))
    }

    async fn stop_training_job(&self, name: &str) -> PortResult<()> {
        self.call("StopTrainingJob")?;
        self.with(|s| {
            let job = s
                .world
                .jobs
                .get_mut(name)
                .ok_or_else(|| not_found("training job", name))?;
            if job.status == TrainingStatus::InProgress {
                job.status = TrainingStatus::Stopped;
                s.world.running.remove(name);
            }
            Ok(())
        })
    }

    async fn delete_endpoint(&self, name: &str) -> PortResult<()> {
        self.call("DeleteEndpoint")?;
        self.with(|s| {
            s.world.changing.remove(name);
            remove_named(&mut s.world.endpoints, "endpoint", name)?;
            autoscaling::forget_endpoint(s, name);
            Ok(())
        })
    }

    async fn create_model(&self, r: &ModelRequest) -> PortResult<String> {
        self.call("CreateModel")?;
        self.with(|s| insert_new(&mut s.world.models, "model", &r.name, r.clone()))
    }

    async fn delete_model(&self, name: &str) -> PortResult<()> {
        self.call("DeleteModel")?;
        self.with(|s| remove_named(&mut s.world.models, "model", name))
    }

    async fn model_tags(&self, name: &str) -> PortResult<BTreeMap<String, String>> {
        self.call("ListTags")?;
        self.with(|s| get_named(&s.world.models, "model", name).map(|m| m.tags))
    }

    async fn create_endpoint_config(&self, c: &EndpointConfig) -> PortResult<String> {
        self.call("CreateEndpointConfig")?;
        if let Some(capture) = &c.data_capture {
            check_data_capture(capture)?;
        }
        check_shadow_variants(c)?;
        self.with(|s| {
            for v in c.variants.iter().chain(&c.shadow_variants) {
                if !s.world.models.contains_key(&v.model_name) {
                    return Err(PortError::Validation(format!(
                        "Could not find model \"{}\".",
                        v.model_name
                    )));
                }
            }
            insert_new(&mut s.world.configs, "endpoint-config", &c.name, c.clone())
        })
    }

    async fn describe_endpoint_config(&self, name: &str) -> PortResult<EndpointConfig> {
        self.call("DescribeEndpointConfig")?;
        self.with(|s| get_named(&s.world.configs, "endpoint config", name))
    }

    async fn delete_endpoint_config(&self, name: &str) -> PortResult<()> {
        self.call("DeleteEndpointConfig")?;
        self.with(|s| remove_named(&mut s.world.configs, "endpoint config", name))
    }

    async fn create_endpoint(&self, name: &str, config_name: &str) -> PortResult<String> {
        self.call("CreateEndpoint")?;
        let now = self.clock.now();
        self.with(|s| {
            if s.world.endpoints.contains_key(name) {
                return Err(PortError::AlreadyExists(format!("endpoint {name}")));
            }
            let config = s.world.configs.get(config_name).ok_or_else(|| {
                PortError::Validation(format!(
                    "Could not find endpoint configuration \"{config_name}\"."
                ))
            })?;
            s.world.endpoints.insert(
                name.into(),
                EndpointDescription {
                    name: name.into(),
                    config_name: config_name.into(),
                    status: EndpointStatus::Creating,
                    failure_reason: None,
                    variants: variants_of(config),
                    shadow_variants: shadows_of(config),
                    last_modified: Some(now),
                },
            );
            if s.timing.is_some() {
                s.world.changing.insert(name.into(), (now, None));
            }
            Ok(format!(
                "arn:aws:sagemaker:us-east-1:000000000000:endpoint/{name}"
            ))
        })
    }

    async fn update_endpoint(&self, update: &EndpointUpdate<'_>) -> PortResult<()> {
        self.call("UpdateEndpoint")?;
        let now = self.clock.now();
        let (name, config_name) = (update.name, update.config_name);
        self.with(|s| {
            let config = s.world.configs.get(config_name).cloned().ok_or_else(|| {
                PortError::Validation(format!(
                    "Could not find endpoint configuration \"{config_name}\"."
                ))
            })?;
            let blocked = autoscaling::blocked_by_scaling(s, name, &config);
            let e = updatable(&mut s.world.endpoints, name)?;
            if !blocked.is_empty() {
                return Err(PortError::Validation(format!(
                    "The variant(s) [{}] of endpoint {name} are registered as scalable targets with Application Auto Scaling; deregister them before an update removes them or changes their instance type.",
                    blocked.join(", ")
                )));
            }
            let previous = (e.config_name.clone(), e.variants.clone());
            e.config_name = config_name.into();
            e.variants = retained(variants_of(&config), &previous.1, update.retain_instance_counts);
            e.shadow_variants = shadows_of(&config);
            e.last_modified = Some(now);
            e.status = EndpointStatus::Updating;
            e.failure_reason = None;
            if s.timing.is_some() {
                // A guarded update bakes before it completes: its start moves later.
                let bake = bake_time(update.deployment_config);
                s.world.changing.insert(name.into(), (now + bake, Some(previous)));
            }
            Ok(())
        })
    }

    async fn describe_endpoint(&self, name: &str) -> PortResult<EndpointDescription> {
        self.call("DescribeEndpoint")?;
        self.tick();
        self.with(|s| get_named(&s.world.endpoints, "endpoint", name))
    }

    async fn update_endpoint_weights(&self, name: &str, weights: &BTreeMap<String, f64>) -> PortResult<()> {
        self.call("UpdateEndpointWeightsAndCapacities")?;
        self.with(|s| {
            let e = updatable(&mut s.world.endpoints, name)?;
            for (variant, w) in weights {
                if !e.variants.iter().any(|v| &v.name == variant) {
                    return Err(PortError::Validation(format!(
                        "The variant name(s) [{variant}] is/are not present."
                    )));
                }
                if !(w.is_finite() && *w >= 0.0) {
                    return Err(PortError::Validation(format!("DesiredWeight {w} is not valid")));
                }
            }
            for v in &mut e.variants {
                if let Some(w) = weights.get(&v.name) {
                    v.current_weight = *w;
                }
            }
            Ok(())
        })
    }
}

/// `DataCaptureConfig` as SageMaker validates it: a destination of at most 512
/// characters matching `(https|s3)://([^/])/?(.*)`, a sampling percentage of 0 to 100.
fn check_data_capture(c: &weighbridge_tasks::ports::DataCapture) -> PortResult<()> {
    let destination_ok = c.destination_s3_uri.len() <= 512
        && ["s3://", "https://"].iter().any(|scheme| {
            c.destination_s3_uri
                .strip_prefix(scheme)
                .is_some_and(|rest| rest.chars().next().is_some_and(|ch| ch != '/'))
        });
    if !destination_ok {
        return Err(PortError::Validation(format!(
            "1 validation error detected: Value '{}' at 'dataCaptureConfig.destinationS3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern: (https|s3)://([^/])/?(.*)",
            c.destination_s3_uri
        )));
    }
    if c.sampling_percentage > 100 {
        return Err(PortError::Validation(format!(
            "1 validation error detected: Value '{}' at 'dataCaptureConfig.initialSamplingPercentage' failed to satisfy constraint: Member must have value less than or equal to 100",
            c.sampling_percentage
        )));
    }
    Ok(())
}
