//! The Model Registry: model package groups, versioned packages, approval updates with
//! SageMaker's limits, and the "SageMaker Model Package State Change" event EventBridge
//! carries on every creation and approval change.

use super::*;
use weighbridge_tasks::ports::{ApprovalUpdate, ModelPackage, ModelPackageRequest, Registry};

/// What the registry keeps: groups, and packages by ARN (with the token that created each).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegistryState {
    groups: BTreeMap<String, String>,
    packages: BTreeMap<String, (ModelPackage, String)>,
}

impl MemoryBackend {
    /// Every model package, by ARN.
    pub fn model_packages(&self) -> BTreeMap<String, ModelPackage> {
        self.with(|s| {
            s.world
                .registry
                .packages
                .iter()
                .map(|(arn, (p, _))| (arn.clone(), p.clone()))
                .collect()
        })
    }
}

/// The state change as EventBridge delivers it (detail as DescribeModelPackage).
fn state_change(package: &ModelPackage, now: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "resources": [package.arn],
        "detail": {
            "ModelPackageGroupName": package.group,
            "ModelPackageVersion": package.version,
            "ModelPackageArn": package.arn,
            "ModelApprovalStatus": package.approval.as_str(),
            "ApprovalDescription": package.approval_description,
            "CustomerMetadataProperties": package.metadata,
        }
    })
}

fn check_metadata(metadata: &BTreeMap<String, String>) -> PortResult<()> {
    let bad = metadata.len() > 50
        || metadata
            .iter()
            .any(|(k, v)| k.is_empty() || k.len() > 128 || v.len() > 256 || k.starts_with("aws:"));
    if bad {
        return Err(PortError::Validation(
            "CustomerMetadataProperties: at most 50, keys of 1 to 128 characters not starting with aws:, values up to 256".into(),
        ));
    }
    Ok(())
}

#[async_trait]
impl Registry for MemoryBackend {
    async fn create_group(&self, name: &str, description: &str) -> PortResult<()> {
        self.call("CreateModelPackageGroup")?;
        self.with(|s| {
            if s.world.registry.groups.contains_key(name) {
                return Err(PortError::AlreadyExists(format!("model package group {name}")));
            }
            s.world
                .registry
                .groups
                .insert(name.to_string(), description.to_string());
            Ok(())
        })
    }

    async fn create_model_package(&self, r: &ModelPackageRequest) -> PortResult<String> {
        self.call("CreateModelPackage")?;
        check_metadata(&r.metadata)?;
        let now = self.clock.now();
        self.with(|s| {
            if !s.world.registry.groups.contains_key(&r.group) {
                return Err(PortError::Validation(format!(
                    "Model Package Group {} does not exist.",
                    r.group
                )));
            }
            let same_token = s
                .world
                .registry
                .packages
                .values()
                .find(|(p, token)| p.group == r.group && *token == r.client_token);
            if let Some((p, _)) = same_token {
                return Ok(p.arn.clone());
            }
            let version = 1 + s
                .world
                .registry
                .packages
                .values()
                .filter(|(p, _)| p.group == r.group)
                .count() as i64;
            let arn = format!(
                "arn:aws:sagemaker:us-east-1:000000000000:model-package/{}/{version}",
                r.group.to_ascii_lowercase()
            );
            let package = ModelPackage {
                arn: arn.clone(),
                group: r.group.clone(),
                version,
                approval: r.approval,
                approval_description: None,
                metadata: r.metadata.clone(),
                image: r.image.clone(),
                model_data_url: r.model_data_url.clone(),
            };
            s.world.events.push(state_change(&package, now));
            s.world
                .registry
                .packages
                .insert(arn.clone(), (package, r.client_token.clone()));
            Ok(arn)
        })
    }

    async fn describe_model_package(&self, arn: &str) -> PortResult<ModelPackage> {
        self.call("DescribeModelPackage")?;
        self.with(|s| {
            s.world
                .registry
                .packages
                .get(arn)
                .map(|(p, _)| p.clone())
                .ok_or_else(|| not_found("model package", arn))
        })
    }

    async fn update_approval(&self, u: &ApprovalUpdate) -> PortResult<()> {
        self.call("UpdateModelPackage")?;
        if u.description.len() > 1024 {
            return Err(PortError::Validation(
                "ApprovalDescription must be at most 1024 characters".into(),
            ));
        }
        check_metadata(&u.metadata)?;
        let now = self.clock.now();
        self.with(|s| {
            let (package, _) = s
                .world
                .registry
                .packages
                .get_mut(&u.arn)
                .ok_or_else(|| not_found("model package", &u.arn))?;
            let mut metadata = package.metadata.clone();
            metadata.extend(u.metadata.clone());
            check_metadata(&metadata)?;
            package.metadata = metadata;
            package.approval = u.approval;
            package.approval_description = Some(u.description.clone());
            let event = state_change(package, now);
            s.world.events.push(event);
            Ok(())
        })
    }
}
