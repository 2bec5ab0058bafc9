//! **train**: a compact training spec → CreateTrainingJob.
//!
//! The job name is derived from the execution (and the spec), so a retried task does
//! not start a second job: if the name exists with the same spec, that is success; with
//! a different spec it is `Weighbridge.Conflict`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::port;
use crate::image_uris::{builtin_image, ImageScope};
use crate::names::readable_unique;
use crate::ports::{Channel, PortError, SageMaker, SpotTraining, TrainingJobDescription, TrainingJobRequest};
use crate::{validation, TaskError};

/// Which container trains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
pub enum Algorithm {
    /// A SageMaker built-in algorithm by name and version (`linear-learner` `1`,
    /// `xgboost` `1.7-1`); the image is resolved for the region.
    Builtin {
        /// Its name (`linear-learner`, `xgboost`, …).
        name: String,
        /// Its version (default `latest`).
        #[serde(default = "default_version")]
        version: String,
    },
    /// Any training image.
    Image {
        /// The training image's ECR URI.
        uri: String,
    },
    /// A framework or Hugging Face image with a training script: sets the
    /// `sagemaker_program` and `sagemaker_submit_directory` hyperparameters.
    Script {
        /// The framework image's ECR URI.
        uri: String,
        /// The script to run (`train.py`).
        entry_point: String,
        /// `s3://…/sourcedir.tar.gz`
        source_dir: String,
    },
}

fn default_version() -> String {
    "latest".into()
}

/// The task's input: a compact training spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrainInput {
    /// The Step Functions execution name (`$$.Execution.Name`): the job name derives from it.
    pub execution_name: String,
    /// Short prefix for the job name (default `wb`).
    #[serde(default = "default_prefix")]
    pub job_prefix: String,
    /// Which container trains.
    pub algorithm: Algorithm,
    /// Hyperparameters; numbers and booleans are sent as strings, as the API wants.
    #[serde(default)]
    pub hyperparameters: BTreeMap<String, Value>,
    /// Input channels (`train`, `validation`, …).
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// The data set that started this retrain (`s3://…`): becomes the `train` channel,
    /// replacing its URI if `channels` has one (its content type is kept), added as
    /// `text/csv` otherwise. The retrain workflow passes the uploaded object here.
    #[serde(default)]
    pub train_data_uri: Option<String>,
    /// `s3://bucket/prefix/` for model artifacts.
    pub output_path: String,
    /// The SageMaker execution role.
    pub role_arn: String,
    /// The instance type (default `ml.m5.large`).
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    /// Instances (default 1).
    #[serde(default = "one")]
    pub instance_count: i32,
    /// Volume size in GB (default 10).
    #[serde(default = "default_volume")]
    pub volume_gb: i32,
    /// Maximum runtime in seconds (default 3600).
    #[serde(default = "default_runtime")]
    pub max_runtime_seconds: i32,
    /// Managed spot training; `maxWaitSeconds` must be ≥ `maxRuntimeSeconds`.
    #[serde(default)]
    pub spot: Option<SpotTraining>,
    /// Tags for the job.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn default_prefix() -> String {
    "wb".into()
}
fn default_instance_type() -> String {
    "ml.m5.large".into()
}
fn one() -> i32 {
    1
}
fn default_volume() -> i32 {
    10
}
fn default_runtime() -> i32 {
    3600
}

/// The task's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainOutput {
    /// The job's name (derived from the execution and the spec).
    pub training_job_name: String,
    /// The training image used.
    pub image: String,
    /// False when the job already existed with the same spec (a retry).
    pub created: bool,
}

/// The channels with `trainDataUri` applied.
fn channels_of(input: &TrainInput) -> Vec<Channel> {
    let mut channels = input.channels.clone();
    if let Some(uri) = &input.train_data_uri {
        match channels.iter_mut().find(|c| c.name == "train") {
            Some(train) => train.s3_uri = uri.clone(),
            None => channels.insert(
                0,
                Channel {
                    name: "train".into(),
                    s3_uri: uri.clone(),
                    content_type: Some("text/csv".into()),
                },
            ),
        }
    }
    channels
}

