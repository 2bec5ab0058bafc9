//! Verdicts written back to the Model Registry: a promoted variant's package is
//! `Approved`, a rolled-back (or removed shadow) variant's package `Rejected`, each with
//! an approval description that gives the decision's reason and the experiment's
//! evidence as customer metadata — so a team that approves models in the registry sees
//! what the live traffic said about them.
//!
//! The link from a variant to its package is the lineage tag deploy puts on the model
//! ([`crate::registration::LINEAGE_TAG`]); a variant without one (deployed without a
//! registry, or from before) gets no verdict. The verdict is written before the endpoint
//! changes: a verdict recorded and then not applied is applied by the workflow's retry,
//! while an endpoint changed with its verdict lost would leave the registry wrong.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::port;
use crate::ports::{ApprovalStatus, ApprovalUpdate, PortError, Registry, SageMaker, VariantSpec};
use crate::registration::LINEAGE_TAG;
use crate::TaskError;

/// Customer metadata entries a verdict's evidence may add (a package holds at most 50,
/// and registration and the verdict's own keys take some).
const MAX_EVIDENCE_ENTRIES: usize = 30;

/// What a shift decided about one variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VerdictKind {
    /// It won and takes the traffic (promote, a shadow graduating by promotion).
    Promoted,
    /// It lost and leaves the traffic (rollback, a removed shadow).
    RolledBack,
}

impl VerdictKind {
    fn approval(self) -> ApprovalStatus {
        match self {
            Self::Promoted => ApprovalStatus::Approved,
            Self::RolledBack => ApprovalStatus::Rejected,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Self::Promoted => "promoted",
            Self::RolledBack => "rolled back",
        }
    }
}

/// Why, as the workflow passes it: the decision's reason and its evidence (any JSON
/// object; flattened into metadata keys `weighbridge:evidence:<path>`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Why<'a> {
    /// The decision's reason, in words.
    pub reason: Option<&'a str>,
    /// The evidence behind it.
    pub evidence: Option<&'a Value>,
}

/// One verdict written to the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryVerdict {
    /// The endpoint variant.
    pub variant: String,
    /// Its model package.
    pub model_package_arn: String,
    /// The approval written.
    pub approval: ApprovalStatus,
    /// What the shift decided.
    pub verdict: VerdictKind,
}

/// Writes `kind` for `variant` to its package, if its model has one; answers what was
/// written. `specs` are the variants whose models may be the variant's (the live config's,
/// or the old and new configs' of a switch).
pub(crate) async fn write_back<'s>(
    sagemaker: &dyn SageMaker,
    registry: &dyn Registry,
    endpoint: &str,
    specs: impl IntoIterator<Item = &'s VariantSpec>,
    (variant, kind): (&str, VerdictKind),
    why: Why<'_>,
) -> Result<Option<RegistryVerdict>, TaskError> {
    let Some(spec) = specs.into_iter().find(|s| s.name == variant) else {
        return Ok(None);
    };
    let Some(package) = package_of(sagemaker, &spec.model_name).await? else {
        return Ok(None);
    };
    let update = ApprovalUpdate {
        arn: package.clone(),
        approval: kind.approval(),
        description: description(endpoint, variant, kind, why.reason),
        metadata: metadata(endpoint, variant, kind, why.evidence),
    };
    registry
        .update_approval(&update)
        .await
        .map_err(port(format!("UpdateModelPackage {package}")))?;
    tracing::info!(%variant, %package, approval = update.approval.as_str(), "verdict written to the registry");
    Ok(Some(RegistryVerdict {
        variant: variant.to_string(),
        model_package_arn: package,
        approval: update.approval,
        verdict: kind,
    }))
}

/// The package a model was deployed from (its lineage tag); none for a model without
/// one or already deleted.
async fn package_of(sagemaker: &dyn SageMaker, model: &str) -> Result<Option<String>, TaskError> {
    match sagemaker.model_tags(model).await {
        Ok(tags) => Ok(tags.get(LINEAGE_TAG).cloned()),
        Err(PortError::NotFound(_)) => Ok(None),
        Err(e) => Err(port(format!("ListTags of model {model}"))(e)),
    }
}

/// `ApprovalDescription` (at most 1,024 characters).
fn description(endpoint: &str, variant: &str, kind: VerdictKind, reason: Option<&str>) -> String {
    let text = format!(
        "Weighbridge {} variant {variant} on endpoint {endpoint}: {}",
        kind.verb(),
        reason.unwrap_or("no reason given")
    );
    text.chars().take(1024).collect()
}

/// The verdict and its evidence as `CustomerMetadataProperties`.
fn metadata(
    endpoint: &str,
    variant: &str,
    kind: VerdictKind,
    evidence: Option<&Value>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::from([
        ("weighbridge:verdict".to_string(), kind.verb().replace(' ', "-")),
        ("weighbridge:endpoint".to_string(), endpoint.to_string()),
        ("weighbridge:variant".to_string(), variant.to_string()),
    ]);
    let mut flat = Vec::new();
    if let Some(evidence) = evidence {
        flatten("", evidence, &mut flat);
    }
    for (path, value) in flat.into_iter().take(MAX_EVIDENCE_ENTRIES) {
        let key: String = format!("weighbridge:evidence:{path}").chars().take(128).collect();
        let value = metadata_text(&value);
        if !value.is_empty() {
            out.insert(metadata_text(&key), value);
        }
    }
    out
}

/// `a.b.0.c` → scalar, depth first.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| flatten(&join(k), v, out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| flatten(&join(&i.to_string()), v, out)),
        Value::Null => {}
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Metadata keys and values allow letters, digits, spaces and `_.:/=+-@`, at most 256
/// characters: anything else becomes a space.
pub(crate) fn metadata_text(text: &str) -> String {
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
    let cleaned: String = text
        .chars()
        .map(|c| if allowed(c) { c } else { ' ' })
        .take(256)
        .collect();
    cleaned.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evidence_is_flattened_into_allowed_metadata() {
        let evidence = json!({"look": 3, "verdicts": [{"variant": "b", "primary": {"difference": -0.02, "note": "p<0.05 (two-sided)"}}], "none": null});
        let m = metadata("ep", "b", VerdictKind::Promoted, Some(&evidence));
        assert_eq!(m["weighbridge:verdict"], "promoted");
        assert_eq!(m["weighbridge:evidence:look"], "3");
        assert_eq!(m["weighbridge:evidence:verdicts.0.primary.difference"], "-0.02");
        assert_eq!(
            m["weighbridge:evidence:verdicts.0.primary.note"],
            "p 0.05  two-sided"
        );
        assert!(!m.contains_key("weighbridge:evidence:none"));
        let many = Value::Object((0..100).map(|i| (format!("k{i}"), json!(i))).collect());
        assert_eq!(
            metadata("ep", "b", VerdictKind::RolledBack, Some(&many)).len(),
            3 + MAX_EVIDENCE_ENTRIES
        );
    }

    #[test]
    fn descriptions_say_who_what_and_why_within_the_limit() {
        let d = description("ep", "b", VerdictKind::RolledBack, Some(&"x".repeat(2000)));
        assert!(d.starts_with("Weighbridge rolled back variant b on endpoint ep: xxx"));
        assert_eq!(d.chars().count(), 1024);
    }
}
