//! The look's plan: the input checked by AWS's rules, then the arms, the weights, the
//! experiment key and the tracked metrics resolved from the input and the endpoint.

use super::*;

pub(super) fn validate(input: &EvaluateVariantsInput) -> Result<Format, TaskError> {
    let invalid = |m: String| Err(TaskError::InvalidInput(m));
    input.policy.validate()?;
    let format = weighbridge_core::codec::Format::from_content_type(&input.content_type)?;
    if format == Format::Json {
        return invalid("contentType must be text/csv or application/jsonlines".into());
    }
    validation::sagemaker_name("endpointName", &input.endpoint_name)?;
    match &input.source {
        Source::TestSet => {
            if input.test_bucket.is_empty() {
                return invalid(
                    "testBucket is required for source testSet (the bucket of the labelled test objects)"
                        .into(),
                );
            }
            validation::bucket_name("testBucket", &input.test_bucket)?;
            validation::key_prefix("testPrefix", &input.test_prefix)?;
        }
        Source::Capture(source) => check_capture_source(source)?,
    }
    check_shadow_settings(&input.shadow)?;
    if let Some(key) = &input.experiment_key {
        validation::object_key("experimentKey", key)?;
    }
    if let Some(variants) = &input.variants {
        validation::variant_list("variants", variants)?;
    }
    if let Some(models) = &input.target_models {
        check_target_models(models)?;
    }
    if input.batch_rows == 0 || input.max_concurrency == 0 {
        return invalid("batchRows and maxConcurrency must be ≥ 1".into());
    }
    validation::bounded("batchRows", input.batch_rows, 1..=MAX_BATCH_ROWS)?;
    validation::bounded("maxConcurrency", input.max_concurrency, 1..=MAX_CONCURRENCY)?;
    check_namespace(&input.namespace)?;
    input.look_time()?;
    for metric in
        std::iter::once(&input.policy.primary_metric).chain(input.policy.guardrails.iter().map(|g| &g.metric))
    {
        if !COMPARABLE.contains(&metric.as_str()) {
            return invalid(format!(
                "metric {metric:?} cannot be compared; use one of {}",
                COMPARABLE.join(", ")
            ));
        }
    }
    Ok(format)
}

/// The live source's settings, by the rules of S3 and of the statistics.
fn check_capture_source(source: &CaptureSource) -> Result<(), TaskError> {
    if let Some(uri) = &source.capture_uri {
        validation::s3_uri("source.captureUri", uri)?;
    }
    validation::s3_uri("source.groundTruthUri", &source.ground_truth_uri)?;
    source.start_at()?;
    validation::bounded(
        "source.maxLabelDelayHours",
        source.max_label_delay_hours as usize,
        0..=24 * 90,
    )?;
    validation::bounded(
        "source.lookbackHours",
        source.lookback_hours as usize,
        1..=24 * 90,
    )?;
    validation::bounded(
        "source.settleMinutes",
        source.settle_minutes as usize,
        0..=24 * 60,
    )?;
    for (field, value, range) in [
        ("source.maxMalformedShare", source.max_malformed_share, 0.0..=1.0),
        ("source.maxCoverageGap", source.max_coverage_gap, 0.0..=1.0),
    ] {
        if !range.contains(&value) {
            return Err(TaskError::InvalidInput(format!(
                "{field} is {value}; use a share from 0 to 1"
            )));
        }
    }
    if !(source.srm_alpha > 0.0 && source.srm_alpha < 0.5) {
        return Err(TaskError::InvalidInput(format!(
            "source.srmAlpha is {}; use a false-alarm level above 0 and below 0.5 (e.g. 0.01)",
            source.srm_alpha
        )));
    }
    Ok(())
}

/// The shadow settings: a duration up to a year (SageMaker's own shadow tests stop at
/// 30 days), a pairing window up to an hour (the look reads whole hours), and limits
/// that a worse shadow can exceed (a negative one would remove every shadow).
fn check_shadow_settings(shadow: &ShadowSettings) -> Result<(), TaskError> {
    validation::bounded(
        "shadow.maxShadowHours",
        shadow.max_shadow_hours as usize,
        1..=24 * 365,
    )?;
    validation::bounded(
        "shadow.pairingWindowSeconds",
        shadow.pairing_window_seconds as usize,
        1..=3600,
    )?;
    if !(shadow.max_latency_increase >= 0.0 && shadow.max_latency_increase <= 100.0) {
        return Err(TaskError::InvalidInput(format!(
            "shadow.maxLatencyIncrease is {}; use a relative increase from 0 to 100 (0.2: 20 % slower)",
            shadow.max_latency_increase
        )));
    }
    if !(shadow.graduate_share > 0.0 && shadow.graduate_share < 1.0) {
        return Err(TaskError::InvalidInput(format!(
            "shadow.graduateShare is {}; use a share between 0 and 1 (0.1: 10 % of the traffic)",
            shadow.graduate_share
        )));
    }
    if !(0.0..=1.0).contains(&shadow.max_error_rate_increase) {
        return Err(TaskError::InvalidInput(format!(
            "shadow.maxErrorRateIncrease is {}; use errors per invocation from 0 to 1 (0.001: one in a thousand)",
            shadow.max_error_rate_increase
        )));
    }
    if let Some(alarms) = &shadow.graduate_alarms {
        alarms.validate()?;
    }
    Ok(())
}

