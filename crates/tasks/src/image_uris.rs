//! Built-in algorithm image URIs per region, resolved as the SageMaker Python SDK's
//! `image_uris.retrieve` does, from the registry data it ships (extracted by
//! `scripts/image_uris.py` into `data/image_uris.json`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::TaskError;

#[derive(Debug, Deserialize)]
struct Registry {
    algorithms: BTreeMap<String, BTreeMap<String, Scope>>,
}

#[derive(Debug, Deserialize)]
struct Scope {
    aliases: BTreeMap<String, String>,
    versions: BTreeMap<String, Version>,
}

#[derive(Debug, Deserialize)]
struct Version {
    repository: String,
    registries: BTreeMap<String, String>,
}

// The data ships inside the binary and a unit test parses it: it cannot fail at run time.
#[allow(clippy::expect_used)]
static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../data/image_uris.json")).expect("the shipped registry data parses")
});

/// Whether the image is for training or for hosting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageScope {
    /// The training image.
    Training,
    /// The inference image.
    Inference,
}

/// The ECR domain of a region's partition.
fn domain(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// `{account}.dkr.ecr.{region}.{domain}/{repository}:{version}` for a built-in
/// algorithm (`linear-learner`, `xgboost`) and version (`1`, `1.7-1`, or an alias
/// such as `latest`).
pub fn builtin_image(
    algorithm: &str,
    version: &str,
    region: &str,
    scope: ImageScope,
) -> Result<String, TaskError> {
    let scopes = REGISTRY.algorithms.get(algorithm).ok_or_else(|| {
        TaskError::InvalidInput(format!(
            "unknown built-in algorithm {algorithm:?}; known: {} (or give an image URI)",
            REGISTRY.algorithms.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let scope = &scopes[match scope {
        ImageScope::Training => "training",
        ImageScope::Inference => "inference",
    }];
    // Aliases (xgboost's `latest` → `1`); an algorithm with one version needs none.
    let only = (scope.versions.len() == 1)
        .then(|| scope.versions.keys().next())
        .flatten();
    let version = match scope.aliases.get(version) {
        Some(v) => v.as_str(),
        None if version == "latest" => only.map_or(version, String::as_str),
        None => version,
    };
    let spec = scope.versions.get(version).ok_or_else(|| {
        TaskError::InvalidInput(format!(
            "{algorithm} has no version {version:?}; known: {}",
            scope.versions.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let account = spec.registries.get(region).ok_or_else(|| {
        TaskError::InvalidInput(format!(
            "{algorithm} {version} is not offered in region {region:?}"
        ))
    })?;
    Ok(format!(
        "{account}.dkr.ecr.{region}.{}/{}:{version}",
        domain(region),
        spec.repository
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_the_python_sdk() {
        assert_eq!(
            builtin_image("xgboost", "1.7-1", "us-east-1", ImageScope::Training).unwrap(),
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
        );
        assert_eq!(
            builtin_image("linear-learner", "1", "us-east-1", ImageScope::Training).unwrap(),
            "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
        );
        assert_eq!(
            builtin_image("linear-learner", "latest", "eu-west-1", ImageScope::Inference).unwrap(),
            builtin_image("linear-learner", "1", "eu-west-1", ImageScope::Inference).unwrap()
        );
        assert!(
            builtin_image("xgboost", "1.7-1", "cn-north-1", ImageScope::Training)
                .unwrap()
                .ends_with(".amazonaws.com.cn/sagemaker-xgboost:1.7-1")
        );
    }

    #[test]
    fn unknown_algorithms_versions_and_regions_say_what_exists() {
        let e = builtin_image("kmeans2", "1", "us-east-1", ImageScope::Training).unwrap_err();
        assert!(e.to_string().contains("linear-learner, xgboost"), "{e}");
        let e = builtin_image("xgboost", "9.9", "us-east-1", ImageScope::Training).unwrap_err();
        assert!(e.to_string().contains("1.7-1"), "{e}");
        let e = builtin_image("xgboost", "1.7-1", "mars-1", ImageScope::Training).unwrap_err();
        assert_eq!(e.name(), "Weighbridge.InvalidInput");
    }
}
