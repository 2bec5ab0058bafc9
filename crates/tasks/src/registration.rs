//! Registering a candidate that passed the quality gate as a model package in the
//! SageMaker Model Registry: its group created if missing, its artifact and image taken
//! from the training job, the gate's verdict as description and customer metadata
//! (lineage: the training job), and the approval configured — pending a person's (or a
//! pipeline's) approval, or approved by the gate itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{port, tolerate_existing};
use crate::ports::{ApprovalStatus, ModelPackageRequest, Registry, SageMaker};
use crate::TaskError;

/// evaluate-model's `registry`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrySettings {
    /// The model package group (created if missing): 1 to 63 characters, letters, digits
    /// and hyphens.
    pub group: String,
    /// `pendingManualApproval` (default: a person or a pipeline approves, and the retrain
    /// workflow can wait for it) or `approved` (the gate's pass approves it).
    #[serde(default)]
    pub approval: GateApproval,
    /// Content types the model accepts and answers (default `text/csv`).
    #[serde(default = "csv")]
    pub content_types: Vec<String>,
}

/// The approval a passing candidate is registered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GateApproval {
    /// `PendingManualApproval`.
    #[default]
    PendingManualApproval,
    /// `Approved`.
    Approved,
}

fn csv() -> Vec<String> {
    vec!["text/csv".into()]
}

impl RegistrySettings {
    /// SageMaker's rules for a group name and content types.
    pub fn validate(&self) -> Result<(), TaskError> {
        crate::validation::sagemaker_name("registry.group", &self.group)?;
        if self.content_types.is_empty()
            || self
                .content_types
                .iter()
                .any(|t| t.is_empty() || t.len() > 256 || !t.contains('/'))
        {
            return Err(TaskError::InvalidInput(
                "registry.contentTypes: give at least one MIME type (e.g. text/csv), each up to 256 characters".into(),
            ));
        }
        Ok(())
    }
}

/// What is registered about the candidate.
pub(crate) struct Candidate<'a> {
    /// The completed training job.
    pub training_job: &'a str,
    /// The metric judged and its value.
    pub metric: &'a str,
    /// Its value.
    pub value: f64,
    /// The gate's reason.
    pub reason: &'a str,
}

/// Registers the candidate; answers the model package's ARN. Idempotent: the training
/// job's name is the client token, so a retried gate finds its package.
pub(crate) async fn register(
    registry: &dyn Registry,
    sagemaker: &dyn SageMaker,
    settings: &RegistrySettings,
    candidate: &Candidate<'_>,
) -> Result<String, TaskError> {
    let job = sagemaker
        .describe_training_job(candidate.training_job)
        .await
        .map_err(port(format!("DescribeTrainingJob {}", candidate.training_job)))?;
    let artifact = job.model_artifacts.clone().ok_or_else(|| {
        TaskError::InvalidInput(format!(
            "training job {} has no model artifacts to register",
            candidate.training_job
        ))
    })?;
    tolerate_existing(
        registry
            .create_group(
                &settings.group,
                "Candidates that passed Weighbridge's quality gate",
            )
            .await,
        &format!("CreateModelPackageGroup {}", settings.group),
    )?;
    let metadata = BTreeMap::from([
        (
            "weighbridge:trainingJob".to_string(),
            candidate.training_job.to_string(),
        ),
        (
            "weighbridge:gateMetric".to_string(),
            candidate.metric.chars().take(256).collect(),
        ),
        (
            "weighbridge:gateValue".to_string(),
            format!("{}", candidate.value),
        ),
    ]);
    let request = ModelPackageRequest {
        group: settings.group.clone(),
        description: candidate.reason.chars().take(1024).collect(),
        image: job.image.clone(),
        model_data_url: artifact,
        content_types: settings.content_types.clone(),
        approval: match settings.approval {
            GateApproval::PendingManualApproval => ApprovalStatus::PendingManualApproval,
            GateApproval::Approved => ApprovalStatus::Approved,
        },
        metadata,
        client_token: candidate.training_job.to_string(),
    };
    registry
        .create_model_package(&request)
        .await
        .map_err(port(format!("CreateModelPackage in {}", settings.group)))
}
