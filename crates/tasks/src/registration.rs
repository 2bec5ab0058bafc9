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

/// The model tag that links a deployed model (and so its endpoint variant) to the
/// registry's package: how a verdict on the variant finds the package to write to.
pub const LINEAGE_TAG: &str = "weighbridge:modelPackageArn";

/// The tags a model deployed from `package` carries.
pub(crate) fn lineage_tags(package: Option<&str>) -> BTreeMap<String, String> {
    package
        .map(|arn| BTreeMap::from([(LINEAGE_TAG.to_string(), arn.to_string())]))
        .unwrap_or_default()
}

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
    /// With `pendingManualApproval`, how the retrain workflow learns of the approval:
    /// `poll` (default: it polls the package every 10 minutes, up to 7 days, and deploys
    /// once approved or ends once rejected) or `event` (it ends as `registered`; the
    /// template's EventBridge rule on "SageMaker Model Package State Change" to
    /// `Approved` starts the deploy through start-retraining).
    #[serde(default)]
    pub await_approval: AwaitApproval,
}

/// How the retrain workflow waits for a person's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AwaitApproval {
    /// The workflow polls DescribeModelPackage.
    #[default]
    Poll,
    /// The workflow ends; the approval event deploys.
    Event,
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
    /// The retrain workflow's next step once the candidate is registered.
    pub(crate) fn next(&self) -> crate::evaluate_model::GateNext {
        use crate::evaluate_model::GateNext;
        match (self.approval, self.await_approval) {
            (GateApproval::Approved, _) => GateNext::Deploy,
            (GateApproval::PendingManualApproval, AwaitApproval::Poll) => GateNext::AwaitApproval,
            (GateApproval::PendingManualApproval, AwaitApproval::Event) => GateNext::AwaitApprovalEvent,
        }
    }

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
            crate::verdicts::metadata_text(candidate.metric),
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
