//! The ports: small traits for the services the tasks call, in domain types only (no
//! SDK types), with one implementation on the AWS SDK and one embedded.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How a port call failed, in the terms the tasks act on.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PortError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    AlreadyExists(String),
    #[error("throttled: {0}")]
    Throttled(String),
    #[error("rejected: {0}")]
    Validation(String),
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
}

pub type PortResult<T> = Result<T, PortError>;

// ---------------------------------------------------------------- SageMaker

/// One input channel of a training job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Channel {
    pub name: String,
    pub s3_uri: String,
    #[serde(default)]
    pub content_type: Option<String>,
}

/// Managed spot training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpotTraining {
    pub max_wait_seconds: i32,
    pub checkpoint_s3_uri: String,
}

/// Everything CreateTrainingJob needs, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingJobRequest {
    pub name: String,
    pub image: String,
    pub role_arn: String,
    pub hyperparameters: BTreeMap<String, String>,
    pub channels: Vec<Channel>,
    pub output_path: String,
    pub instance_type: String,
    pub instance_count: i32,
    pub volume_gb: i32,
    pub max_runtime_seconds: i32,
    pub spot: Option<SpotTraining>,
    pub tags: BTreeMap<String, String>,
}

/// Training job status, as SageMaker names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrainingStatus {
    InProgress,
    Completed,
    Failed,
    Stopping,
    Stopped,
}

/// What DescribeTrainingJob says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingJobDescription {
    pub name: String,
    pub status: TrainingStatus,
    pub failure_reason: Option<String>,
    /// `FinalMetricDataList` as name → value, e.g. `validation:rmse`.
    pub final_metrics: BTreeMap<String, f64>,
    pub model_artifacts: Option<String>,
    pub image: String,
    pub hyperparameters: BTreeMap<String, String>,
    pub output_path: String,
    pub instance_type: String,
    pub instance_count: i32,
}

/// CreateModel with one container (or a multi-model container).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRequest {
    pub name: String,
    pub image: String,
    pub model_data_url: Option<String>,
    pub role_arn: String,
    pub multi_model: bool,
    pub environment: BTreeMap<String, String>,
}

/// One production variant of an endpoint config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantSpec {
    pub name: String,
    pub model_name: String,
    pub instance_type: String,
    pub initial_instance_count: i32,
    pub initial_weight: f64,
}

/// An endpoint config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointConfig {
    pub name: String,
    pub variants: Vec<VariantSpec>,
}

/// Endpoint status, as SageMaker names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndpointStatus {
    OutOfService,
    Creating,
    Updating,
    SystemUpdating,
    RollingBack,
    InService,
    Deleting,
    Failed,
    UpdateRollbackFailed,
}

/// A live variant's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantState {
    pub name: String,
    pub current_weight: f64,
    pub current_instance_count: i32,
}

/// What DescribeEndpoint says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointDescription {
    pub name: String,
    pub config_name: String,
    pub status: EndpointStatus,
    pub failure_reason: Option<String>,
    pub variants: Vec<VariantState>,
}

/// The SageMaker control plane, as far as the tasks use it.
#[async_trait]
pub trait SageMaker: Send + Sync {
    async fn create_training_job(&self, request: &TrainingJobRequest) -> PortResult<String>;
    async fn describe_training_job(&self, name: &str) -> PortResult<TrainingJobDescription>;
    /// StopTrainingJob (a workflow's cleanup of a job it can no longer wait for).
    async fn stop_training_job(&self, name: &str) -> PortResult<()>;
    async fn create_model(&self, request: &ModelRequest) -> PortResult<String>;
    async fn delete_model(&self, name: &str) -> PortResult<()>;
    async fn create_endpoint_config(&self, config: &EndpointConfig) -> PortResult<String>;
    async fn describe_endpoint_config(&self, name: &str) -> PortResult<EndpointConfig>;
    async fn delete_endpoint_config(&self, name: &str) -> PortResult<()>;
    async fn create_endpoint(&self, name: &str, config_name: &str) -> PortResult<String>;
    /// `deployment_config` is passed through as the API's DeploymentConfig JSON.
    async fn update_endpoint(
        &self,
        name: &str,
        config_name: &str,
        deployment_config: Option<&serde_json::Value>,
    ) -> PortResult<()>;
    async fn describe_endpoint(&self, name: &str) -> PortResult<EndpointDescription>;
    /// DeleteEndpoint (a workflow's cleanup of an endpoint it created that failed).
    async fn delete_endpoint(&self, name: &str) -> PortResult<()>;
    async fn update_endpoint_weights(&self, name: &str, weights: &BTreeMap<String, f64>) -> PortResult<()>;
}

// ---------------------------------------------------------------- runtime

/// One InvokeEndpoint call.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeRequest {
    pub endpoint: String,
    pub body: Vec<u8>,
    pub content_type: String,
    pub accept: Option<String>,
    pub target_variant: Option<String>,
    pub target_model: Option<String>,
}

/// What the model answered.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeResponse {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    pub invoked_variant: Option<String>,
}

/// The SageMaker runtime.
#[async_trait]
pub trait Runtime: Send + Sync {
    async fn invoke_endpoint(&self, request: &InvokeRequest) -> PortResult<InvokeResponse>;
}

// ---------------------------------------------------------------- S3

/// An object's body and ETag.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    pub body: Vec<u8>,
    pub etag: String,
}

/// An object's body as it arrives, chunk by chunk (large test sets are never held
/// whole), with its ETag.
pub struct ObjectChunks {
    pub etag: String,
    pub chunks: futures::stream::BoxStream<'static, PortResult<Vec<u8>>>,
}

/// A listed object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSummary {
    pub key: String,
    pub etag: String,
    pub size: u64,
}

/// When a put may overwrite.
#[derive(Debug, Clone, PartialEq)]
pub enum PutCondition {
    Always,
    /// Only if no object exists (`If-None-Match: *`).
    IfAbsent,
    /// Only if the current ETag matches (`If-Match`).
    IfMatch(String),
}

/// S3, as far as the tasks use it.
#[async_trait]
pub trait ObjectStore: Send + Sync {
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
    pub name: String,
    pub value: f64,
    /// CloudWatch unit name: `None` or `Count`.
    pub unit: String,
    pub dimensions: Vec<(String, String)>,
}

/// CloudWatch metrics.
#[async_trait]
pub trait MetricSink: Send + Sync {
    /// At most [`MAX_DATUMS_PER_PUT`] datums per call.
    async fn put_metric_data(&self, namespace: &str, data: &[MetricDatum]) -> PortResult<()>;
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
