//! The Model Registry: model package groups, versioned packages, approval updates with
//! SageMaker's limits, and the "SageMaker Model Package State Change" event EventBridge
//! carries on every creation and approval change; a scripted reviewer (a person who
//! approves or rejects a group's pending packages some virtual minutes after they are
//! registered) and the template's EventBridge rule that sends a group's approvals to
//! start-retraining.

use super::*;
use weighbridge_tasks::ports::{ApprovalStatus, ApprovalUpdate, ModelPackage, ModelPackageRequest, Registry};
use weighbridge_tasks::registration::LINEAGE_TAG;

/// What the registry keeps: groups, and packages by ARN (with the token that created each).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegistryState {
    groups: BTreeMap<String, String>,
    packages: BTreeMap<String, (ModelPackage, String)>,
    /// When each package was created, by ARN.
    #[serde(default)]
    created: BTreeMap<String, DateTime<Utc>>,
    /// Scripted reviewers, by group.
    #[serde(default)]
    reviewers: BTreeMap<String, Reviewer>,
    /// The group whose approvals the EventBridge rule routes to start-retraining.
    #[serde(default)]
    approval_rule: Option<String>,
    /// Events already routed by that rule (an index into the world's events).
    #[serde(default)]
    routed: usize,
}

/// A person who decides every pending package of a group `after_seconds` after it was
/// registered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reviewer {
    decision: ApprovalStatus,
    after_seconds: i64,
    description: String,
}

impl MemoryBackend {
    /// A reviewer for `group`: each package registered there pending approval gets
    /// `decision` with `description`, `after` it was registered (virtual time).
    pub fn review_packages(
        &self,
        group: &str,
        decision: ApprovalStatus,
        after: chrono::Duration,
        description: &str,
    ) {
        let reviewer = Reviewer {
            decision,
            after_seconds: after.num_seconds(),
            description: description.to_string(),
        };
        self.with(|s| s.world.registry.reviewers.insert(group.to_string(), reviewer));
    }

    /// The template's rule for `awaitApproval: event`: "SageMaker Model Package State
    /// Change" events of `group`'s packages going to Approved are for start-retraining.
    pub fn route_package_approvals(&self, group: &str) {
        self.with(|s| {
            s.world.registry.approval_rule = Some(group.to_string());
            s.world.registry.routed = s.world.events.len();
        });
    }

    /// The events the rule matched since the last call (what EventBridge delivers to
    /// start-retraining), oldest first.
    pub fn take_package_approvals(&self) -> Vec<serde_json::Value> {
        self.with(|s| {
            let Some(group) = s.world.registry.approval_rule.clone() else {
                return Vec::new();
            };
            let new = s.world.events[s.world.registry.routed.min(s.world.events.len())..]
                .iter()
                .filter(|e| {
                    e["detail-type"] == "SageMaker Model Package State Change"
                        && e["detail"]["ModelPackageGroupName"] == group.as_str()
                        && e["detail"]["ModelApprovalStatus"] == "Approved"
                })
                .cloned()
                .collect();
            s.world.registry.routed = s.world.events.len();
            new
        })
    }

    /// Which endpoint variant serves each package now (lineage: the model's tag, as
    /// deploy writes it): package ARN → (endpoint, variant).
    pub fn packages_in_service(&self) -> BTreeMap<String, (String, String)> {
        self.with(|s| {
            let mut out = BTreeMap::new();
            for endpoint in s.world.endpoints.values() {
                let Some(config) = s.world.configs.get(&endpoint.config_name) else {
                    continue;
                };
                for v in config.variants.iter().chain(&config.shadow_variants) {
                    let tag = s
                        .world
                        .models
                        .get(&v.model_name)
                        .and_then(|m| m.tags.get(LINEAGE_TAG));
                    if let Some(arn) = tag {
                        out.insert(arn.clone(), (endpoint.name.clone(), v.name.clone()));
                    }
                }
            }
            out
        })
    }

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

/// Applies each reviewer's decision to the pending packages whose time has come.
pub(super) fn review(s: &mut State, now: DateTime<Utc>) {
    let registry = &mut s.world.registry;
    for (arn, (package, _)) in registry.packages.iter_mut() {
        let Some(reviewer) = registry.reviewers.get(&package.group) else {
            continue;
        };
        let due = registry
            .created
            .get(arn)
            .is_some_and(|t| *t + chrono::Duration::seconds(reviewer.after_seconds) <= now);
        if package.approval == ApprovalStatus::PendingManualApproval && due {
            package.approval = reviewer.decision;
            package.approval_description = Some(reviewer.description.clone());
            s.world.events.push(state_change(package, now));
        }
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
    // SageMaker's pattern for keys and values: [\p{L}\p{Z}\p{N}_.:/=+\-@]*
    let allowed = |t: &str| {
        t.chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
    };
    let bad = metadata.len() > 50
        || metadata.iter().any(|(k, v)| {
            k.is_empty()
                || k.len() > 128
                || v.is_empty()
                || v.len() > 256
                || k.starts_with("aws:")
                || !allowed(k)
                || !allowed(v)
        });
    if bad {
        return Err(PortError::Validation(
            "CustomerMetadataProperties: at most 50, keys of 1 to 128 characters not starting with aws:, values of 1 to 256, both of letters, digits, spaces and _.:/=+-@".into(),
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
            s.world.registry.created.insert(arn.clone(), now);
            s.world
                .registry
                .packages
                .insert(arn.clone(), (package, r.client_token.clone()));
            Ok(arn)
        })
    }

    async fn describe_model_package(&self, arn: &str) -> PortResult<ModelPackage> {
        self.call("DescribeModelPackage")?;
        self.tick();
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
