//! AWS's own rules for the names, URIs and values a task is given, in one place per kind,
//! so every task, the CLI and the embedded backend reject the same things with the same
//! words. Each check returns `Weighbridge.InvalidInput` naming the field and the rule.
//!
//! Sources: S3 bucket naming rules and the 1,024-byte key limit (S3 User Guide), the
//! SageMaker API's `EntityName` / `VariantName` / `RoleArn` / `InstanceType` patterns,
//! Step Functions' execution-name rules (StartExecution), the 256 KiB Step Functions
//! payload quota, and UpdateEndpointWeightsAndCapacities' weight rules.

use std::collections::{BTreeMap, BTreeSet};

use crate::TaskError;

/// S3's longest object key, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Step Functions' largest state input or output (256 KiB); a task input is one.
pub const MAX_INPUT_BYTES: usize = 256 * 1024;
/// Step Functions' longest execution name.
pub const MAX_EXECUTION_NAME: usize = 80;
/// SageMaker's longest resource name (`EntityName`, `VariantName`).
pub const MAX_SAGEMAKER_NAME: usize = 63;

fn invalid<T>(message: String) -> Result<T, TaskError> {
    Err(TaskError::InvalidInput(message))
}

/// The quoted value for a message, cut to a readable length (a 1 MB key stays short).
pub fn shown(value: &str) -> String {
    const LIMIT: usize = 80;
    if value.chars().count() <= LIMIT {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(LIMIT).collect();
        format!("{head:?}… ({} bytes)", value.len())
    }
}

/// An S3 bucket name: 3–63 characters of lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit, no `..`, not an IP address, none of the
/// reserved prefixes and suffixes.
pub fn bucket_name(field: &str, name: &str) -> Result<(), TaskError> {
    let rule = "S3 bucket names are 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit";
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    if !(3..=63).contains(&name.len())
        || !chars_ok
        || !ends_ok(name.chars().next())
        || !ends_ok(name.chars().last())
    {
        return invalid(format!(
            "{field} {} is not a valid bucket name: {rule}",
            shown(name)
        ));
    }
    if name.contains("..") || name.parse::<std::net::Ipv4Addr>().is_ok() {
        return invalid(format!(
            "{field} {} is not a valid bucket name: no two adjacent dots, not an IP address",
            shown(name)
        ));
    }
    let reserved = ["xn--", "sthree-", "amzn-s3-demo-"]
        .iter()
        .any(|p| name.starts_with(p))
        || ["-s3alias", "--ol-s3", "--x-s3", "--table-s3"]
            .iter()
            .any(|s| name.ends_with(s));
    if reserved {
        return invalid(format!(
            "{field} {} uses a prefix or suffix S3 reserves",
            shown(name)
        ));
    }
    Ok(())
}

/// An S3 object key: 1 to 1,024 bytes, no NUL (S3 accepts any other UTF-8).
pub fn object_key(field: &str, key: &str) -> Result<(), TaskError> {
    if key.is_empty() {
        return invalid(format!("{field} is empty; give an object key"));
    }
    key_prefix(field, key)
}

/// A key prefix: like a key, but may be empty (the whole bucket).
pub fn key_prefix(field: &str, prefix: &str) -> Result<(), TaskError> {
    if prefix.len() > MAX_KEY_BYTES {
        return invalid(format!(
            "{field} {} is {} bytes; S3 keys are at most {MAX_KEY_BYTES} bytes",
            shown(prefix),
            prefix.len()
        ));
    }
    if prefix.contains('\0') {
        return invalid(format!("{field} {} contains a NUL character", shown(prefix)));
    }
    Ok(())
}

/// An `s3://bucket/key` URI, split into its bucket and key (the key may be empty: a
/// prefix URI such as `s3://bucket/` or `s3://bucket`).
pub fn s3_uri(field: &str, uri: &str) -> Result<(String, String), TaskError> {
    let Some(rest) = uri.strip_prefix("s3://") else {
        return invalid(format!(
            "{field} {} is not an s3:// URI: it must start with s3:// (s3://bucket/key)",
            shown(uri)
        ));
    };
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return invalid(format!(
            "{field} {} has no bucket: write s3://bucket/key",
            shown(uri)
        ));
    }
    bucket_name(&format!("{field}'s bucket"), bucket)?;
    key_prefix(&format!("{field}'s key"), key)?;
    Ok((bucket.to_string(), key.to_string()))
}