/// Channels as CreateTrainingJob takes them: at most 20, unique names of 1 to 64
/// letters, digits, `.`, `-` or `_`, each an `s3://` URI.
fn check_channels(channels: &[Channel]) -> Result<(), TaskError> {
    if channels.len() > 20 {
        return Err(TaskError::InvalidInput(format!(
            "{} channels; CreateTrainingJob takes at most 20",
            channels.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in channels {
        let name_ok = (1..=64).contains(&c.name.len())
            && c.name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ".-_".contains(ch));
        if !name_ok || !seen.insert(&c.name) {
            return Err(TaskError::InvalidInput(format!(
                "channel name {} must be 1 to 64 letters, digits, '.', '-' or '_', each name once",
                validation::shown(&c.name)
            )));
        }
        validation::s3_uri(&format!("channel {} s3Uri", c.name), &c.s3_uri)?;
    }
    Ok(())
}

/// Builds the CreateTrainingJob request, validating everything first.
pub fn build_request(input: &TrainInput, region: &str) -> Result<TrainingJobRequest, TaskError> {
    let invalid = |m: String| Err(TaskError::InvalidInput(m));
    validation::execution_name("executionName", &input.execution_name)?;
    let channels = channels_of(input);
    if channels.is_empty() {
        return invalid("channels is empty; give at least a `train` channel (or trainDataUri)".into());
    }
    check_channels(&channels)?;
    validation::s3_uri("outputPath", &input.output_path)?;
    validation::role_arn("roleArn", &input.role_arn)?;
    validation::instance_type("instanceType", &input.instance_type)?;
    if input.instance_count < 1 || input.volume_gb < 1 || input.max_runtime_seconds < 1 {
        return invalid("instanceCount, volumeGb and maxRuntimeSeconds must be ≥ 1".into());
    }
    if let Some(spot) = &input.spot {
        if spot.max_wait_seconds < input.max_runtime_seconds {
            return invalid(format!(
                "spot.maxWaitSeconds {} must be ≥ maxRuntimeSeconds {}",
                spot.max_wait_seconds, input.max_runtime_seconds
            ));
        }
        validation::s3_uri("spot.checkpointS3Uri", &spot.checkpoint_s3_uri)?;
    }
    let mut hyperparameters = BTreeMap::new();
    for (k, v) in &input.hyperparameters {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => v.to_string(),
            other => {
                return invalid(format!(
                    "hyperparameter {k} is {other}; use a string, number or boolean"
                ))
            }
        };
        hyperparameters.insert(k.clone(), text);
    }
    let image = match &input.algorithm {
        Algorithm::Builtin { name, version } => builtin_image(name, version, region, ImageScope::Training)?,
        Algorithm::Image { uri } => uri.clone(),
        Algorithm::Script {
            uri,
            entry_point,
            source_dir,
        } => {
            // The framework containers read these JSON-encoded strings.
            hyperparameters.insert("sagemaker_program".into(), format!("\"{entry_point}\""));
            hyperparameters.insert("sagemaker_submit_directory".into(), format!("\"{source_dir}\""));
            uri.clone()
        }
    };
    let spec = serde_json::to_string(&(&image, &hyperparameters, &channels, &input.output_path))
        .map_err(crate::error::unserialisable)?;
    // The prefix stays whole; the execution name's tail and a hash fill the rest.
    if input.job_prefix.is_empty()
        || input.job_prefix.len() > 20
        || !input
            .job_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return invalid(format!(
            "jobPrefix {:?} must be 1 to 20 letters, digits or hyphens",
            input.job_prefix
        ));
    }
    let name = format!(
        "{}-{}",
        input.job_prefix,
        readable_unique(
            &input.execution_name,
            &[&input.execution_name, &spec],
            62 - input.job_prefix.len(),
            false
        )
    );
    Ok(TrainingJobRequest {
        name,
        image,
        role_arn: input.role_arn.clone(),
        hyperparameters,
        channels,
        output_path: input.output_path.clone(),
        instance_type: input.instance_type.clone(),
        instance_count: input.instance_count,
        volume_gb: input.volume_gb,
        max_runtime_seconds: input.max_runtime_seconds,
        spot: input.spot.clone(),
        tags: input.tags.clone(),
    })
}

fn check_same_spec(existing: &TrainingJobDescription, request: &TrainingJobRequest) -> Result<(), TaskError> {
    let same = existing.image == request.image
        && existing.hyperparameters == request.hyperparameters
        && existing.output_path == request.output_path
        && existing.instance_type == request.instance_type
        && existing.instance_count == request.instance_count;
    if same {
        Ok(())
    } else {
        Err(TaskError::Conflict(format!(
            "training job {} already exists with a different spec; use a new execution name",
            request.name
        )))
    }
}

/// Starts the training job, or confirms the one a previous attempt started.
pub async fn train(
    sagemaker: &dyn SageMaker,
    region: &str,
    input: &TrainInput,
) -> Result<TrainOutput, TaskError> {
    let request = build_request(input, region)?;
    // Look before creating: a retried task finds its own job (and emulators that do not
    // enforce unique names behave like SageMaker here too).
    let existing = match sagemaker.describe_training_job(&request.name).await {
        Ok(d) => Some(d),
        Err(PortError::NotFound(_)) => None,
        Err(e) => return Err(port(format!("DescribeTrainingJob {}", request.name))(e)),
    };
    let created = match existing {
        Some(existing) => {
            check_same_spec(&existing, &request)?;
            false
        }
        None => match sagemaker.create_training_job(&request).await {
            Ok(_) => true,
            // A concurrent retry created it between the describe and the create.
            Err(PortError::AlreadyExists(_)) => {
                let existing = sagemaker
                    .describe_training_job(&request.name)
                    .await
                    .map_err(port(format!("DescribeTrainingJob {}", request.name)))?;
                check_same_spec(&existing, &request)?;
                false
            }
            Err(e) => return Err(port(format!("CreateTrainingJob {}", request.name))(e)),
        },
    };
    tracing::info!(job = %request.name, created, "training job");
    Ok(TrainOutput {
        training_job_name: request.name,
        image: request.image,
        created,
    })
}
