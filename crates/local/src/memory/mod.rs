//! The embedded backend: every port in memory, organised like the AWS services it stands
//! for — one module per service ([`sagemaker`], [`autoscaling`], [`runtime`], [`s3`],
//! [`cloudwatch`] and its [`alarms`] with the EventBridge rule they feed, [`sfn`],
//! [`transform`]), with what they share here: the state (the persisted
//! [`World`] and what only lives in a process), injected faults, and the virtual clock.

mod alarms;
mod autoscaling;
mod capture;
mod cloudwatch;
mod registry;
mod runtime;
mod s3;
mod sagemaker;
pub mod serving;
mod sfn;
mod transform;

use runtime::hosted_model;
use s3::{etag_of, split_s3, with_slash};
pub use sagemaker::WaitError;
pub use transform::TransformJob;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use weighbridge_asl::interpreter::{Clock, VirtualClock};
use weighbridge_tasks::names::{execution_arn, fingerprint};

use crate::training::{self, Dataset};
use weighbridge_tasks::ports::{
    EndpointConfig, EndpointDescription, EndpointStatus, EndpointUpdate, InvokeRequest, InvokeResponse,
    MetricDatum, MetricQuery, MetricSink, MetricTotals, ModelRequest, ObjectChunks, ObjectStore,
    ObjectSummary, PortError, PortResult, PutCondition, Runtime, SageMaker, StoredObject,
    TrainingJobDescription, TrainingJobRequest, TrainingStatus, VariantState, Workflows,
};

/// A model's prediction for one row of features.
pub type Predictor = Arc<dyn Fn(&[f64]) -> f64 + Send + Sync>;

/// How a hosted model formats its answers (the real containers differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseStyle {
    /// SageMaker XGBoost 1.2-2 and later: `Accept` chooses `text/csv` (one value per
    /// line, the default) or `application/json` (`{"predictions": [{"score": …}]}`).
    Xgboost,
    /// SageMaker XGBoost 0.90-1 to 1.2-1: one comma-joined line, `text/csv`, whatever
    /// `Accept` asks.
    XgboostCommaJoined,
    /// linear-learner: `{"predictions":[{"score":…}]}`, `application/json`.
    LinearLearner,
    /// A broken container: a body that does not decode.
    Garbage,
}

/// A fault to inject into the next calls of an operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// `ThrottlingException` (retry with backoff).
    Throttle,
    /// A 5xx `InternalFailure`.
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
    /// Requests seen by capturing endpoints (event IDs and sampling derive from it).
    #[serde(default)]
    capture_events: u64,
    /// The capture file each `endpoint/variant` appends to: its hour, key and lines.
    #[serde(default)]
    capture_files: BTreeMap<String, (String, String, u32)>,
    /// Invocation metrics (`AWS/SageMaker`) per endpoint, variant and hour, as SageMaker
    /// publishes them for production and shadow variants alike.
    #[serde(default)]
    invocations: runtime::InvocationMetrics,
    /// Application Auto Scaling's scalable targets (with their policies) by resource ID.
    #[serde(default)]
    scaling: BTreeMap<String, weighbridge_tasks::ports::VariantScaling>,
    /// Invocation metrics per minute of the last hour (what alarms read).
    #[serde(default)]
    recent: runtime::RecentMetrics,
    /// CloudWatch alarms by name, with their state.
    #[serde(default)]
    alarms: BTreeMap<String, alarms::StoredAlarm>,
    /// EventBridge: the events emitted (alarm state changes), and the rule that starts
    /// a state machine for an alarm that goes to ALARM (name prefix → its ARN).
    #[serde(default)]
    events: Vec<serde_json::Value>,
    #[serde(default)]
    alarm_rule: Option<(String, String)>,
    /// The Model Registry.
    #[serde(default)]
    registry: registry::RegistryState,
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
    predictors: BTreeMap<String, runtime::Hosted>,
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
    /// A routing fault: a variant's weight multiplied when routing, unseen by
    /// DescribeEndpoint (what a sample ratio mismatch looks like from outside).
    routing_skew: BTreeMap<String, f64>,
    /// Mutating calls left before the process "crashes": every later call fails.
    crash_after: Option<usize>,
    /// Variants whose container answers 500 to every request.
    failing_variants: std::collections::BTreeSet<String>,
    /// The `ModelLatency` a variant reports, in microseconds (default
    /// [`runtime::DEFAULT_MODEL_LATENCY_US`]): a slow shadow, without waiting for one.
    model_latency_us: BTreeMap<String, f64>,
}

/// An endpoint change in progress: since when, and the config and variants to roll back to.
pub(crate) type Transition = (DateTime<Utc>, Option<(String, Vec<VariantState>)>);

/// How long things take on the simulated clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// From CreateTrainingJob to Completed (or Failed).
    pub training: Duration,
    /// From CreateEndpoint or UpdateEndpoint to InService (or Failed / rolled back).
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
    /// A backend with manual transitions (`settle`, `complete_training_job`), no routing seed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes requests without `TargetVariant` by the weights, seeded (without a seed
    /// the heaviest variant answers every request).
    pub fn seed_routing(&self, seed: u64) {
        self.with(|s| s.rng = Some(rand::rngs::StdRng::seed_from_u64(seed)));
    }

    /// Injects a routing fault: `variant` receives `factor` times the traffic its weight
    /// promises (the others share the rest), while DescribeEndpoint shows the weights.
    pub fn skew_routing(&self, variant: &str, factor: f64) {
        self.with(|s| s.routing_skew.insert(variant.to_string(), factor));
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

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Records the call and fails it if a fault is queued for the operation (or the
    /// caller has "crashed", see [`crash_after`](Self::crash_after)).
    fn call(&self, op: &str) -> PortResult<()> {
        self.with(|s| {
            if s.crash_after == Some(0) {
                return Err(PortError::Unavailable(format!(
                    "{op}: the caller crashed before this call"
                )));
            }
            if let Some(left) = s.crash_after.as_mut().filter(|_| is_mutating(op)) {
                *left -= 1;
            }
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

    /// Lets the next `n` mutating calls (create, update, delete, put, register,
    /// deregister) through, then fails every call until [`recover`](Self::recover): a
    /// caller killed right after its `n`-th change, as a Lambda timing out mid-task is.
    pub fn crash_after(&self, n: usize) {
        self.with(|s| s.crash_after = Some(n));
    }

    /// Ends a [`crash_after`](Self::crash_after): calls go through again.
    pub fn recover(&self) {
        self.with(|s| s.crash_after = None);
    }

    /// Operations called so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.with(|s| s.calls.clone())
    }
}

/// Whether an operation changes something (what a crash can interrupt).
fn is_mutating(op: &str) -> bool {
    [
        "Create",
        "Update",
        "Delete",
        "Put",
        "Register",
        "Deregister",
        "Stop",
        "Start",
    ]
    .iter()
    .any(|verb| op.starts_with(verb))
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