/// An `s3://bucket/key` URI that names one object (the key is not empty).
pub fn s3_object_uri(field: &str, uri: &str) -> Result<(String, String), TaskError> {
    let (bucket, key) = s3_uri(field, uri)?;
    if key.is_empty() || key.ends_with('/') {
        return invalid(format!(
            "{field} {} needs a bucket and a key: s3://bucket/key (it names a prefix)",
            shown(uri)
        ));
    }
    Ok((bucket, key))
}

/// An IAM role ARN as SageMaker's `RoleArn` pattern wants it:
/// `arn:aws[-partition]:iam::<12 digits>:role/<path and name>`, 20–2048 characters.
pub fn role_arn(field: &str, arn: &str) -> Result<(), TaskError> {
    let example = "arn:aws:iam::123456789012:role/my-sagemaker-role";
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = (20..=2048).contains(&arn.len())
        && parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[1].chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c))
        });
    if ok {
        Ok(())
    } else {
        invalid(format!(
            "{field} {} is not an IAM role ARN (like {example})",
            shown(arn)
        ))
    }
}

/// A versioned model package's ARN:
/// `arn:PARTITION:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION` (at most 2,048
/// characters, as `ModelPackageArn`).
pub fn model_package_arn(field: &str, arn: &str) -> Result<(), TaskError> {
    let example = "arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/3";
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = arn.len() <= 2048
        && parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[1].chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && parts[2] == "sagemaker"
        && !parts[3].is_empty()
        && parts[3]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5]
            .strip_prefix("model-package/")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(group, version)| {
                sagemaker_name(field, group).is_ok()
                    && !version.is_empty()
                    && version.chars().all(|c| c.is_ascii_digit())
            });
    if ok {
        Ok(())
    } else {
        invalid(format!(
            "{field} {} is not a versioned model package ARN (like {example})",
            shown(arn)
        ))
    }
}

/// A SageMaker resource or variant name: `[a-zA-Z0-9](-*[a-zA-Z0-9])*`, 1–63 characters.
pub fn sagemaker_name(field: &str, name: &str) -> Result<(), TaskError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_SAGEMAKER_NAME
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        invalid(format!(
            "{field} {} is not a valid SageMaker name (letters, digits and inner hyphens, at most {MAX_SAGEMAKER_NAME})",
            shown(name)
        ))
    }
}

/// A SageMaker instance type: `ml.<family>.<size>` (`ml.m5.large`, `ml.g5.2xlarge`).
pub fn instance_type(field: &str, value: &str) -> Result<(), TaskError> {
    let parts: Vec<&str> = value.split('.').collect();
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if parts.len() == 3 && parts[0] == "ml" && word(parts[1]) && word(parts[2]) && value.len() <= 64 {
        Ok(())
    } else {
        invalid(format!(
            "{field} {} is not a SageMaker instance type (like ml.m5.large)",
            shown(value)
        ))
    }
}

