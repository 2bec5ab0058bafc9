//! In-memory SageMaker, runtime, S3, CloudWatch and Step Functions behind the ports.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use weighbridge_asl::interpreter::{Clock, VirtualClock};
use weighbridge_tasks::names::{execution_arn, fingerprint};

use crate::training::{self, Dataset};
use weighbridge_tasks::ports::{
    EndpointConfig, EndpointDescription, EndpointStatus, InvokeRequest, InvokeResponse, MetricDatum,
    MetricSink, ModelRequest, ObjectChunks, ObjectStore, ObjectSummary, PortError, PortResult, PutCondition,
    Runtime, SageMaker, StoredObject, TrainingJobDescription, TrainingJobRequest, TrainingStatus,
    VariantState, Workflows,
};

/// A model's prediction for one row of features.
pub type Predictor = Arc<dyn Fn(&[f64]) -> f64 + Send + Sync>;

/// How a hosted model formats its answers (the real containers differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseStyle {
    /// xgboost: one value per line, `text/csv`.
    Csv,
    /// linear-learner: `{"predictions":[{"score":…}]}`, `application/json`.
    LinearLearner,
    /// A broken container: a body that does not decode.
    Garbage,
}

/// A fault to inject into the next calls of an operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    Throttle,
    ServerError,
    /// A conditional write that another writer beat (S3 412).
    PreconditionFailed,
}

/// What persists between CLI calls: the services' resources and the histories of what
/// happened, one serde struct (the state directory writes it as `state.json`; object
/// bodies travel separately, see [`crate::store`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct World {
    jobs: BTreeMap<String, TrainingJobDescription>,
    models: BTreeMap<String, ModelRequest>,
    configs: BTreeMap<String, EndpointConfig>,
    endpoints: BTreeMap<String, EndpointDescription>,
    metrics: Vec<(String, MetricDatum)>,
    /// Started executions: ARN → (state machine ARN, input).
    executions: BTreeMap<String, (String, String)>,
    /// Training jobs in progress: start time and the request (for the real training).
    running: BTreeMap<String, (DateTime<Utc>, TrainingJobRequest)>,
    /// Endpoints in transition: since when, and the config and variants to roll back to.
    changing: BTreeMap<String, Transition>,
    /// Batch transform jobs.
    #[serde(default)]
    transforms: BTreeMap<String, TransformJob>,
    /// Executions in the order they were started, how many the runner has taken, and how
    /// the finished ones ended.
    started: Vec<String>,
    taken: usize,
    finished: BTreeMap<String, String>,
}

/// A backend's persisted state: the world, the objects, the clock and the timing.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// The virtual time.
    pub now: DateTime<Utc>,
    /// Simulated durations (`None`: transitions by hand).
    pub timing: Option<Timing>,
    /// Resources and histories.
    pub world: World,
    /// Object bodies and ETags by (bucket, key).
    pub objects: BTreeMap<(String, String), StoredObject>,
}

#[derive(Default)]
struct State {
    world: World,
    objects: BTreeMap<(String, String), StoredObject>,
    predictors: BTreeMap<String, (Predictor, ResponseStyle)>,
    faults: BTreeMap<String, Vec<Fault>>,
    /// Calls of an operation to let through before its queued faults apply.
    fault_skips: BTreeMap<String, usize>,
    /// Wall-clock latency added to every call of an operation (InvokeEndpoint).
    latency: BTreeMap<String, std::time::Duration>,
    calls: Vec<String>,
    /// Chunk size of streamed object reads (0 = the default, 64 KiB).
    read_chunk_bytes: usize,
    /// Simulated durations; `None` keeps transitions manual (`settle`, `complete_training_job`).
    timing: Option<Timing>,
    /// FailureReasons for the next training job / endpoint change to fail with.
    fail_training: Vec<String>,
    fail_endpoint: Vec<String>,
    /// Weighted routing of requests without TargetVariant (seeded).
    rng: Option<rand::rngs::StdRng>,
}