/// TargetModel values: unique, 1 to 1024 characters (InvokeEndpoint's limit).
pub(super) fn check_target_models(models: &[String]) -> Result<(), TaskError> {
    let mut seen = std::collections::BTreeSet::new();
    for m in models {
        if m.is_empty() || m.len() > 1024 || !seen.insert(m) {
            return Err(TaskError::InvalidInput(format!(
                "targetModels: {} must be 1 to 1024 characters and named once",
                validation::shown(m)
            )));
        }
    }
    Ok(())
}

/// A CloudWatch namespace: 1 to 255 printable ASCII characters, not starting with `:`
/// and not in the `AWS/` namespaces AWS reserves.
pub(super) fn check_namespace(namespace: &str) -> Result<(), TaskError> {
    let ok = (1..=255).contains(&namespace.len())
        && namespace.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        && !namespace.starts_with(':')
        && !namespace.starts_with("AWS/");
    if ok {
        Ok(())
    } else {
        Err(TaskError::InvalidInput(format!(
            "namespace {} is not a CloudWatch namespace (1 to 255 printable ASCII characters, not AWS/…)",
            validation::shown(namespace)
        )))
    }
}

/// `<testPrefix>_experiment/<endpoint>-<hash of the sorted arm names>.json`.
pub(super) fn default_experiment_key(input: &EvaluateVariantsInput, arms: &[String]) -> String {
    let mut sorted: Vec<&str> = arms.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    format!(
        "{}_experiment/{}-{:016x}.json",
        input.test_prefix,
        input.endpoint_name,
        crate::names::fingerprint(&sorted)
    )
}

pub(super) fn tracked_metrics(policy: &PolicyConfig) -> Vec<String> {
    let mut metrics = vec![policy.primary_metric.clone()];
    for g in &policy.guardrails {
        if !metrics.contains(&g.metric) {
            metrics.push(g.metric.clone());
        }
    }
    metrics
}

pub(super) fn needs_classes(metrics: &[String]) -> bool {
    metrics.iter().any(|m| m == "auc" || m == "log_loss")
}

/// What one look works on, resolved from the input and the endpoint before any data is
/// read: the compared arms, the endpoint's weights, the experiment record's key and the
/// tracked metrics.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Plan {
    pub(super) arms: Arms,
    /// Every variant of the endpoint with its current weight.
    pub(super) weights: BTreeMap<String, f64>,
    /// Where the experiment record lives.
    pub(super) record_bucket: String,
    pub(super) experiment_key: String,
    pub(super) metrics: Vec<String>,
}

impl Plan {
    /// Pure: the same input and endpoint give the same plan.
    pub(super) fn resolve(
        input: &EvaluateVariantsInput,
        endpoint: &EndpointDescription,
        record_bucket: &str,
        default_key: &dyn Fn(&[String]) -> String,
    ) -> Result<Self, TaskError> {
        let weights: BTreeMap<String, f64> = endpoint
            .variants
            .iter()
            .map(|v| (v.name.clone(), v.current_weight))
            .collect();
        let arms = match (&input.target_models, &input.variants) {
            (Some(models), _) if models.len() >= 2 => Arms::Models(models.clone()),
            (Some(_), _) => {
                return Err(TaskError::InvalidInput(
                    "targetModels needs at least two models".into(),
                ))
            }
            (None, Some(names)) => {
                if let Some(n) = names.iter().find(|n| !weights.contains_key(*n)) {
                    return Err(TaskError::InvalidInput(format!(
                        "variant {n:?} is not on endpoint {} (variants: {})",
                        endpoint.name,
                        weights.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
                Arms::Variants(names.clone())
            }
            (None, None) => Arms::Variants(weights.keys().cloned().collect()),
        };
        if arms.names().len() < 2 {
            return Err(TaskError::InsufficientData(format!(
                "endpoint {} has one variant; an A/B evaluation needs a challenger",
                endpoint.name
            )));
        }
        let experiment_key = input
            .experiment_key
            .clone()
            .unwrap_or_else(|| default_key(arms.names()));
        Ok(Self {
            arms,
            weights,
            record_bucket: record_bucket.to_string(),
            experiment_key,
            metrics: tracked_metrics(&input.policy),
        })
    }

    /// The weights of the compared arms (models of a multi-model endpoint weigh 1 each).
    pub(super) fn arm_weights(&self) -> BTreeMap<String, f64> {
        match &self.arms {
            Arms::Variants(names) => names
                .iter()
                .map(|n| (n.clone(), self.weights.get(n).copied().unwrap_or(0.0)))
                .collect(),
            Arms::Models(models) => models.iter().map(|m| (m.clone(), 1.0)).collect(),
        }
    }
}