/// A Step Functions execution name: 1–80 characters, none of whitespace, `< > { } [ ]`,
/// `? *`, `" # % \ ^ | ~ ` $ & , ; : /`, or control characters.
pub fn execution_name(field: &str, name: &str) -> Result<(), TaskError> {
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    if name.trim().is_empty() {
        return invalid(format!("{field} is empty; pass $$.Execution.Name"));
    }
    let count = name.chars().count();
    if count == 0 || count > MAX_EXECUTION_NAME {
        return invalid(format!(
            "{field} {} has {count} characters; Step Functions execution names have 1 to {MAX_EXECUTION_NAME}",
            shown(name)
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(*c))
    {
        return invalid(format!(
            "{field} {} contains {bad:?}, which Step Functions refuses in execution names (no whitespace, control characters or {FORBIDDEN})",
            shown(name)
        ));
    }
    Ok(())
}

/// A list of variant names: not empty, each a SageMaker name, no name twice.
pub fn variant_list(field: &str, names: &[String]) -> Result<(), TaskError> {
    if names.is_empty() {
        return invalid(format!(
            "{field} is empty; name at least one variant or leave it out"
        ));
    }
    let mut seen = BTreeSet::new();
    for name in names {
        sagemaker_name(field, name)?;
        if !seen.insert(name) {
            return invalid(format!("{field} names {name:?} twice; each variant once"));
        }
    }
    Ok(())
}

/// Endpoint weights as UpdateEndpointWeightsAndCapacities takes them: each finite and
/// ≥ 0, their sum finite and > 0.
pub fn weights(field: &str, weights: &BTreeMap<String, f64>) -> Result<(), TaskError> {
    if weights.is_empty() {
        return invalid(format!("{field} is empty; give every variant a weight"));
    }
    for (name, w) in weights {
        sagemaker_name(&format!("{field} variant"), name)?;
        if !w.is_finite() || *w < 0.0 {
            return invalid(format!("{field}[{name}] is {w}; weights are finite and ≥ 0"));
        }
    }
    let sum: f64 = weights.values().sum();
    if !sum.is_finite() {
        return invalid(format!("{field} add up to {sum}; use smaller relative weights"));
    }
    if sum <= 0.0 {
        return invalid(format!(
            "{field} are all zero; at least one variant needs traffic"
        ));
    }
    Ok(())
}

/// A count or size option within `range` (e.g. rows per request).
pub fn bounded(field: &str, value: usize, range: std::ops::RangeInclusive<usize>) -> Result<(), TaskError> {
    if range.contains(&value) {
        Ok(())
    } else {
        invalid(format!(
            "{field} is {value}; use {} to {}",
            range.start(),
            range.end()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3() {
        for good in ["abc", "weighbridge-data", "a.b.c", "123"] {
            assert!(bucket_name("b", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ab",
            "Upper",
            "-a-",
            "a..b",
            "192.168.1.1",
            "xn--a",
            "a-s3alias",
            &"a".repeat(64),
        ] {
            assert!(bucket_name("b", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uris_need_a_bucket() {
        assert_eq!(s3_uri("u", "s3://b-1/k/x").unwrap(), ("b-1".into(), "k/x".into()));
        assert_eq!(s3_uri("u", "s3://bkt").unwrap(), ("bkt".into(), String::new()));
        for bad in ["s3://", "s3:///x", "http://b/k", "s3://B/k"] {
            assert!(s3_uri("u", bad).is_err(), "{bad}");
        }
        assert!(s3_object_uri("u", "s3://bkt/").is_err());
    }

    #[test]
    fn role_arns_follow_sagemaker() {
        assert!(role_arn("r", "arn:aws:iam::123456789012:role/x").is_ok());
        assert!(role_arn("r", "arn:aws-cn:iam::123456789012:role/path/x").is_ok());
        for bad in [
            "not-an-arn",
            "arn:aws:iam::12345:role/x",
            "arn:aws:s3:::b",
            "arn:aws:iam::123456789012:user/x",
        ] {
            assert!(role_arn("r", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn model_package_arns_are_versioned() {
        assert!(model_package_arn(
            "m",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/g-1/12"
        )
        .is_ok());
        for bad in [
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/g-1",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/g-1/x",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g-1",
            "arn:aws:sagemaker:us-east-1:1234:model-package/g/1",
            "arn:aws:s3:us-east-1:123456789012:model-package/g/1",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/g_1/1",
        ] {
            assert!(model_package_arn("m", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn execution_names_follow_step_functions() {
        assert!(execution_name("n", "look-001").is_ok());
        for bad in ["", "a b", "../x", "a/b", &"x".repeat(81), "tab\t"] {
            assert!(execution_name("n", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn weights_must_sum_to_something_finite() {
        let w = |v: &[(&str, f64)]| v.iter().map(|(k, x)| (k.to_string(), *x)).collect();
        assert!(weights("w", &w(&[("a", 1.0), ("b", 0.0)])).is_ok());
        let overflow = weights("w", &w(&[("a", f64::MAX), ("b", f64::MAX)])).unwrap_err();
        assert!(overflow.to_string().contains("add up to inf"), "{overflow}");
        assert!(weights("w", &w(&[("a", 0.0)]))
            .unwrap_err()
            .to_string()
            .contains("all zero"));
        assert!(weights("w", &w(&[("a", -1.0)])).is_err());
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let e = object_key("key", &"k".repeat(1_000_000)).unwrap_err().to_string();
        assert!(e.len() < 300, "{}", e.len());
        assert!(instance_type("t", "").is_err());
        assert!(instance_type("t", "ml.g5.2xlarge").is_ok());
    }
}