/// A batch transform job (the local backend's own shape; the SDK integration maps it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformJob {
    pub name: String,
    pub model_name: String,
    /// `s3://bucket/prefix` of features-only CSV objects.
    pub input_uri: String,
    /// `s3://bucket/prefix/` for the `.out` objects.
    pub output_uri: String,
    /// `InProgress`, `Completed` or `Failed`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub failure_reason: Option<String>,
}

/// Runs a transform job: every input object scored row by row.
fn transform(s: &mut State, model: &ModelRequest, job: &TransformJob) -> Result<(), String> {
    let (predict, _) = hosted_model(s, model, None)
        .ok_or_else(|| format!("ClientError: model {} has no artifact trained here", model.name))?;
    let (in_bucket, prefix) = split_s3(&job.input_uri).ok_or("ClientError: the input is not an S3 URI")?;
    let (out_bucket, out_prefix) =
        split_s3(&with_slash(&job.output_uri)).ok_or("ClientError: the output is not an S3 URI")?;
    let inputs: Vec<(String, Vec<u8>)> = s
        .objects
        .iter()
        .filter(|((b, k), _)| *b == in_bucket && k.starts_with(&prefix) && !k.ends_with('/'))
        .map(|((_, k), o)| (k.clone(), o.body.clone()))
        .collect();
    if inputs.is_empty() {
        return Err(format!("ClientError: no input under {}", job.input_uri));
    }
    for (key, body) in inputs {
        let mut out = String::new();
        for (n, line) in String::from_utf8_lossy(&body)
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let row: Vec<f64> = line
                .split(',')
                .map(|f| {
                    f.trim()
                        .parse()
                        .map_err(|_| format!("ClientError: {key} line {}: {f:?} is not a number", n + 1))
                })
                .collect::<Result<_, _>>()?;
            out.push_str(&format!("{}\n", predict(&row)));
        }
        let name = key.rsplit('/').next().unwrap_or(&key);
        let body = out.into_bytes();
        let etag = etag_of(&body);
        s.objects.insert(
            (out_bucket.clone(), format!("{out_prefix}{name}.out")),
            StoredObject { body, etag },
        );
    }
    Ok(())
}

/// An endpoint change in progress: since when, and the config and variants to roll back to.
pub(crate) type Transition = (DateTime<Utc>, Option<(String, Vec<VariantState>)>);

/// How long things take on the simulated clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub training: Duration,
    pub endpoint: Duration,
}

impl Default for Timing {
    /// Minutes, as on SageMaker: training 4 min, endpoint create or update 6 min.
    fn default() -> Self {
        Self {
            training: Duration::minutes(4),
            endpoint: Duration::minutes(6),
        }
    }
}

/// Every port in memory. Cheap to clone (shared state), safe across tasks.
#[derive(Clone)]
pub struct MemoryBackend {
    state: Arc<Mutex<State>>,
    clock: Arc<VirtualClock>,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self {
            state: Arc::default(),
            clock: Arc::new(VirtualClock::starting_at(
                DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000),
            )),
        }
    }
}

