//! The ports: small traits for the services the tasks call, in domain types only (no
//! SDK types), with one implementation on the AWS SDK and one embedded.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

mod alarms;
mod autoscaling;
mod registry;
pub use alarms::*;
pub use autoscaling::*;
pub use registry::*;

/// How a port call failed, in the terms the tasks act on.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PortError {
    /// The resource does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A resource of that name exists.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The service throttled the call.
    #[error("throttled: {0}")]
    Throttled(String),
    /// The service refused the request as invalid.
    #[error("rejected: {0}")]
    Validation(String),
    /// A conditional write found another version (S3 412).
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The service failed (5xx) or could not be reached.
    #[error("service unavailable: {0}")]
    Unavailable(String),
}

/// A port call's result.
pub type PortResult<T> = Result<T, PortError>;

// ---------------------------------------------------------------- SageMaker

/// One input channel of a training job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Channel {
    /// The channel's name (`train`, `validation`, …).
    pub name: String,
    /// `s3://…` prefix or object of its data.
    pub s3_uri: String,
    /// Its content type (`text/csv`, …).
    #[serde(default)]
    pub content_type: Option<String>,
}

/// Managed spot training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpotTraining {
    /// Longest wait for spot capacity plus training, in seconds (≥ maxRuntimeSeconds).
    pub max_wait_seconds: i32,
    /// `s3://…` for checkpoints, so an interrupted job resumes.
    pub checkpoint_s3_uri: String,
}

/// Everything CreateTrainingJob needs, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingJobRequest {
    /// The job's name.
    pub name: String,
    /// The training image.
    pub image: String,
    /// The execution role.
    pub role_arn: String,
    /// Hyperparameters, as strings.
    pub hyperparameters: BTreeMap<String, String>,
    /// Input channels.
    pub channels: Vec<Channel>,
    /// `s3://…` for the model artifacts.
    pub output_path: String,
    /// Instance type.
    pub instance_type: String,
    /// Instance count.
    pub instance_count: i32,
    /// Volume size in GB.
    pub volume_gb: i32,
    /// Maximum runtime in seconds.
    pub max_runtime_seconds: i32,
    /// Managed spot training, if asked.
    pub spot: Option<SpotTraining>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// Training job status, as SageMaker names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrainingStatus {
    /// Running.
    InProgress,
    /// Finished with a model.
    Completed,
    /// Failed (see the failure reason).
    Failed,
    /// Being stopped.
    Stopping,
    /// Stopped.
    Stopped,
}

/// What DescribeTrainingJob says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingJobDescription {
    /// The job's name.
    pub name: String,
    /// Its status.
    pub status: TrainingStatus,
    /// Why it failed, if it did.
    pub failure_reason: Option<String>,
    /// `FinalMetricDataList` as name → value, e.g. `validation:rmse`.
    pub final_metrics: BTreeMap<String, f64>,
    /// `s3://…/model.tar.gz` once Completed.
    pub model_artifacts: Option<String>,
    /// The training image.
    pub image: String,
    /// Its hyperparameters.
    pub hyperparameters: BTreeMap<String, String>,
    /// Its output path.
    pub output_path: String,
    /// Its instance type.
    pub instance_type: String,
    /// Its instance count.
    pub instance_count: i32,
}

/// CreateModel with one container (or a multi-model container).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRequest {
    /// The model's name.
    pub name: String,
    /// The inference image.
    pub image: String,
    /// `s3://…/model.tar.gz` (or the prefix of a multi-model endpoint).
    pub model_data_url: Option<String>,
    /// The execution role.
    pub role_arn: String,
    /// Whether the container serves many models (`Mode: MultiModel`).
    pub multi_model: bool,
    /// The container's environment.
    pub environment: BTreeMap<String, String>,
    /// Tags on the model (lineage: `weighbridge:modelPackageArn`, the registry's package
    /// it was deployed from, so a verdict on the variant reaches the registry).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One production variant of an endpoint config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantSpec {
    /// The variant's name.
    pub name: String,
    /// The model it serves.
    pub model_name: String,
    /// Instance type.
    pub instance_type: String,
    /// Initial instance count.
    pub initial_instance_count: i32,
    /// Initial (relative) weight.
    pub initial_weight: f64,
}

