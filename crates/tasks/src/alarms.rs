//! The alarms that watch a challenger between two scheduled looks: its 5xx rate, its
//! `ModelLatency` p99 against the champion's, and optionally a metric of the user's.
//! Deploy puts them on a weighted challenger before the endpoint starts sending it
//! traffic; a config switch deletes those of every variant it removes (and of a variant
//! left alone, which is nobody's challenger any more). An alarm in ALARM reaches the
//! alarm-rollback state machine through an EventBridge rule on the name prefix.

use serde::{Deserialize, Serialize};

use crate::error::port;
use crate::ports::{AlarmMetric, AlarmSpec, Alarms, Comparison, MetricRef};
use crate::TaskError;

/// Deploy's `alarms`: what counts as a challenger gone bad.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlarmSettings {
    /// Share of the challenger's requests answered with a 5xx above which it is rolled
    /// back, in (0, 1] (default 0.05).
    #[serde(default = "max_error_rate")]
    pub max_error_rate: f64,
    /// How much slower than the champion (p99 `ModelLatency`) the challenger may be, as
    /// a fraction (default 0.5: half as slow again).
    #[serde(default = "max_latency_increase")]
    pub max_latency_increase: f64,
    /// Seconds per datapoint: 10, 20, 30 or a multiple of 60 (default 60).
    #[serde(default = "minute")]
    pub period_seconds: i32,
    /// Breaching datapoints in a row before the rollback (default 1).
    #[serde(default = "one")]
    pub evaluation_periods: i32,
    /// A metric of your own on the challenger (dimensions `EndpointName`, `VariantName`).
    #[serde(default)]
    pub custom: Option<CustomAlarm>,
}

/// A custom alarm on the challenger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomAlarm {
    /// The metric's namespace.
    pub namespace: String,
    /// The metric's name.
    pub metric_name: String,
    /// `Sum`, `Average`, `Maximum`, `Minimum`, `SampleCount` or `pNN`.
    #[serde(default = "average")]
    pub statistic: String,
    /// The threshold.
    pub threshold: f64,
    /// `GreaterThanThreshold` (default) or `LessThanThreshold`.
    #[serde(default = "greater")]
    pub comparison: Comparison,
}

fn max_error_rate() -> f64 {
    0.05
}
fn max_latency_increase() -> f64 {
    0.5
}
fn minute() -> i32 {
    60
}
fn one() -> i32 {
    1
}
fn average() -> String {
    "Average".into()
}
fn greater() -> Comparison {
    Comparison::GreaterThanThreshold
}

impl AlarmSettings {
    /// CloudWatch's limits (period, evaluation window of at most a day, statistic names).
    pub fn validate(&self) -> Result<(), TaskError> {
        let invalid = |m: String| Err(TaskError::InvalidInput(m));
        if !(self.max_error_rate > 0.0 && self.max_error_rate <= 1.0) {
            return invalid(format!(
                "alarms.maxErrorRate {} must be in (0, 1]",
                self.max_error_rate
            ));
        }
        if !(self.max_latency_increase.is_finite() && self.max_latency_increase > 0.0) {
            return invalid(format!(
                "alarms.maxLatencyIncrease {} must be a positive fraction (0.5: 50% slower than the champion)",
                self.max_latency_increase
            ));
        }
        let p = self.period_seconds;
        if !(matches!(p, 10 | 20 | 30) || (p >= 60 && p % 60 == 0)) {
            return invalid(format!(
                "alarms.periodSeconds {p} must be 10, 20, 30 or a multiple of 60 (CloudWatch's periods)"
            ));
        }
        let window = i64::from(p) * i64::from(self.evaluation_periods);
        if self.evaluation_periods < 1 || window > 86_400 {
            return invalid(format!(
                "alarms.evaluationPeriods {} must be ≥ 1 with periodSeconds × evaluationPeriods ≤ 86,400",
                self.evaluation_periods
            ));
        }
        if let Some(custom) = &self.custom {
            let ns = &custom.namespace;
            if !(1..=255).contains(&ns.len())
                || ns.starts_with(':')
                || !ns.chars().all(|c| c.is_ascii_graphic() || c == ' ')
            {
                return invalid(format!(
                    "alarms.custom.namespace {} is not a CloudWatch namespace (1 to 255 printable ASCII characters)",
                    crate::validation::shown(ns)
                ));
            }
            if custom.metric_name.is_empty() || custom.metric_name.len() > 255 {
                return invalid("alarms.custom.metricName must be 1 to 255 characters".into());
            }
            if !is_statistic(&custom.statistic) {
                return invalid(format!(
                    "alarms.custom.statistic {} is not a CloudWatch statistic (Sum, Average, Maximum, Minimum, SampleCount, p0.0–p100)",
                    crate::validation::shown(&custom.statistic)
                ));
            }
            if !custom.threshold.is_finite() {
                return invalid("alarms.custom.threshold must be finite".into());
            }
        }
        Ok(())
    }
}

fn is_statistic(s: &str) -> bool {
    matches!(s, "Sum" | "Average" | "Maximum" | "Minimum" | "SampleCount")
        || s.strip_prefix('p')
            .and_then(|p| p.parse::<f64>().ok())
            .is_some_and(|p| (0.0..=100.0).contains(&p))
}

/// Every Weighbridge alarm of a variant starts with this.
pub fn alarm_prefix(endpoint: &str, variant: &str) -> String {
    format!("weighbridge-{endpoint}-{variant}-")
}

fn variant_metric(endpoint: &str, variant: &str, namespace: &str, name: &str) -> MetricRef {
    MetricRef {
        namespace: namespace.into(),
        name: name.into(),
        dimensions: vec![
            ("EndpointName".into(), endpoint.into()),
            ("VariantName".into(), variant.into()),
        ],
    }
}