fn not_found(what: &str, name: &str) -> PortError {
    PortError::NotFound(format!("{what} {name} does not exist"))
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// A backend where training really runs and statuses change on the virtual clock:
    /// a job completes (or fails) `timing.training` after it starts, an endpoint reaches
    /// InService `timing.endpoint` after a create or update.
    pub fn simulated(clock: Arc<VirtualClock>, timing: Timing, seed: u64) -> Self {
        let b = Self {
            state: Arc::default(),
            clock,
        };
        b.with(|s| {
            s.timing = Some(timing);
            s.rng = Some(rand::rngs::StdRng::seed_from_u64(seed));
        });
        b
    }

    /// The virtual clock the backend's statuses follow.
    pub fn clock(&self) -> Arc<VirtualClock> {
        self.clock.clone()
    }

    /// The next training job fails with this FailureReason (as a job with bad data does).
    pub fn fail_next_training_job(&self, reason: &str) {
        self.with(|s| s.fail_training.push(reason.to_string()));
    }

    /// The next endpoint create fails (status Failed), or the next update is rolled back
    /// (InService on the previous config, with a FailureReason), as SageMaker does.
    pub fn fail_next_endpoint_change(&self, reason: &str) {
        self.with(|s| s.fail_endpoint.push(reason.to_string()));
    }

    /// CreateTransformJob: scores every object under `input_uri` (features-only CSV, one
    /// row per line) with the model and writes `<output_uri><object name>.out`, one
    /// prediction per line, as SageMaker batch transform does. Completes at once.
    pub fn create_transform_job(&self, job: &TransformJob) -> PortResult<String> {
        self.call("CreateTransformJob")?;
        self.with(|s| {
            if s.world.transforms.contains_key(&job.name) {
                return Err(PortError::AlreadyExists(format!("transform job {}", job.name)));
            }
            let model = s.world.models.get(&job.model_name).cloned().ok_or_else(|| {
                PortError::Validation(format!("Could not find model \"{}\".", job.model_name))
            })?;
            let mut done = job.clone();
            match transform(s, &model, job) {
                Ok(()) => done.status = "Completed".into(),
                Err(reason) => {
                    done.status = "Failed".into();
                    done.failure_reason = Some(reason);
                }
            }
            s.world.transforms.insert(job.name.clone(), done);
            Ok(format!(
                "arn:aws:sagemaker:us-east-1:000000000000:transform-job/{}",
                job.name
            ))
        })
    }

    /// DescribeTransformJob.
    pub fn describe_transform_job(&self, name: &str) -> PortResult<TransformJob> {
        self.call("DescribeTransformJob")?;
        self.with(|s| get_named(&s.world.transforms, "transform job", name))
    }

    /// Everything that persists between CLI calls (see [`crate::store`]).
    pub fn saved(&self) -> Saved {
        let now = self.clock.now();
        self.with(|s| Saved {
            now,
            timing: s.timing,
            world: s.world.clone(),
            objects: s.objects.clone(),
        })
    }

    /// A simulated backend from its saved state (routing re-seeded with `seed`).
    pub fn restore(saved: Saved, seed: u64) -> Self {
        let b = Self::simulated(
            Arc::new(VirtualClock::starting_at(saved.now)),
            saved.timing.unwrap_or_default(),
            seed,
        );
        b.with(|s| {
            s.timing = saved.timing;
            s.world = saved.world;
            s.objects = saved.objects;
        });
        b
    }

    /// Moves every simulated transition whose time has come: training jobs train (for
    /// real) and complete or fail; endpoints reach InService, Failed, or roll back.
    pub fn tick(&self) {
        let now = self.clock.now();
        self.with(|s| {
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
                        e.config_name = config;
                        e.variants = variants;
                        e.failure_reason = Some(reason);
                    }
                }
            }
        });
    }

    /// Streams object bodies in chunks of `bytes` (tests split lines across chunks).
    pub fn set_read_chunk_bytes(&self, bytes: usize) {
        self.with(|s| s.read_chunk_bytes = bytes);
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Records the call and fails it if a fault is queued for the operation.
    fn call(&self, op: &str) -> PortResult<()> {
        self.with(|s| {
            s.calls.push(op.to_string());
            if let Some(skip) = s.fault_skips.get_mut(op).filter(|n| **n > 0) {
                *skip -= 1;
                return Ok(());
            }
            match s
                .faults
                .get_mut(op)
                .and_then(|q| (!q.is_empty()).then(|| q.remove(0)))
            {
                Some(Fault::Throttle) => Err(PortError::Throttled(format!("{op}: Rate exceeded"))),
                Some(Fault::ServerError) => Err(PortError::Unavailable(format!("{op}: InternalFailure"))),
                Some(Fault::PreconditionFailed) => Err(PortError::PreconditionFailed(format!("{op}: 412"))),
                None => Ok(()),
            }
        })
    }

    /// Queues faults for the next calls of `op` (e.g. `InvokeEndpoint`).
    pub fn inject(&self, op: &str, faults: impl IntoIterator<Item = Fault>) {
        self.with(|s| s.faults.entry(op.to_string()).or_default().extend(faults));
    }

    /// Like [`inject`](Self::inject), but the first `skip` calls of `op` succeed (to hit
    /// a later caller of the same API, e.g. the workflow's poll after the task's call).
    pub fn inject_after(&self, op: &str, skip: usize, faults: impl IntoIterator<Item = Fault>) {
        self.with(|s| s.fault_skips.insert(op.to_string(), skip));
        self.inject(op, faults);
    }

    /// Adds `latency` of wall-clock time to every call of `op` (only InvokeEndpoint
    /// waits: it is what bounded concurrency hides).
    pub fn set_latency(&self, op: &str, latency: std::time::Duration) {
        self.with(|s| s.latency.insert(op.to_string(), latency));
    }

    /// Operations called so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.with(|s| s.calls.clone())
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

    /// Hosts `predict` for every variant whose model is `model` (by model name).
    pub fn serve(
        &self,
        model: &str,
        style: ResponseStyle,
        predict: impl Fn(&[f64]) -> f64 + Send + Sync + 'static,
    ) {
        self.with(|s| s.predictors.insert(model.to_string(), (Arc::new(predict), style)));
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

    /// Datapoints published so far.
    pub fn metric_data(&self) -> Vec<(String, MetricDatum)> {
        self.with(|s| s.world.metrics.clone())
    }

    /// Executions started since the last call: (name, ARN, input), in start order.
    pub fn take_started_executions(&self) -> Vec<(String, String, String)> {
        self.with(|s| {
            let new: Vec<String> = s.world.started[s.world.taken..].to_vec();
            s.world.taken = s.world.started.len();
            new.into_iter()
                .map(|n| {
                    let (arn, input) = s.world.executions[&n].clone();
                    (n, arn, input)
                })
                .collect()
        })
    }

    /// Records how an execution ended (DescribeExecution's status).
    pub fn finish_execution(&self, arn: &str, status: weighbridge_asl::interpreter::Status) {
        let status = match status {
            weighbridge_asl::interpreter::Status::Succeeded => "SUCCEEDED",
            weighbridge_asl::interpreter::Status::Failed => "FAILED",
            weighbridge_asl::interpreter::Status::TimedOut => "TIMED_OUT",
        };
        self.with(|s| s.world.finished.insert(arn.to_string(), status.to_string()));
    }

    /// Executions started: name → (ARN, input).
    pub fn executions(&self) -> BTreeMap<String, (String, String)> {
        self.with(|s| s.world.executions.clone())
    }

    /// Puts an object directly (test data).
    pub fn put(&self, bucket: &str, key: &str, body: &str) {
        let etag = etag_of(body.as_bytes());
        self.with(|s| {
            s.objects.insert(
                (bucket.into(), key.into()),
                StoredObject {
                    body: body.as_bytes().to_vec(),
                    etag,
                },
            )
        });
    }

    /// An object's body as text, if it exists.
    pub fn text(&self, bucket: &str, key: &str) -> Option<String> {
        self.with(|s| {
            s.objects
                .get(&(bucket.into(), key.into()))
                .map(|o| String::from_utf8_lossy(&o.body).into_owned())
        })
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

/// `s3://bucket/key` → (bucket, key).
fn split_s3(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    Some((bucket.to_string(), key.to_string()))
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
    let body = training::pack(&model);
    let etag = etag_of(&body);
    s.objects.insert((bucket, key), StoredObject { body, etag });
    Ok((metrics, uri))
}

fn with_slash(prefix: &str) -> String {
    if prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    }
}

/// A predictor for a model whose artifact is in the local S3 (a model trained here).
/// For a multi-model endpoint, `target` is the artifact's path under the model's
/// `ModelDataUrl` prefix, as SageMaker resolves `TargetModel`.
fn hosted_model(s: &State, model: &ModelRequest, target: Option<&str>) -> Option<(Predictor, ResponseStyle)> {
    let url = match target {
        Some(t) => format!("{}{t}", with_slash(model.model_data_url.as_deref()?)),
        None => model.model_data_url.clone()?,
    };
    let (bucket, key) = split_s3(&url)?;
    let trained = training::unpack(&s.objects.get(&(bucket, key))?.body).ok()?;
    let style = if model.image.contains("linear-learner") {
        ResponseStyle::LinearLearner
    } else {
        ResponseStyle::Csv
    };
    Some((Arc::new(move |x: &[f64]| trained.predict(x)), style))
}

/// Inserts a new named resource, or `AlreadyExists` (SageMaker's unique names).
fn insert_new<T>(map: &mut BTreeMap<String, T>, kind: &str, name: &str, value: T) -> PortResult<String> {
    if map.contains_key(name) {
        return Err(PortError::AlreadyExists(format!("{kind} {name}")));
    }
    map.insert(name.to_string(), value);
    Ok(format!("arn:aws:sagemaker:us-east-1:000000000000:{kind}/{name}"))
}

/// Removes a named resource, or `NotFound`.
fn remove_named<T>(map: &mut BTreeMap<String, T>, kind: &str, name: &str) -> PortResult<()> {
    map.remove(name).map(drop).ok_or_else(|| not_found(kind, name))
}

/// A named resource, or `NotFound`.
fn get_named<T: Clone>(map: &BTreeMap<String, T>, kind: &str, name: &str) -> PortResult<T> {
    map.get(name).cloned().ok_or_else(|| not_found(kind, name))
}

/// What S3 refuses before it looks at a bucket: an invalid bucket name, an empty key
/// or one over 1,024 bytes (`KeyTooLongError`).
fn check_object_name(bucket: &str, key: &str) -> PortResult<()> {
    weighbridge_tasks::validation::bucket_name("bucket", bucket)
        .map_err(|e| PortError::Validation(format!("InvalidBucketName: {e}")))?;
    weighbridge_tasks::validation::object_key("key", key)
        .map_err(|e| PortError::Validation(format!("KeyTooLongError: {e}")))
}

fn etag_of(body: &[u8]) -> String {
    format!("\"{:016x}\"", fingerprint(&[&String::from_utf8_lossy(body)]))
}

fn variants_of(config: &EndpointConfig) -> Vec<VariantState> {
    config
        .variants
        .iter()
        .map(|v| VariantState {
            name: v.name.clone(),
            current_weight: v.initial_weight,
            current_instance_count: v.initial_instance_count,
        })
        .collect()
}

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
            remove_named(&mut s.world.endpoints, "endpoint", name)
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

    async fn create_endpoint_config(&self, c: &EndpointConfig) -> PortResult<String> {
        self.call("CreateEndpointConfig")?;
        self.with(|s| {
            for v in &c.variants {
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

    async fn update_endpoint(
        &self,
        name: &str,
        config_name: &str,
        _deployment: Option<&serde_json::Value>,
    ) -> PortResult<()> {
        self.call("UpdateEndpoint")?;
        let now = self.clock.now();
        self.with(|s| {
            let config = s.world.configs.get(config_name).cloned().ok_or_else(|| {
                PortError::Validation(format!(
                    "Could not find endpoint configuration \"{config_name}\"."
                ))
            })?;
            let e = s
                .world
                .endpoints
                .get_mut(name)
                .ok_or_else(|| not_found("endpoint", name))?;
            if e.status != EndpointStatus::InService {
                return Err(PortError::Validation(format!(
                    "Cannot update in-progress endpoint \"{name}\"."
                )));
            }
            let previous = (e.config_name.clone(), e.variants.clone());
            e.config_name = config_name.into();
            e.variants = variants_of(&config);
            e.status = EndpointStatus::Updating;
            e.failure_reason = None;
            if s.timing.is_some() {
                s.world.changing.insert(name.into(), (now, Some(previous)));
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
            let e = s
                .world
                .endpoints
                .get_mut(name)
                .ok_or_else(|| not_found("endpoint", name))?;
            if e.status != EndpointStatus::InService {
                return Err(PortError::Validation(format!(
                    "Cannot update in-progress endpoint \"{name}\"."
                )));
            }
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

#[async_trait]
impl Runtime for MemoryBackend {
    async fn invoke_endpoint(&self, r: &InvokeRequest) -> PortResult<InvokeResponse> {
        self.call("InvokeEndpoint")?;
        self.tick();
        if let Some(latency) = self.with(|s| s.latency.get("InvokeEndpoint").copied()) {
            tokio::time::sleep(latency).await;
        }
        let (predict, style, variant) = self.with(|s| {
            let e = s.world.endpoints.get(&r.endpoint).ok_or_else(|| {
                PortError::Validation(format!(
                    "Endpoint {} of account 000000000000 not found.",
                    r.endpoint
                ))
            })?;
            if e.status != EndpointStatus::InService && e.status != EndpointStatus::Updating {
                return Err(PortError::Validation(format!(
                    "Endpoint {} is not in service.",
                    r.endpoint
                )));
            }
            let variant = match &r.target_variant {
                Some(v) if e.variants.iter().any(|x| &x.name == v) => v.clone(),
                Some(v) => {
                    return Err(PortError::Validation(format!(
                        "Variant {v} not found for endpoint {}.",
                        r.endpoint
                    )))
                }
                None => {
                    // Routed by the current weights (seeded); without a seed, the heaviest.
                    let total: f64 = e.variants.iter().map(|v| v.current_weight).sum();
                    match s.rng.as_mut() {
                        Some(rng) if total > 0.0 => {
                            let mut pick = rng.random::<f64>() * total;
                            e.variants
                                .iter()
                                .find(|v| {
                                    pick -= v.current_weight;
                                    pick < 0.0
                                })
                                .or_else(|| e.variants.last())
                                .map(|v| v.name.clone())
                        }
                        _ => e
                            .variants
                            .iter()
                            .max_by(|a, b| a.current_weight.total_cmp(&b.current_weight))
                            .map(|v| v.name.clone()),
                    }
                    .ok_or_else(|| {
                        PortError::Validation(format!("Endpoint {} has no variants.", r.endpoint))
                    })?
                }
            };
            let variant_model = s
                .world
                .configs
                .get(&e.config_name)
                .and_then(|c| c.variants.iter().find(|v| v.name == variant))
                .map(|v| v.model_name.clone())
                .ok_or_else(|| {
                    PortError::Validation(format!(
                        "Variant {variant} of endpoint {} has no model in config {}.",
                        r.endpoint, e.config_name
                    ))
                })?;
            let model = r.target_model.clone().unwrap_or_else(|| variant_model.clone());
            let served = s.predictors.get(&model).cloned().or_else(|| {
                let hosted = hosted_model(s, s.world.models.get(&variant_model)?, r.target_model.as_deref())?;
                s.predictors.insert(model.clone(), hosted.clone());
                Some(hosted)
            });
            let (p, style) = served
                .ok_or_else(|| PortError::Validation(format!("model {model} has no predictor served")))?;
            Ok((p, style, variant))
        })?;
        let text = String::from_utf8_lossy(&r.body);
        let rows: Vec<Vec<f64>> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                if l.trim_start().starts_with('{') {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
                    v["features"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                        .unwrap_or_default()
                } else {
                    l.split(',').filter_map(|f| f.trim().parse().ok()).collect()
                }
            })
            .collect();
        let scores: Vec<f64> = rows.iter().map(|row| predict(row)).collect();
        let (body, content_type) = match style {
            ResponseStyle::Csv => (
                scores.iter().map(|v| format!("{v}\n")).collect::<String>(),
                "text/csv",
            ),
            ResponseStyle::LinearLearner => (
                serde_json::json!({ "predictions": scores.iter().map(|s| serde_json::json!({"score": s})).collect::<Vec<_>>() }).to_string(),
                "application/json",
            ),
            ResponseStyle::Garbage => ("<html>502 Bad Gateway</html>".to_string(), "text/csv"),
        };
        Ok(InvokeResponse {
            body: body.into_bytes(),
            content_type: Some(content_type.into()),
            invoked_variant: Some(variant),
        })
    }
}

#[async_trait]
impl ObjectStore for MemoryBackend {
    async fn get_object(&self, bucket: &str, key: &str) -> PortResult<StoredObject> {
        self.call("GetObject")?;
        self.with(|s| {
            s.objects
                .get(&(bucket.into(), key.into()))
                .cloned()
                .ok_or_else(|| not_found("object", &format!("s3://{bucket}/{key}")))
        })
    }

    async fn get_object_chunks(&self, bucket: &str, key: &str) -> PortResult<ObjectChunks> {
        let object = self.get_object(bucket, key).await?;
        let size = match self.with(|s| s.read_chunk_bytes) {
            0 => 64 * 1024,
            n => n,
        };
        let chunks: Vec<PortResult<Vec<u8>>> = object.body.chunks(size).map(|c| Ok(c.to_vec())).collect();
        Ok(ObjectChunks {
            etag: object.etag,
            chunks: Box::pin(futures::stream::iter(chunks)),
        })
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        condition: PutCondition,
    ) -> PortResult<String> {
        self.call("PutObject")?;
        check_object_name(bucket, key)?;
        self.with(|s| {
            let id = (bucket.to_string(), key.to_string());
            let current = s.objects.get(&id).map(|o| o.etag.clone());
            let ok = match (&condition, &current) {
                (PutCondition::Always, _) => true,
                (PutCondition::IfAbsent, None) => true,
                (PutCondition::IfAbsent, Some(_)) => false,
                (PutCondition::IfMatch(e), Some(c)) => e == c,
                (PutCondition::IfMatch(_), None) => false,
            };
            if !ok {
                return Err(PortError::PreconditionFailed(format!("s3://{bucket}/{key}")));
            }
            let etag = etag_of(&body);
            s.objects.insert(
                id,
                StoredObject {
                    body,
                    etag: etag.clone(),
                },
            );
            Ok(etag)
        })
    }

    async fn list_objects(&self, bucket: &str, prefix: &str) -> PortResult<Vec<ObjectSummary>> {
        self.call("ListObjectsV2")?;
        self.with(|s| {
            Ok(s.objects
                .iter()
                .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
                .map(|((_, k), o)| ObjectSummary {
                    key: k.clone(),
                    etag: o.etag.clone(),
                    size: o.body.len() as u64,
                })
                .collect())
        })
    }
}

#[async_trait]
impl MetricSink for MemoryBackend {
    async fn put_metric_data(&self, namespace: &str, data: &[MetricDatum]) -> PortResult<()> {
        self.call("PutMetricData")?;
        if data.len() > weighbridge_tasks::ports::MAX_DATUMS_PER_PUT {
            return Err(PortError::Validation(
                "too many datums in one PutMetricData".into(),
            ));
        }
        self.with(|s| {
            s.world
                .metrics
                .extend(data.iter().map(|d| (namespace.to_string(), d.clone())))
        });
        Ok(())
    }
}

#[async_trait]
impl Workflows for MemoryBackend {
    async fn start_execution(&self, state_machine_arn: &str, name: &str, input: &str) -> PortResult<String> {
        self.call("StartExecution")?;
        self.with(|s| {
            let arn = execution_arn(state_machine_arn, name);
            match s.world.executions.get(name) {
                Some((a, i)) if i == input => Ok(a.clone()),
                Some(_) => Err(PortError::AlreadyExists(format!(
                    "Execution Already Exists: '{arn}'"
                ))),
                None => {
                    s.world
                        .executions
                        .insert(name.into(), (arn.clone(), input.into()));
                    s.world.started.push(name.into());
                    Ok(arn)
                }
            }
        })
    }

    async fn execution_status(&self, execution_arn: &str) -> PortResult<Option<String>> {
        self.call("DescribeExecution")?;
        self.with(|s| {
            Ok(s.world
                .executions
                .values()
                .any(|(a, _)| a == execution_arn)
                .then(|| {
                    s.world
                        .finished
                        .get(execution_arn)
                        .cloned()
                        .unwrap_or_else(|| "RUNNING".to_string())
                }))
        })
    }
}