/// An endpoint config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointConfig {
    /// The config's name.
    pub name: String,
    /// Its production variants.
    pub variants: Vec<VariantSpec>,
    /// Its shadow variant, if any (`ShadowProductionVariants`: SageMaker allows one, and
    /// then exactly one production variant). It answers a mirrored copy of the
    /// production variant's requests; its `initial_weight` over the production
    /// variant's is the share of requests mirrored.
    #[serde(default)]
    pub shadow_variants: Vec<VariantSpec>,
    /// Data Capture, if on: the live evidence of an A/B evaluation.
    #[serde(default)]
    pub data_capture: Option<DataCapture>,
}

/// An endpoint config's `DataCaptureConfig`: SageMaker writes each sampled request and
/// response as a JSON line under
/// `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataCapture {
    /// `s3://bucket/prefix` the captures go under.
    pub destination_s3_uri: String,
    /// Percentage of requests captured (0 to 100; `InitialSamplingPercentage`).
    pub sampling_percentage: u32,
    /// Capture the request bodies too (`Input`), not only the responses (`Output`).
    /// Off halves the storage; the evaluator needs only the responses.
    pub capture_input: bool,
    /// KMS key (ID, ARN or alias) that encrypts the captures at rest.
    pub kms_key_id: Option<String>,
    /// Content types captured as CSV text instead of base64 (`CsvContentTypes`).
    pub csv_content_types: Vec<String>,
    /// Content types captured as JSON text instead of base64 (`JsonContentTypes`).
    pub json_content_types: Vec<String>,
}

/// Endpoint status, as SageMaker names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndpointStatus {
    /// Out of service.
    OutOfService,
    /// Being created.
    Creating,
    /// Being updated.
    Updating,
    /// SageMaker is updating it.
    SystemUpdating,
    /// Rolling back a failed update.
    RollingBack,
    /// Serving.
    InService,
    /// Being deleted.
    Deleting,
    /// Failed (see the failure reason).
    Failed,
    /// A rollback failed.
    UpdateRollbackFailed,
}

/// A live variant's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantState {
    /// The variant's name.
    pub name: String,
    /// Its current weight.
    pub current_weight: f64,
    /// Its current instance count.
    pub current_instance_count: i32,
}

/// What DescribeEndpoint says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointDescription {
    /// The endpoint's name.
    pub name: String,
    /// The config it runs.
    pub config_name: String,
    /// Its status.
    pub status: EndpointStatus,
    /// Why it failed or rolled back, if it did.
    pub failure_reason: Option<String>,
    /// Its production variants.
    pub variants: Vec<VariantState>,
    /// Its shadow variants (at most one), their weights as configured.
    #[serde(default)]
    pub shadow_variants: Vec<VariantState>,
    /// When it last changed (`LastModifiedTime`): a live experiment never starts before
    /// its endpoint's current config did.
    #[serde(default)]
    pub last_modified: Option<chrono::DateTime<chrono::Utc>>,
}

impl EndpointDescription {
    /// Share of the production traffic mirrored to the shadow variant — its weight over
    /// the production variants' (at most 1; all of it while production weighs nothing)
    /// — or `None` without a shadow.
    pub fn mirrored_share(&self) -> Option<f64> {
        let shadow = self.shadow_variants.first()?;
        let production: f64 = self.variants.iter().map(|v| v.current_weight).sum();
        Some(if production > 0.0 {
            (shadow.current_weight / production).min(1.0)
        } else {
            1.0
        })
    }
}

