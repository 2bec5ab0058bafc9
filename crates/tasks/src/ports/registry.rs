//! The SageMaker Model Registry: model package groups and versioned model packages with
//! their approval status — where teams that use SageMaker Pipelines approve models, and
//! where Weighbridge records its verdicts (approval, a description with the decision's
//! reason, the evidence as customer metadata).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::PortResult;

/// `ModelApprovalStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalStatus {
    /// Waiting for a person (or a pipeline) to approve.
    PendingManualApproval,
    /// Approved for deployment.
    Approved,
    /// Rejected.
    Rejected,
}

impl ApprovalStatus {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingManualApproval => "PendingManualApproval",
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
        }
    }

    /// From the API's name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "PendingManualApproval" => Some(Self::PendingManualApproval),
            "Approved" => Some(Self::Approved),
            "Rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// CreateModelPackage for a versioned package in a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPackageRequest {
    /// The model package group.
    pub group: String,
    /// `ModelPackageDescription`.
    pub description: String,
    /// The inference image.
    pub image: String,
    /// `s3://…/model.tar.gz`.
    pub model_data_url: String,
    /// Content types the container accepts and answers (`text/csv`, …).
    pub content_types: Vec<String>,
    /// The initial approval.
    pub approval: ApprovalStatus,
    /// `CustomerMetadataProperties` (lineage: the training job, the gate's verdict).
    pub metadata: BTreeMap<String, String>,
    /// Idempotency token: the same token and request → the same package.
    pub client_token: String,
}

/// What DescribeModelPackage says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPackage {
    /// Its ARN.
    pub arn: String,
    /// Its group.
    pub group: String,
    /// Its version in the group.
    pub version: i64,
    /// Its approval.
    pub approval: ApprovalStatus,
    /// `ApprovalDescription`.
    pub approval_description: Option<String>,
    /// `CustomerMetadataProperties`.
    pub metadata: BTreeMap<String, String>,
    /// The inference image.
    pub image: String,
    /// The model artifact.
    pub model_data_url: String,
}

/// An approval change (UpdateModelPackage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalUpdate {
    /// The package.
    pub arn: String,
    /// The new status.
    pub approval: ApprovalStatus,
    /// Why (`ApprovalDescription`, at most 1,024 characters).
    pub description: String,
    /// Metadata to add or overwrite (the evidence).
    pub metadata: BTreeMap<String, String>,
}

/// The Model Registry.
#[async_trait]
pub trait Registry: Send + Sync {
    /// CreateModelPackageGroup (an existing group is fine: `AlreadyExists`).
    async fn create_group(&self, name: &str, description: &str) -> PortResult<()>;
    /// CreateModelPackage; answers the package's ARN.
    async fn create_model_package(&self, request: &ModelPackageRequest) -> PortResult<String>;
    /// DescribeModelPackage.
    async fn describe_model_package(&self, arn: &str) -> PortResult<ModelPackage>;
    /// UpdateModelPackage: approval, its description, metadata.
    async fn update_approval(&self, update: &ApprovalUpdate) -> PortResult<()>;
}