/// The alarms on `challenger`, whose latency is compared with `champion`'s.
pub fn challenger_alarms(
    endpoint: &str,
    challenger: &str,
    champion: &str,
    settings: &AlarmSettings,
) -> Vec<AlarmSpec> {
    let prefix = alarm_prefix(endpoint, challenger);
    let sagemaker = |variant: &str, name: &str| variant_metric(endpoint, variant, "AWS/SageMaker", name);
    let metric = |id: &str, metric: MetricRef, statistic: &str| AlarmMetric {
        id: id.into(),
        metric,
        statistic: statistic.into(),
    };
    let alarm = |suffix: &str, description: String, metrics, expression: Option<&str>, threshold| AlarmSpec {
        name: format!("{prefix}{suffix}"),
        description,
        metrics,
        expression: expression.map(str::to_string),
        threshold,
        comparison: Comparison::GreaterThanThreshold,
        period_seconds: settings.period_seconds,
        evaluation_periods: settings.evaluation_periods,
    };
    let mut alarms = vec![
        alarm(
            "5xx",
            format!(
                "Weighbridge: challenger {challenger} answers more than {}% of its requests with a 5xx",
                settings.max_error_rate * 100.0
            ),
            vec![
                metric("errors", sagemaker(challenger, "Invocation5XXErrors"), "Sum"),
                metric("requests", sagemaker(challenger, "Invocations"), "Sum"),
            ],
            Some("IF(requests > 0, errors / requests, 0)"),
            settings.max_error_rate,
        ),
        alarm(
            "latency",
            format!(
                "Weighbridge: challenger {challenger}'s p99 ModelLatency is more than {}% above champion {champion}'s",
                settings.max_latency_increase * 100.0
            ),
            vec![
                metric("challenger", sagemaker(challenger, "ModelLatency"), "p99"),
                metric("champion", sagemaker(champion, "ModelLatency"), "p99"),
            ],
            Some("IF(champion > 0, challenger / champion, 0)"),
            1.0 + settings.max_latency_increase,
        ),
    ];
    if let Some(custom) = &settings.custom {
        let mut spec = alarm(
            "custom",
            format!(
                "Weighbridge: challenger {challenger}'s {} {} crosses {}",
                custom.statistic, custom.metric_name, custom.threshold
            ),
            vec![metric(
                "custom",
                variant_metric(endpoint, challenger, &custom.namespace, &custom.metric_name),
                &custom.statistic,
            )],
            None,
            custom.threshold,
        );
        spec.comparison = custom.comparison;
        alarms.push(spec);
    }
    alarms
}

/// PutMetricAlarm for each (idempotent: a re-run replaces them).
pub(crate) async fn put_all(alarms: &dyn Alarms, specs: &[AlarmSpec]) -> Result<Vec<String>, TaskError> {
    for spec in specs {
        alarms
            .put_alarm(spec)
            .await
            .map_err(port(format!("PutMetricAlarm {}", spec.name)))?;
    }
    Ok(specs.iter().map(|s| s.name.clone()).collect())
}

/// Deletes every Weighbridge alarm of these variants; answers the names deleted.
pub(crate) async fn delete_for(
    alarms: &dyn Alarms,
    endpoint: &str,
    variants: &[String],
) -> Result<Vec<String>, TaskError> {
    let mut names = Vec::new();
    for variant in variants {
        let prefix = alarm_prefix(endpoint, variant);
        let found = alarms
            .alarms_with_prefix(&prefix)
            .await
            .map_err(port(format!("DescribeAlarms {prefix}")))?;
        names.extend(found.into_iter().map(|(name, _)| name));
    }
    // DeleteAlarms takes at most 100 names per call.
    for chunk in names.chunks(100) {
        alarms
            .delete_alarms(chunk)
            .await
            .map_err(port(format!("DeleteAlarms {}", chunk.join(", "))))?;
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AlarmSettings {
        serde_json::from_value(serde_json::json!({})).unwrap()
    }

    #[test]
    fn a_challenger_gets_a_5xx_and_a_latency_alarm_named_after_it() {
        let alarms = challenger_alarms("salary", "c-1", "champion", &settings());
        let names: Vec<&str> = alarms.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            ["weighbridge-salary-c-1-5xx", "weighbridge-salary-c-1-latency"]
        );
        // The first metric is always the challenger's: the rule's input reads it.
        for a in &alarms {
            assert!(a.metrics[0]
                .metric
                .dimensions
                .contains(&("VariantName".into(), "c-1".into())));
        }
        assert_eq!(alarms[0].threshold, 0.05);
        assert_eq!(alarms[1].threshold, 1.5);
        assert_eq!(alarms[1].metrics[1].metric.dimensions[1].1, "champion");
    }

    #[test]
    fn settings_are_checked_against_cloudwatch() {
        let bad = |v: serde_json::Value, says: &str| {
            let s: AlarmSettings = serde_json::from_value(v).unwrap();
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        };
        bad(serde_json::json!({"maxErrorRate": 0.0}), "maxErrorRate");
        bad(serde_json::json!({"periodSeconds": 45}), "multiple of 60");
        bad(
            serde_json::json!({"periodSeconds": 3600, "evaluationPeriods": 48}),
            "86,400",
        );
        bad(
            serde_json::json!({"custom": {"namespace": "Mine", "metricName": "drift", "statistic": "p101", "threshold": 1}}),
            "not a CloudWatch statistic",
        );
        settings().validate().unwrap();
    }
}