/// One UpdateEndpoint call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EndpointUpdate<'a> {
    /// The endpoint.
    pub name: &'a str,
    /// The config it moves to.
    pub config_name: &'a str,
    /// The API's `DeploymentConfig` JSON (checked by deploy against the kind of update).
    pub deployment_config: Option<&'a serde_json::Value>,
    /// `RetainAllVariantProperties` with `ExcludeRetainedVariantProperties`
    /// `[DesiredWeight, DataCaptureConfig]`: a variant the new config keeps by name keeps
    /// its live instance count (what autoscaling set), while the weights and the capture
    /// still come from the new config — Weighbridge's.
    pub retain_instance_counts: bool,
}

/// The SageMaker control plane, as far as the tasks use it.
#[async_trait]
pub trait SageMaker: Send + Sync {
    /// CreateTrainingJob; answers the job's ARN.
    async fn create_training_job(&self, request: &TrainingJobRequest) -> PortResult<String>;
    /// DescribeTrainingJob.
    async fn describe_training_job(&self, name: &str) -> PortResult<TrainingJobDescription>;
    /// StopTrainingJob (a workflow's cleanup of a job it can no longer wait for).
    async fn stop_training_job(&self, name: &str) -> PortResult<()>;
    /// CreateModel; answers the model's ARN.
    async fn create_model(&self, request: &ModelRequest) -> PortResult<String>;
    /// DeleteModel.
    async fn delete_model(&self, name: &str) -> PortResult<()>;
    /// The model's tags (DescribeModel for its ARN, then ListTags).
    async fn model_tags(&self, name: &str) -> PortResult<BTreeMap<String, String>>;
    /// CreateEndpointConfig; answers its ARN.
    async fn create_endpoint_config(&self, config: &EndpointConfig) -> PortResult<String>;
    /// DescribeEndpointConfig.
    async fn describe_endpoint_config(&self, name: &str) -> PortResult<EndpointConfig>;
    /// DeleteEndpointConfig.
    async fn delete_endpoint_config(&self, name: &str) -> PortResult<()>;
    /// CreateEndpoint; answers its ARN.
    async fn create_endpoint(&self, name: &str, config_name: &str) -> PortResult<String>;
    /// UpdateEndpoint.
    async fn update_endpoint(&self, update: &EndpointUpdate<'_>) -> PortResult<()>;
    /// DescribeEndpoint.
    async fn describe_endpoint(&self, name: &str) -> PortResult<EndpointDescription>;
    /// DeleteEndpoint (a workflow's cleanup of an endpoint it created that failed).
    async fn delete_endpoint(&self, name: &str) -> PortResult<()>;
    /// UpdateEndpointWeightsAndCapacities with these weights.
    async fn update_endpoint_weights(&self, name: &str, weights: &BTreeMap<String, f64>) -> PortResult<()>;
}

// ---------------------------------------------------------------- runtime

/// One InvokeEndpoint call.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeRequest {
    /// The endpoint.
    pub endpoint: String,
    /// The request body.
    pub body: Vec<u8>,
    /// Its content type.
    pub content_type: String,
    /// The wanted response type.
    pub accept: Option<String>,
    /// The variant to invoke (instead of the weights' routing).
    pub target_variant: Option<String>,
    /// The model of a multi-model endpoint to invoke.
    pub target_model: Option<String>,
    /// The caller's ID for the request (`InferenceId`): Data Capture records it, and
    /// ground truth joins on it.
    pub inference_id: Option<String>,
}

/// What the model answered.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeResponse {
    /// The response body.
    pub body: Vec<u8>,
    /// Its content type.
    pub content_type: Option<String>,
    /// The variant that answered.
    pub invoked_variant: Option<String>,
}

/// The SageMaker runtime.
#[async_trait]
pub trait Runtime: Send + Sync {
    /// InvokeEndpoint.
    async fn invoke_endpoint(&self, request: &InvokeRequest) -> PortResult<InvokeResponse>;
}

// ---------------------------------------------------------------- S3

/// An object's body and ETag.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    /// The object's bytes.
    pub body: Vec<u8>,
    /// Its ETag.
    pub etag: String,
}

/// An object's body as it arrives, chunk by chunk (large test sets are never held
/// whole), with its ETag.
pub struct ObjectChunks {
    /// The object's ETag.
    pub etag: String,
    /// Its bytes, chunk by chunk.
    pub chunks: futures::stream::BoxStream<'static, PortResult<Vec<u8>>>,
}

/// A listed object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSummary {
    /// The key.
    pub key: String,
    /// Its ETag.
    pub etag: String,
    /// Its size in bytes.
    pub size: u64,
}

/// When a put may overwrite.
#[derive(Debug, Clone, PartialEq)]
pub enum PutCondition {
    /// Write whatever is there.
    Always,
    /// Only if no object exists (`If-None-Match: *`).
    IfAbsent,
    /// Only if the current ETag matches (`If-Match`).
    IfMatch(String),
}

/// S3, as far as the tasks use it.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// GetObject, whole.
    async fn get_object(&self, bucket: &str, key: &str) -> PortResult<StoredObject>;
    /// The same object as a stream of chunks; a failure mid-body is an item's error.
    async fn get_object_chunks(&self, bucket: &str, key: &str) -> PortResult<ObjectChunks>;
    /// Returns the new ETag; `PreconditionFailed` when the condition does not hold.
    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        condition: PutCondition,
    ) -> PortResult<String>;
    /// Every object under `prefix`, in key order.
    async fn list_objects(&self, bucket: &str, prefix: &str) -> PortResult<Vec<ObjectSummary>>;
}

// ---------------------------------------------------------------- CloudWatch

/// One CloudWatch datapoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricDatum {
    /// The metric's name.
    pub name: String,
    /// Its value.
    pub value: f64,
    /// CloudWatch unit name: `None` or `Count`.
    pub unit: String,
    /// Its dimensions (`EndpointName`, `VariantName`).
    pub dimensions: Vec<(String, String)>,
}

/// One metric of one variant over a time range (GetMetricStatistics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricQuery {
    /// The namespace (`AWS/SageMaker` for endpoint invocations).
    pub namespace: String,
    /// The metric (`ModelLatency`, `Invocations`, `Invocation5XXErrors`).
    pub name: String,
    /// Its dimensions (`EndpointName`, `VariantName`).
    pub dimensions: Vec<(String, String)>,
    /// Start of the range (inclusive).
    pub start: chrono::DateTime<chrono::Utc>,
    /// End of the range (exclusive).
    pub end: chrono::DateTime<chrono::Utc>,
}

/// A metric's statistics summed over a range's datapoints.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricTotals {
    /// `SampleCount` summed.
    pub sample_count: f64,
    /// `Sum` summed.
    pub sum: f64,
}

impl MetricTotals {
    /// The mean over the range (`None` without samples).
    pub fn mean(&self) -> Option<f64> {
        (self.sample_count > 0.0).then(|| self.sum / self.sample_count)
    }
}

/// CloudWatch metrics.
#[async_trait]
pub trait MetricSink: Send + Sync {
    /// At most [`MAX_DATUMS_PER_PUT`] datums per call.
    async fn put_metric_data(&self, namespace: &str, data: &[MetricDatum]) -> PortResult<()>;
    /// GetMetricStatistics (`SampleCount`, `Sum`) over the range, summed over its
    /// datapoints; zeros when there are none.
    async fn metric_totals(&self, query: &MetricQuery) -> PortResult<MetricTotals>;
}

/// PutMetricData's limit on datums per request.
pub const MAX_DATUMS_PER_PUT: usize = 1000;

// ---------------------------------------------------------------- Step Functions

/// Step Functions executions.
#[async_trait]
pub trait Workflows: Send + Sync {
    /// Starts an execution and returns its ARN; `AlreadyExists` when the name is taken
    /// by an execution with a different input.
    async fn start_execution(&self, state_machine_arn: &str, name: &str, input: &str) -> PortResult<String>;
    /// The status of an execution (`RUNNING`, `SUCCEEDED`, …), `None` if there is none.
    async fn execution_status(&self, execution_arn: &str) -> PortResult<Option<String>>;
}
